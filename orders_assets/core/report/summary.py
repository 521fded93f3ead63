"""summary.json: row accounting over every source file and the totals of the filtered order set."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.store.manifest import Manifest
from orders_assets.core.assemble.aggregate import totals
from orders_assets.core.read.layout.model import CANONICAL
from orders_assets.core.store.order_store import OrderStore

COUNT_FIELDS = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected")


def summary_document(store: OrderStore, partials: pa.Table) -> dict:
    """Contract section 4's summary: sources, row accounting, partitions and totals.

    Holds no clock time, so a rerun with nothing new writes the same bytes.
    """
    manifests = store.manifests()
    catalog = store.catalog_table()
    document = {
        "source_files": len(manifests),
        **{field: sum(getattr(manifest, field) for manifest in manifests) for field in COUNT_FIELDS},
        "partitions": pc.sum(pc.greater(catalog["rows"], 0)).as_py() or 0,
        "inputs_signature": store.inputs_signature(),
        **totals(partials),
        "files": [_file_entry(manifest) for manifest in manifests],
        "skipped": store.skipped_list(),
    }
    return document


def _file_entry(manifest: Manifest) -> dict:
    """A file's accounting; a file read through a vendor layout also names it and counts the rows
    it says are not orders (part of rows_filtered_out)."""
    entry = {"source_file": manifest.source_key, **{field: getattr(manifest, field) for field in COUNT_FIELDS},
             "partitions": len(manifest.partitions)}
    if manifest.layout != CANONICAL:
        entry.update(layout=manifest.layout, rows_not_orders=manifest.rows_not_orders)
    return entry
