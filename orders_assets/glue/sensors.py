"""The landing-folder sensor: files dropped into the landing folder become up-to-date reports.

One sensor walks the pipeline's three stages, one stage per tick, from what the store says is
missing (the same core planning as `orders-assets run`; the stage is decided by the pure
core/plan/stages.next_stage, and the sensor only retires and turns its keys into run requests):
1. complete new or changed files (size and time unchanged since the previous tick and, with a
   settle time, unwritten that long; or a `.done` marker) -> their source-file partitions are added and one ingest run per contiguous range; a
   big file worth cutting (core/plan/piece_plan.py) gets a run that cuts it, then, on the next tick, one
   run per piece, all at once;
2. when no ingest run is in flight, files gone from the landing folder are retired (their rows
   leave), and the (date, security) partitions whose inputs changed -> single-run backfills of
   exactly those partitions;
3. when no partition run is in flight and the reports are not built from the current inputs ->
   one reports run (an empty store, before any file, has no reports to build).
Run keys name the inputs of each request, so a tick that sees the same state again requests
nothing new. Files whose content is already ingested (touched, or copied under another name) are
recorded and trigger nothing. The cursor holds the last size and time seen of each file.
"""
from __future__ import annotations

import json
import time

import dagster as dg

from orders_assets.core.assemble.assembly import overlap_problem
from orders_assets.core.plan.planner import survey_landing
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.plan.stages import InFlight, next_stage
from orders_assets.core.read.identity import Observation, observations, stable_sources
from orders_assets.core.read.sources import scan_landing
from orders_assets.core.report.files import reports_built_from
from orders_assets.core.store.atomic import remove_orphan_temporaries
from orders_assets.core.store.settings_lease import conflicting_holder, superseded_since
from orders_assets.glue.names import SENSOR_NAME
from orders_assets.glue.partitions import retire_sources
from orders_assets.glue.resources import OrdersSettings
from orders_assets.glue.stage_runs import IngestSplit, ingest_runs, partition_runs, reports_run
from orders_assets.platform.executors import connected_workers

MINIMUM_INTERVAL_SECONDS = 15
INTERVAL_ENV = "ORDERS_ASSETS_SENSOR_INTERVAL"
"""Seconds between ticks (default 15): a file is complete after two looks this far apart."""
SETTLE_ENV = "ORDERS_ASSETS_SETTLE_SECONDS"
"""Seconds a file must go unwritten to be complete, besides two equal looks (default 0: the two
looks alone). `orders-assets ui` ticks every UI_INTERVAL_SECONDS with UI_SETTLE_SECONDS."""
UI_INTERVAL_SECONDS, UI_SETTLE_SECONDS = 3, 5
"""Under `orders-assets ui`, where a user waits for a dropped file's reports: a stage moves on within
3 s of the one before, and a file counts as complete once unwritten for 5 s (a writer that pauses
longer mid-file writes under a temporary name, or a `.done` marker, as docs/deployment.md says)."""
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]


def landing_sensor(ingest_job: str, partitions_job: str, reports_job: str, jobs: list,
                   interval_seconds: int = MINIMUM_INTERVAL_SECONDS,
                   dask_scheduler: str | None = None, settle_seconds: float = 0) -> dg.SensorDefinition:
    """The sensor over the given jobs (the Definitions build them with the machine's tags).

    With the code location's runs on a Dask cluster, a tick that has work cuts it into one run per
    connected worker, as `orders-assets run --dask` does: files by bytes, partitions by staged rows."""

    loaded_ns = time.time_ns()  # settings recorded on the folder after this come from a newer intent

    @dg.sensor(name=SENSOR_NAME, jobs=jobs, minimum_interval_seconds=interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Ingests complete new files of the landing folder, then their partitions, then the reports.")
    def landing_folder_sensor(context: dg.SensorEvaluationContext, settings: OrdersSettings) -> dg.SensorResult:
        instance, store = context.instance, settings.store()
        seen = _read_cursor(context.cursor)
        scan = scan_landing(settings.landing_dir)  # read once a tick
        sources = scan.sources
        cursor = _write_cursor(observations(sources))
        folder_settings = settings.folder_settings()
        conflict = conflicting_holder(store.state, folder_settings) or superseded_since(store.state, folder_settings,
                                                                                       loaded_ns)
        if conflict:  # its runs would be refused, or would undo a newer config: wait, saying why
            context.log.warning(conflict)
            return dg.SensorResult(skip_reason=conflict, cursor=cursor)
        if store.root.is_dir():
            remove_orphan_temporaries(store.root)
        snapshot = StoreSnapshot.of(store)  # read once a tick
        rules = settings.ingest_rules()
        complete = stable_sources(sources, seen, int(settle_seconds * 1e9))
        plan = survey_landing(store, scan, rules.fingerprint_for, rules.layouts.name_fields,
                              eligible=complete, manifests=snapshot.manifests)
        in_flight = InFlight(*(_in_flight(instance, job) for job in (ingest_job, partitions_job, reports_job)))
        stage = next_stage(plan, snapshot, [source.key for source in sources], in_flight,  # complete files only
                           lambda: reports_built_from(store), lambda seen_store: seen_store.inputs_signature(store),
                           waiting=len(sources) - len(complete))
        retire_sources(store, instance, stage.retire)
        if stage.ingest:
            runs = ingest_runs(instance, store, rules, stage.ingest, sources, _ingest_split(settings, context, dask_scheduler),
                               settings.piece_bytes, scan=False)
        elif stage.partitions:
            problem = overlap_problem(store, stage.snapshot.manifests)  # a dedup column a file lacks: no run can work
            if problem:
                context.log.error(problem)
                return dg.SensorResult(skip_reason=problem, cursor=cursor)
            runs = partition_runs(instance, stage.snapshot, list(stage.partitions), _workers(context, dask_scheduler) or 1)
        elif stage.reports:
            runs = [reports_run(stage.reports)]
        else:
            return dg.SensorResult(skip_reason=stage.reason, cursor=cursor)
        return dg.SensorResult(run_requests=[run.request() for run in runs], cursor=cursor)

    return landing_folder_sensor


def _workers(context: dg.SensorEvaluationContext, dask_scheduler: str | None) -> int | None:
    """Dask workers connected: one piece of a stage's work each; None without a cluster (this
    machine) and 1 when it does not answer."""
    if not dask_scheduler:
        return None
    workers = connected_workers(dask_scheduler)
    if workers is None:
        context.log.warning(f"Dask scheduler {dask_scheduler} did not answer: the work goes in one run per range")
    return workers or 1


def _ingest_split(settings: OrdersSettings, context: dg.SensorEvaluationContext,
                  dask_scheduler: str | None) -> IngestSplit:
    """This machine's pieces share its cores (`file_pieces` at once, each its threads); a cluster's
    workers take a piece or a range each."""
    workers = _workers(context, dask_scheduler)
    if workers is None:
        tuning = settings.tuning()
        return IngestSplit(tuning.file_pieces, 1, tuning.workers)
    return IngestSplit(workers, workers, None)


def _in_flight(instance: dg.DagsterInstance, job: str) -> bool:
    return instance.get_runs_count(dg.RunsFilter(job_name=job, statuses=IN_FLIGHT)) > 0


def _read_cursor(cursor: str | None) -> dict[str, Observation]:
    if not cursor:
        return {}
    return {key: Observation(*values) for key, values in json.loads(cursor)["seen"].items()}


def _write_cursor(seen: dict[str, Observation]) -> str:
    return json.dumps({"seen": {key: [value.size, value.mtime_ns] for key, value in seen.items()}}, sort_keys=True)
