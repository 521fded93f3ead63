"""How `orders-assets run` executes the runs it plans: one after another in this process (a laptop),
several at once on a Dask cluster, each run's step a task on a worker, or a big file's pieces at
once on this machine, each run in a process of its own.

Either way a run is an ordinary Dagster run of one of the code location's jobs, recorded on the
instance with its partition range; only the executor differs. On a cluster the job is
reconstructed by the workers from the `orders_assets.definitions` module, and the settings of
this command travel in the run's config, so a worker needs the package and access to the
folders (and output URL), not this command's environment.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run_iterator

from orders_assets.core.errors import OrdersAssetsError
from orders_assets.glue.console_logger import REFUSED_METADATA
from orders_assets.core.store.disk import full_disk_in_report
from orders_assets.glue.names import ENGINE_SECONDS, PIECE_TAG
from orders_assets.glue.definitions import build_definitions
from orders_assets.platform.executors import dask_execution
from orders_assets.glue.partitions import range_tags
from orders_assets.glue.resources import OrdersSettings

DEFINITIONS_MODULE = "orders_assets.definitions"
Range = tuple[str, str] | None
"""(first, last) partition keys of a single-run backfill, or None for an unpartitioned run."""


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
    run_id: str = ""
    full_disk: tuple[str, str] | None = None
    """(what filled up, the error) when a step failed on a write the disk refused (core/store/disk.py)."""
    failures: tuple[str, ...] = ()
    """Why its steps failed on a user's mistake (dagster.Failure's description; for a refusal of files
    its count, the command's REFUSED lines naming each)."""

    @property
    def dagster_seconds(self) -> float:
        return max(0.0, self.seconds - self.engine_seconds)


class InProcessLauncher:
    """Runs execute in this process, one after another; each step uses every core of the machine."""

    parts = 1
    """How many pieces a stage's work is cut into: one, since one step already uses all cores."""

    def __init__(self, settings: OrdersSettings, instance: dg.DagsterInstance, log_level: str,
                 checkpoint: Callable[[], None] = lambda: None):
        self.defs = build_definitions(settings)
        self.instance = instance
        self.log_level = log_level
        self.checkpoint = checkpoint
        """Called before each run: it raises to stop launching (a signal arrived)."""
        # In this process whatever the code location's default (a Dask scheduler in the environment).
        self.run_config = {**_logger_config(log_level), "execution": {"config": {"in_process": {}}}}

    def launch(self, job_name: str, ranges: list[Range], extra_tags: list[dict] | None = None) -> list[LaunchedRun]:
        runs = []
        for partition_range, tags in zip(ranges, extra_tags or [{}] * len(ranges)):
            self.checkpoint()
            runs.append(self._execute(job_name, partition_range, tags))
        return runs

    def close(self) -> None:
        pass

    def _execute(self, job_name: str, partition_range: Range, extra_tags: dict) -> LaunchedRun:
        """One run, executed here with its events streamed, not kept.

        `execute_in_process` keeps every event of the run in its result: at a year's 75,000 keys
        that is 75,000 materialization events (about 3 KB each) held until the run ends, the peak
        RSS growing with the partition count. The run is created and executed the way Dagster's
        run worker does it (`create_run_for_job`, `execute_run_iterator`), and only a tally of
        the events is kept.
        """
        started = time.perf_counter()
        job_def = self.defs.resolve_job_def(job_name)
        run = self.instance.create_run_for_job(job_def, run_config=self.run_config,
                                               tags={**job_def.run_tags, **_tags(partition_range), **extra_tags})
        tally = RunTally()
        for event in execute_run_iterator(InMemoryJob(job_def), run, self.instance):
            tally.add(event)
        success = self.instance.get_run_by_id(run.run_id).is_success
        return launched_run(job_name, partition_range, tally, success, run.run_id, time.perf_counter() - started,
                            extra_tags)


class PoolLauncher:
    """Runs execute at once, each orchestrated by a process of its own from a pool started once.

    As Dagster's default run launcher runs each run in a process of its own. Not threads: Dagster
    re-applies the logging configuration when a run starts, which deadlocks against another run's
    thread logging at that moment. Each process imports Dagster and the definitions once (seconds),
    not once per run. The job is reconstructed from the definitions module and the settings travel
    in the run config.
    """

    def __init__(self, settings: OrdersSettings, instance: dg.DagsterInstance, log_level: str, execution: dict,
                 parts: int):
        if not instance.is_persistent:
            raise ValueError("runs in other processes need a persistent Dagster instance (DAGSTER_HOME) they can open")
        self.instance_ref = instance.get_ref()
        self.working_directory = os.getcwd()
        self.run_config = {**_logger_config(log_level), "execution": execution,
                           "resources": {"settings": {"config": settings_config(settings)}}}
        self.parts = parts
        self.pool = ProcessPoolExecutor(max_workers=self.parts, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_load_definitions, initargs=(self.working_directory,))
        for _ in range(self.parts):  # every process starts now, loading Dagster while the caller plans
            self.pool.submit(_started)

    def launch(self, job_name: str, ranges: list[Range], extra_tags: list[dict] | None = None) -> list[LaunchedRun]:
        """The runs at once; `extra_tags` (one dict a range) are added to each run's tags (a piece of a file)."""
        count = len(ranges)
        return list(self.pool.map(execute_reconstructed, [self.instance_ref] * count, [job_name] * count, ranges,
                                  [self.run_config] * count, [self.working_directory] * count,
                                  extra_tags or [{}] * count))

    def close(self) -> None:
        self.pool.shutdown()


class DaskLauncher(PoolLauncher):
    """Runs execute at once, one per piece of a stage's work, their steps as tasks on a Dask cluster.

    A stage is cut into as many pieces as the cluster has workers (`parts`), each a single-run
    backfill of a range of keys: Dask's scheduler gives each waiting step to a free worker. The
    runs are orchestrated by a pool of processes here, one per worker (the orchestration only waits
    for Dask and relays events; the work is done in the workers' processes).
    """

    def __init__(self, settings: OrdersSettings, instance: dg.DagsterInstance, log_level: str, scheduler: str):
        super().__init__(settings, instance, log_level, dask_execution(scheduler), cluster_workers(scheduler))


class LocalPiecesLauncher(PoolLauncher):
    """The pieces of big files on this machine: `parts` runs at once, each in a process of its own
    with its step in that process (tuning.file_pieces; each piece's step takes its share of the
    cores, glue/names.PIECE_WORKERS_TAG)."""

    def __init__(self, settings: OrdersSettings, instance: dg.DagsterInstance, log_level: str, parts: int):
        super().__init__(settings, instance, log_level, {"config": {"in_process": {}}}, parts)


def _started() -> None:
    """A pool process's first task: none, so that the pool starts its processes at once."""


def _import_definitions() -> None:
    importlib.import_module(DEFINITIONS_MODULE)


def _load_definitions(working_directory: str) -> None:
    ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs", working_directory).get_definition()


def execute_reconstructed(instance_ref, job_name: str, partition_range: Range, run_config: dict,
                          working_directory: str, extra_tags: dict | None = None) -> LaunchedRun:
    """One run of the code location's job, its steps on the executor its run config names (in a process of its own)."""
    repository = ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs", working_directory)
    started = time.perf_counter()
    with dg.DagsterInstance.from_ref(instance_ref) as instance, dg.execute_job(
            repository.get_reconstructable_job(job_name), instance, run_config=run_config,
            tags={**_tags(partition_range), **(extra_tags or {})}, raise_on_error=False) as result:
        tally = RunTally()
        for event in result.all_events:
            tally.add(event)
        return launched_run(job_name, partition_range, tally, result.success, result.run_id,
                            time.perf_counter() - started, extra_tags)


class ClusterUnreachable(OrdersAssetsError, RuntimeError):
    """No Dask scheduler (or no worker) answered at the given address."""


CONNECT_SECONDS = 10
"""A scheduler that has not answered in this time is down or unreachable (Dask retries meanwhile)."""
FIRST_WORKER_SECONDS = 30
"""How long a reachable scheduler may take to have its first worker connected (workers starting up)."""


def cluster_workers(scheduler: str) -> int:
    """Workers connected to the scheduler, once at least one is; each has imported the definitions."""
    from dask.distributed import Client

    try:
        with Client(scheduler, timeout=CONNECT_SECONDS) as client:
            client.wait_for_workers(1, timeout=FIRST_WORKER_SECONDS)
            client.run(_import_definitions)  # each worker builds the definitions now, not in its first step
            return len(client.scheduler_info()["workers"])
    except (OSError, TimeoutError) as error:
        raise ClusterUnreachable(f"Dask scheduler {scheduler}: no answer within {CONNECT_SECONDS} s, or no worker "
                                 f"connected within {FIRST_WORKER_SECONDS} s ({type(error).__name__}: {error})") from error


def settings_config(settings: OrdersSettings) -> dict:
    """The settings as the `settings` resource's run config (unset sizing left to each worker's machine)."""
    return _without_unset(settings.model_dump())


def _without_unset(values: dict) -> dict:
    return {name: _without_unset(value) if isinstance(value, dict) else value
            for name, value in values.items() if value is not None}


class RunTally:
    """What `orders-assets run` reports of a run, gathered from its events as they pass: keys
    materialized, checks failed, and the engine time each asset's step recorded."""

    def __init__(self) -> None:
        self.partitions = 0
        self.failed_checks: list[str] = []
        self.engine_by_asset: dict[dg.AssetKey, float] = {}
        self.full_disk: tuple[str, str] | None = None
        self.failures: list[str] = []

    def add(self, event: dg.DagsterEvent) -> None:
        if event.is_step_failure:
            self.full_disk = self.full_disk or full_disk_in_report(event.step_failure_data.error)
            self.failures += _user_failure(event.step_failure_data)
            return
        if event.is_step_materialization:
            recorded = event.event_specific_data.materialization
            self.partitions += recorded.partition is not None
        elif event.is_asset_observation:
            recorded = event.event_specific_data.asset_observation
        else:
            evaluation = event.event_specific_data
            if (event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION and not evaluation.passed
                    and evaluation.severity == dg.AssetCheckSeverity.ERROR):  # a warning does not fail the run
                self.failed_checks.append(evaluation.check_name)
            return
        # A step reports its engine time once: on an observation of its asset (a multi-partition
        # step's own figures, filtered_orders) or on its materializations (the same on each).
        entry = recorded.metadata.get(ENGINE_SECONDS)
        if entry is not None:
            self.engine_by_asset.setdefault(recorded.asset_key, float(entry.value))

    @property
    def engine_seconds(self) -> float:
        return sum(self.engine_by_asset.values())


def launched_run(job_name: str, partition_range: Range, tally: RunTally, success: bool, run_id: str,
                 seconds: float, extra_tags: dict | None = None) -> LaunchedRun:
    label = "" if partition_range is None else (
        partition_range[0] if partition_range[0] == partition_range[1] else "...".join(partition_range))
    piece = (extra_tags or {}).get(PIECE_TAG)
    if piece:
        label += f", piece {int(piece.rsplit(':', 1)[1]) + 1}"
    return LaunchedRun(job=job_name, partition_range=label, success=success and not tally.failed_checks,
                       seconds=seconds, engine_seconds=tally.engine_seconds, partitions=tally.partitions,
                       run_id=run_id, full_disk=tally.full_disk, failures=tuple(tally.failures))


def _user_failure(failure) -> list[str]:
    """A step failure's description when a user's mistake raised it (dagster.Failure); for the
    ingest's refusal of files only the count, as the command names them file by file."""
    error, raised = failure.error, failure.user_failure_data
    if error is None or error.cls_name != "Failure" or raised is None:
        return []
    description = raised.description or error.message.strip()
    if REFUSED_METADATA in (raised.metadata or {}):
        return [f"{description.split(':', 1)[0]}: each named below with the reason"]
    return [description]


def _tags(partition_range: Range) -> dict[str, str]:
    return {} if partition_range is None else range_tags(*partition_range)


def _logger_config(log_level: str) -> dict:
    """The console logger under the command: what the command says itself after the runs (a failed
    run's reason, each refused file) is not logged too (console_logger.SaidByTheCommand)."""
    return {"loggers": {"console": {"config": {"log_level": log_level, "said_by_the_command": True}}}}
