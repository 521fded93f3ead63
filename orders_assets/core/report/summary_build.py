"""summary.json's figures worked out from the store: every current file's row accounting, what the
filter was and matched, the rejected rows by reason, the overlaps, the partitions' totals."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal

import pyarrow.compute as pc

from orders_assets.core.assemble.overlap import catalog_overlaps
from orders_assets.core.store.overlap_rule import UNION
from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.read.layout.model import CANONICAL
from orders_assets.core.read.values_seen import LISTED
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.report.summary import COUNT_FIELDS, FILTERED_OUT_CAUSES, FileSummary, SkippedFile, Summary


def build_summary(store: OrderStore, totals: Mapping[str, int | Decimal],
                  order_filter: OrderFilter | None = None) -> Summary:
    """Contract section 4's summary of the store's current ingests and partitions, with what it
    was made under (`order_filter`) and over (the trade dates, the rejected rows by reason).
    `totals`: the filtered order set's exact orders, quantity and value (aggregate_files.partial_totals)."""
    manifests = store.manifests()
    catalog = store.catalog_table()
    dates = sorted(set(catalog.filter(pc.greater(catalog["rows"], 0))["trade_date"].to_pylist()))
    overlaps = catalog_overlaps(catalog)
    return Summary(
        source_files=len(manifests),
        **{field: sum(getattr(manifest, field) for manifest in manifests) for field in COUNT_FIELDS},
        partitions=pc.sum(pc.greater(catalog["rows"], 0)).as_py() or 0,
        **totals,
        inputs_signature=store.inputs_signature(),
        files=tuple(_file_summary(store, manifest, overlaps.by_file.get(manifest.source_key, {}))
                    for manifest in manifests),
        skipped=tuple(SkippedFile.from_json(entry) for entry in store.skipped_list()),
        order_filter=None if order_filter is None else _filter_document(order_filter),
        first_trade_date=str(dates[0]) if dates else None,
        last_trade_date=str(dates[-1]) if dates else None,
        trade_dates=len(dates),
        rejections_by_reason=_rejections_by_reason(store, manifests),
        rows_filtered_out_by=_summed_causes([_filtered_out_by(manifest) for manifest in manifests]),
        overlap=store.overlap.to_json(),
        rows_in_partitions=pc.sum(catalog["rows"]).as_py() or 0,
        rows_superseded=overlaps.rows_superseded,
        rows_deduplicated=overlaps.rows_deduplicated,
        rows_duplicated_across_files=overlaps.pairs,
        rows_counted_more_than_once=overlaps.rows_duplicated if store.overlap.kind == UNION else 0,
        rows_read_compiled=sum(manifest.rows_by_path[0] for manifest in manifests),
        rows_read_exact=sum(manifest.rows_by_path[1] for manifest in manifests),
        rejected_rows=store.rejected_rule.to_json(),
        **_filter_values(manifests),
        rows_rounded=sum(manifest.rows_rounded for manifest in manifests),
    )


def _filter_values(manifests: list[Manifest]) -> dict:
    """filter_value_rows summed and values_seen joined over the files (None when a file did not
    count them; nothing when no file was read)."""
    if any(manifest.filter_value_rows is None for manifest in manifests):
        return {"filter_value_rows": None, "values_seen": None}
    rows: dict[str, dict[str, int]] = {}
    seen: dict[str, dict[str, None]] = {}
    for manifest in manifests:
        for column, counts in manifest.filter_value_rows.items():
            into = rows.setdefault(column, {})
            for value, count in counts.items():
                into[value] = into.get(value, 0) + count
        for column, values in (manifest.values_seen or {}).items():
            seen.setdefault(column, {}).update(dict.fromkeys(values))
    return {"filter_value_rows": rows, "values_seen": {column: list(values)[:LISTED] for column, values in seen.items()}}


def _filtered_out_by(manifest: Manifest) -> dict[str, int] | None:
    if manifest.rows_filtered_order_type is None:
        return None
    return {cause: getattr(manifest, field) for cause, field in FILTERED_OUT_CAUSES.items()}


def _summed_causes(per_file: list[dict[str, int] | None]) -> dict[str, int] | None:
    """The rows filtered out by cause over every file: zeros when no file was read; None only when a
    file's ingest (an earlier release's) did not count them."""
    if any(causes is None for causes in per_file):
        return None
    return {cause: sum(causes[cause] for causes in per_file) for cause in FILTERED_OUT_CAUSES}


def _filter_document(order_filter: OrderFilter) -> dict:
    document = dataclasses.asdict(order_filter)
    return {**document, "order_types": list(document["order_types"]), "participants": list(document["participants"])}


def _rejections_by_reason(store: OrderStore, manifests: list[Manifest]) -> tuple[tuple[str, int], ...]:
    """Rows per reason over every file, as their ingests counted them (a quarantine is read only for
    a manifest written before that): most rows first."""
    counts: Counter = Counter()
    for manifest in manifests:
        counts.update(store.rejections_by_reason(manifest))
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _file_summary(store: OrderStore, manifest: Manifest, overlaps: Mapping[str, int]) -> FileSummary:
    counts = {field: getattr(manifest, field) for field in COUNT_FIELDS}
    quarantine = (str(store.quarantine_file(manifest.source_key).relative_to(store.root))
                  if manifest.rows_rejected else None)
    compiled, exact = manifest.rows_by_path
    reasons = store.rejections_by_reason(manifest) if manifest.rows_rejected else {}
    common = {"partitions": len(manifest.partitions), "quarantine": quarantine,
              "main_rejection": min(reasons, key=lambda reason: (-reasons[reason], reason)) if reasons else None,
              "filtered_out_by": _filtered_out_by(manifest), **overlaps,
              "rows_read_compiled": compiled, "rows_read_exact": exact, "rows_rounded": manifest.rows_rounded}
    if manifest.layout == CANONICAL:
        return FileSummary(manifest.source_key, **counts, **common)
    return FileSummary(manifest.source_key, **counts, **common, layout=manifest.layout,
                       rows_not_orders=manifest.rows_not_orders)
