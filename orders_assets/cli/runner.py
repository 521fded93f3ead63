"""`orders-assets run`: bring every partition and report up to date through Dagster runs.

It plans first (pure, from the landing folder and the store) and launches nothing when
nothing is new. Otherwise it carries out the stages core/plan/stages.next_stage names, the one
decision the sensor also follows, each once: the ingest (one run per contiguous range of new source
files, a big file's pieces one run each), the pending (date, security) partitions (single-run
backfills, core/plan/ranges.py), and the reports, their runs built as the sensor's
(glue/stage_runs.py) and recorded on the given Dagster instance. On a Dask cluster
(orders_assets.cli.launch) each stage is cut into one piece per worker and its runs go at once.
"""
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import dagster as dg

from orders_assets.cli.launch import DaskLauncher, InProcessLauncher, LaunchedRun, LocalPiecesLauncher
from orders_assets.core.assemble.assembly import overlap_problem
from orders_assets.core.errors import InputError
from orders_assets.core.ingest.pieces import pieces_wanted
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.plan.planner import survey_landing
from orders_assets.core.plan.work import WorkPlan
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.plan.stages import InFlight, next_stage
from orders_assets.core.read.sources import scan_landing
from orders_assets.core.report.files import reports_built_from
from orders_assets.core.store.disk import full_disk_error
from orders_assets.glue.partitions import retire_sources
from orders_assets.glue.resources import OrdersSettings
from orders_assets.glue.stage_runs import IngestSplit, StageRun, ingest_runs, partition_runs, reports_run
from orders_assets.glue.ui_status import refresh_partition_status


@dataclass
class RunOutcome:
    runs: list[LaunchedRun] = field(default_factory=list)
    ingested: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    partitions: int = 0
    status_seconds: float | None = None
    """Time spent bringing the UI's partition status up to date after the partition runs (ui_status.py)."""
    refused: tuple[str, ...] = ()
    """Files of the landing folder the ingest refused, now or before and unchanged since."""

    @property
    def success(self) -> bool:
        """Every run succeeded and every file was read: a refused file fails the run until it is mended."""
        return all(run.success for run in self.runs) and not self.refused

    @property
    def did_nothing(self) -> bool:
        return not self.runs


def run_pipeline(settings: OrdersSettings, instance: dg.DagsterInstance, log_level: str = "INFO",
                 dask_scheduler: str | None = None, rehash: bool = False,
                 checkpoint: Callable[[], None] = lambda: None, planned: WorkPlan | None = None) -> RunOutcome:
    """Plan, then launch the runs of each stage; on a Dask cluster each stage's work is cut into one
    piece per worker (source files by bytes, partitions by staged rows) and its runs go at once.
    `rehash` compares every file's content with what was ingested, whatever its size and time.
    `checkpoint` is called between runs and stages; it raises to stop (interrupts.SignalWatch).
    `planned`: the command's own plan_work of this landing folder, carried out without planning again."""
    with settings.lease():  # no run under other settings meets this one's between its stages
        launcher = (DaskLauncher(settings, instance, log_level, dask_scheduler) if dask_scheduler
                    else InProcessLauncher(settings, instance, log_level, checkpoint))
        try:
            return _run_stages(settings, instance, launcher, rehash, checkpoint, planned)
        finally:
            launcher.close()


STAGES_A_COMMAND = 3
"""The command's stages: ingest, partitions, reports, each at most once (core/plan/stages.next_stage
says which comes next; a stage it names again after its runs, whose runs failed, is not retried)."""


def _run_stages(settings: OrdersSettings, instance: dg.DagsterInstance, launcher, rehash: bool,
                checkpoint: Callable[[], None], planned: WorkPlan | None) -> RunOutcome:
    """The stages next_stage names, one after another, the store read again after each."""
    store = settings.store()
    if planned is not None:
        scan, plan = planned.scan, planned.ingest
    else:
        scan = scan_landing(settings.landing_dir)
        rules = settings.ingest_rules()
        plan = survey_landing(store, scan, rules.fingerprint_for, rules.layouts.name_fields, rehash)
    present = [source.key for source in scan.sources]
    outcome = RunOutcome(ingested=plan.to_ingest, retired=plan.to_retire)
    done: set[str] = set()
    snapshot = StoreSnapshot.of(store)
    while len(done) < STAGES_A_COMMAND:
        checkpoint()
        stage = next_stage(plan, snapshot, present, InFlight(), lambda: reports_built_from(store),
                           lambda seen: seen.inputs_signature(store), reports_without_files=True)
        retire_sources(store, instance, stage.retire)
        name = "ingest" if stage.ingest else "partitions" if stage.partitions else "reports" if stage.reports else None
        if name is None or name in done:
            break
        done.add(name)
        if stage.ingest:
            runs = _launch_ingest(settings, instance, launcher, store, scan.sources, stage.ingest)
            plan = replace(plan, to_ingest=())  # each planned file is read once a command
        elif stage.partitions:
            runs = _launch_partitions(store, instance, launcher, stage)
            outcome.partitions = len(stage.partitions)
        else:
            runs = _launch(launcher, [reports_run(stage.reports)])
        outcome.runs += runs
        _stop_if_disk_full(runs, settings)
        if stage.partitions and runs:
            outcome.status_seconds = refresh_partition_status(instance)
        snapshot = StoreSnapshot.of(store)  # the store as the stage's runs left it
    checkpoint()
    outcome.refused = tuple(sorted(store.refused()))
    return outcome


def _launch_partitions(store, instance: dg.DagsterInstance, launcher, stage) -> list[LaunchedRun]:
    problem = overlap_problem(store, stage.snapshot.manifests)  # a dedup column a file lacks: said before any run
    if problem:
        raise InputError(problem)
    return _launch(launcher, partition_runs(instance, stage.snapshot, list(stage.partitions), launcher.parts))


def _launch(launcher, runs: list[StageRun]) -> list[LaunchedRun]:
    """The runs (of one job) through the launcher: here one after another, or at once on a cluster."""
    if not runs:
        return []
    return launcher.launch(runs[0].job, [run.keys for run in runs], [run.tags for run in runs])


def _stop_if_disk_full(runs: list[LaunchedRun], settings: OrdersSettings) -> None:
    """A run that failed on a write the disk refused stops the command: every later stage would
    fail the same way. Raises DiskFullError with the free space and the fix."""
    for run in runs:
        if run.full_disk:
            raise full_disk_error(Path(settings.data_dir), *run.full_disk)


def _launch_ingest(settings: OrdersSettings, instance: dg.DagsterInstance, launcher, store, sources,
                   keys: tuple[str, ...]) -> list[LaunchedRun]:
    """The ingest runs (glue/stage_runs.ingest_runs, as the sensor's): a big file's pieces one run
    each, the other files in ranges of about equal bytes. On a cluster all go at once, the pieces
    first (the longest work starts first); on this machine the pieces go at once in processes of
    their own (tuning.file_pieces, each step its share of the cores), then the rest in this process."""
    local = isinstance(launcher, InProcessLauncher)
    tuning = settings.tuning()
    split = IngestSplit(tuning.file_pieces, 1, tuning.workers) if local else \
        IngestSplit(launcher.parts, launcher.parts, None)
    ingest = settings.ingest_settings(tuning)
    by_key = {source.key: source for source in sources}
    worth_cutting = any(pieces_wanted(ChunkedSource(by_key[key], ingest), split.parts, settings.piece_bytes) >= 2
                        for key in keys)
    # Started before the cut's scan: the pool's processes load Dagster meanwhile.
    pool = LocalPiecesLauncher(settings, instance, launcher.log_level, split.parts) if local and worth_cutting else None
    try:
        runs = ingest_runs(instance, store, ingest, keys, sources, split, settings.piece_bytes, scan=True)
        if not local:
            return _launch(launcher, runs)
        pieces = _launch(pool, [run for run in runs if run.is_piece]) if pool is not None else []
    finally:
        if pool is not None:
            pool.close()
    return pieces + _launch(launcher, [run for run in runs if not run.is_piece])
