"""`orders-assets run`: bring every partition and report up to date through Dagster runs.

It plans first (pure, from the landing folder and the store) and launches nothing when
nothing is new. Otherwise it launches at most: one ingest run per contiguous range of new
source files, one single-run backfill per contiguous range of pending (date, security)
partitions, and one run of the reports, all recorded on the given Dagster instance.
"""
import time
from dataclasses import dataclass, field

import dagster as dg

from orders_assets.assets.orders import ENGINE_SECONDS, retire_sources
from orders_assets.core.assemble import pending_partitions
from orders_assets.core.identity import content_digest
from orders_assets.core.plan import DEFAULT_MAX_GAP, apply_identity, plan_ingest
from orders_assets.core.report_files import reports_current
from orders_assets.core.sources import discover_sources
from orders_assets.definitions import INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB, build_definitions
from orders_assets.partitions import order_partition_ranges, range_tags, source_file_ranges
from orders_assets.resources import OrdersSettings


@dataclass(frozen=True)
class LaunchedRun:
    job: str
    partition_range: str
    """'first...last' for a backfill, '' for an unpartitioned run."""
    success: bool
    seconds: float
    """Wall time of the run, creation included."""
    engine_seconds: float
    """Part of it spent in the core engine (the steps' own work); the rest is Dagster's."""
    partitions: int

    @property
    def dagster_seconds(self) -> float:
        return max(0.0, self.seconds - self.engine_seconds)


@dataclass
class RunOutcome:
    runs: list[LaunchedRun] = field(default_factory=list)
    ingested: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    partitions: int = 0

    @property
    def success(self) -> bool:
        return all(run.success for run in self.runs)

    @property
    def did_nothing(self) -> bool:
        return not self.runs


def run_pipeline(settings: OrdersSettings, instance: dg.DagsterInstance, log_level: str = "INFO") -> RunOutcome:
    defs = build_definitions(settings)
    store = settings.store()
    sources = discover_sources(settings.landing_dir)
    plan = plan_ingest(sources, store.manifests(), settings.ingest_rules().fingerprint_for, content_digest,
                       store.duplicates())
    apply_identity(store, plan, [source.key for source in sources])
    outcome = RunOutcome(ingested=plan.to_ingest, retired=plan.to_retire)
    retire_sources(store, instance, plan.to_retire)
    for first, last in source_file_ranges(instance, plan.to_ingest):
        _execute(defs, INGEST_JOB, instance, outcome, log_level, first, last)
    pending = pending_partitions(store)
    outcome.partitions = len(pending)
    for first, last in order_partition_ranges(instance, pending, DEFAULT_MAX_GAP):
        _execute(defs, PARTITIONS_JOB, instance, outcome, log_level, first, last)
    if outcome.runs or not reports_current(store):
        _execute(defs, REPORTS_JOB, instance, outcome, log_level)
    return outcome


def _execute(defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, outcome: RunOutcome,
             log_level: str, first: str | None = None, last: str | None = None) -> None:
    tags = {} if first is None else range_tags(first, last)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    started = time.perf_counter()
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config=run_config, instance=instance, tags=tags, raise_on_error=False
    )
    seconds = time.perf_counter() - started
    failed_checks = [check for check in result.get_asset_check_evaluations() if not check.passed]
    label = "" if first is None else (first if first == last else f"{first}...{last}")
    materializations = result.get_asset_materialization_events()
    outcome.runs.append(LaunchedRun(
        job=job_name, partition_range=label, success=result.success and not failed_checks, seconds=seconds,
        engine_seconds=_engine_seconds(materializations),
        partitions=sum(1 for event in materializations if event.partition is not None),
    ))


def _engine_seconds(materializations: list[dg.DagsterEvent]) -> float:
    """Engine time of a run: each asset's step reports it once (every partition carries the same figure)."""
    per_asset: dict[dg.AssetKey, float] = {}
    for event in materializations:
        entry = event.step_materialization_data.materialization.metadata.get(ENGINE_SECONDS)
        if entry is not None:
            per_asset.setdefault(event.asset_key, float(entry.value))
    return sum(per_asset.values())
