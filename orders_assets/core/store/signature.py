"""The reports' inputs signature: what reports built now would be built from. The reports record
it (summary.json); reports whose recorded signature differs are stale and built again, from the
staged rows and the partial aggregates, never a source file."""
from __future__ import annotations

import json

import pyarrow as pa

from orders_assets.core.read.digests import short_digest
from orders_assets.core.schema import DEFAULT_SIZE_EDGES, PARTIALS_VERSION
from orders_assets.core.store import catalog
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.overlap_rule import DUPLICATES_WARN, UNION

REPORTS_RELEASE = 2
"""The reports a release builds: 2 added market_share. Part of the reports' inputs signature, so a
data folder built by an earlier release builds the new reports on its next run."""


def inputs_signature(store, manifests: list[Manifest], catalog_table: pa.Table) -> str:
    """Names what the reports are built from: every current ingest (`manifests`) and every
    assembled partition (`catalog_table`), what was skipped (the summary names it), and every setting
    and release marker the reports depend on, so that a change of one builds them again."""
    parts = [f"{m.source_key}\x1f{m.attempt}" for m in manifests]
    parts += [f"{entry['source_file']}\x1f{entry['reason']}" for entry in store.skipped_list()]
    parts += catalog.signature_texts(catalog_table)
    if store.overlap.kind != UNION:  # the summary names the rule: a change rebuilds the reports
        parts.append(f"overlap\x1f{store.overlap.text}")
    if store.overlap.duplicates != DUPLICATES_WARN:  # and its check's severity: the check runs again
        parts.append(f"duplicates\x1f{store.overlap.duplicates}")
    if store.size_edges != DEFAULT_SIZE_EDGES:  # by_order_size's buckets: a change rebuilds the reports
        parts.append(f"size_edges\x1f{list(store.size_edges)}")
    if not store.rejected_rule.is_default:  # the summary and the page name the files past it
        parts.append(f"rejected_rows\x1f{store.rejected_rule.text}")
    parts.append(f"reports\x1f{REPORTS_RELEASE}")  # a report added by a release: built once on the next run
    if PARTIALS_VERSION != 1:  # what the partial aggregates hold changed: the reports rebuild them once
        parts.append(f"partials\x1f{PARTIALS_VERSION}")
    for declared in store.declared_reports:  # a declaration added or changed: the reports are built again
        parts.append(f"report\x1f{json.dumps(declared.to_json(), sort_keys=True)}")
    return short_digest(*parts, length=20)
