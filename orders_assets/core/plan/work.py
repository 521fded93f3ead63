"""Everything a run would do, known before any run is launched: what `orders-assets run` prints
"nothing new" from, without starting Dagster."""
from __future__ import annotations

from dataclasses import dataclass

from orders_assets.core.plan.planner import FingerprintFor, IngestPlan, NameFields, survey_landing
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.read.sources import LandingScan, scan_landing
from orders_assets.core.report.files import reports_current


@dataclass(frozen=True)
class WorkPlan:
    """Everything a run would do, known before any run is launched."""

    ingest: IngestPlan
    pending_partitions: int
    reports_missing: bool
    scan: LandingScan
    """The listing the plan was made from: the runs that carry it out do not list the folder again."""

    @property
    def nothing_to_do(self) -> bool:
        return self.ingest.nothing_new and not self.pending_partitions and not self.reports_missing


def plan_work(landing, store, fingerprint_for: FingerprintFor, name_fields: NameFields = lambda _key: {},
              rehash: bool = False, scan: LandingScan | None = None) -> WorkPlan:
    """The work a run of `landing` into `store` has to do (survey_landing, then the partitions and
    reports behind); `scan` spares listing the folder again when the caller has it."""
    scan = scan if scan is not None else scan_landing(landing)
    snapshot = StoreSnapshot.of(store)
    ingest = survey_landing(store, scan, fingerprint_for, name_fields, rehash, manifests=snapshot.manifests)
    reports_missing = not reports_current(store, list(snapshot.manifests), snapshot.catalog_table)
    return WorkPlan(ingest, len(snapshot.pending_partitions()), reports_missing, scan)
