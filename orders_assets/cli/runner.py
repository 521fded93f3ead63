"""`orders-assets run`: bring every partition and report up to date through Dagster runs.

It plans first (pure, from the landing folder and the store) and launches nothing when
nothing is new. Otherwise it launches at most: one ingest run per contiguous range of new
source files, one single-run backfill per rectangle of pending (date, security) partitions
(core/plan/ranges.py), and one run of the reports, all recorded on the given Dagster instance. On a Dask
cluster (orders_assets.cli.launch) the ranges are cut into one piece per worker and run at once.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg


from orders_assets.glue.assets.pieces import piece_run_tags
from orders_assets.core.plan.piece_plan import piece_plan
from orders_assets.core.assemble.assembly import overlap_problem
from orders_assets.core.errors import InputError
from orders_assets.core.store.disk import full_disk_error
from orders_assets.core.ingest.pieces import pieces_wanted
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.plan.planner import WorkPlan, ingest_weights, survey_landing
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.report.files import reports_current
from orders_assets.core.read.sources import scan_landing
from orders_assets.glue.names import INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB
from orders_assets.cli.launch import DaskLauncher, InProcessLauncher, LaunchedRun, LocalPiecesLauncher
from orders_assets.glue.partitions import add_partition_keys, order_partition_ranges, retire_sources, source_file_ranges
from orders_assets.glue.names import SOURCE_FILES
from orders_assets.glue.resources import OrdersSettings
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


def _run_stages(settings: OrdersSettings, instance: dg.DagsterInstance, launcher, rehash: bool,
                checkpoint: Callable[[], None], planned: WorkPlan | None) -> RunOutcome:
    store = settings.store()
    if planned is not None:
        scan, plan = planned.scan, planned.ingest
    else:
        scan = scan_landing(settings.landing_dir)
        rules = settings.ingest_rules()
        plan = survey_landing(store, scan, rules.fingerprint_for, rules.layouts.name_fields, rehash)
    sources = scan.sources
    outcome = RunOutcome(ingested=plan.to_ingest, retired=plan.to_retire)
    retire_sources(store, instance, plan.to_retire)
    sizes = ingest_weights(sources, plan.to_ingest)
    checkpoint()
    outcome.runs += _launch_ingest(settings, instance, launcher, store, sources, sizes)
    _stop_if_disk_full(outcome.runs, settings)
    checkpoint()
    snapshot = StoreSnapshot.of(store)  # the store as the ingest runs left it
    problem = overlap_problem(store, snapshot.manifests)  # a dedup column a file lacks: said before any partition run
    if problem:
        raise InputError(problem)
    pending = snapshot.pending_partitions()
    outcome.partitions = len(pending)
    weights = snapshot.assembly_weights(pending)
    partition_runs = launcher.launch(PARTITIONS_JOB, order_partition_ranges(instance, weights, launcher.parts))
    outcome.runs += partition_runs
    _stop_if_disk_full(partition_runs, settings)
    checkpoint()
    if partition_runs:
        outcome.status_seconds = refresh_partition_status(instance)
    if not reports_current(store):  # the reports name what they are built from: new runs change it
        report_runs = launcher.launch(REPORTS_JOB, [None])
        outcome.runs += report_runs
        _stop_if_disk_full(report_runs, settings)
    checkpoint()
    outcome.refused = tuple(sorted(store.refused()))
    return outcome


def _stop_if_disk_full(runs: list[LaunchedRun], settings: OrdersSettings) -> None:
    """A run that failed on a write the disk refused stops the command: every later stage would
    fail the same way. Raises DiskFullError with the free space and the fix."""
    for run in runs:
        if run.full_disk:
            raise full_disk_error(Path(settings.data_dir), *run.full_disk)


def _launch_ingest(settings: OrdersSettings, instance: dg.DagsterInstance, launcher, store, sources,
                   sizes: dict[str, int]) -> list[LaunchedRun]:
    """The ingest runs: a big file's pieces one run each (tagged with the piece), the other files in
    ranges of about equal bytes. On a cluster all go at once, the pieces first (the longest work
    starts first); on this machine the pieces go at once in processes of their own
    (tuning.file_pieces, each step its share of the cores), then the rest in this process."""
    local = isinstance(launcher, InProcessLauncher)
    tuning = settings.tuning()
    parts = tuning.file_pieces if local else launcher.parts
    ingest = settings.ingest_settings(tuning)
    by_key = {source.key: source for source in sources}
    chunked = {key: ChunkedSource(by_key[key], ingest) for key in sizes}
    worth_cutting = any(pieces_wanted(one, parts, settings.piece_bytes) >= 2 for one in chunked.values())
    # Started before the cut's scan: the pool's processes load Dagster meanwhile.
    pool = LocalPiecesLauncher(settings, instance, launcher.log_level, parts) if local and worth_cutting else None
    try:
        plan = piece_plan(store, chunked, parts, settings.piece_bytes, scan=True)
        add_partition_keys(instance, SOURCE_FILES, plan.pieces)
        piece_ranges = [(key, key) for key, (_cut_id, pieces) in sorted(plan.pieces.items()) for _piece in pieces]
        piece_tags = [piece_run_tags(cut_id, piece, tuning.workers if local else None)
                      for _key, (cut_id, pieces) in sorted(plan.pieces.items()) for piece in pieces]
        whole = {key: sizes[key] for key in plan.whole}
        whole_ranges = source_file_ranges(instance, whole, launcher.parts) if whole else []
        if not local:
            return launcher.launch(INGEST_JOB, piece_ranges + whole_ranges, piece_tags + [{} for _ in whole_ranges])
        runs = pool.launch(INGEST_JOB, piece_ranges, piece_tags) if piece_ranges else []
    finally:
        if pool is not None:
            pool.close()
    return runs + launcher.launch(INGEST_JOB, whole_ranges)
