"""The Dagster instance `orders-assets run` uses by default, and the settings that keep a
backfill of thousands of partitions cheap on it.

Two of Dagster's own switches decide what a partition costs in the event log:
- `DAGSTER_EVENT_BATCH_SIZE`: the materializations of a multi-partition step reach the storage
  as batches (written in one transaction by `BatchedSqliteEventLogStorage`) instead of one
  committed write each.
- `DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS`: a run announces its planned partitions as
  one event holding the subset instead of one event per partition. Dagster's trade-off: if the
  run fails, its partitions show as missing rather than failed in the UI. orders-assets keeps
  its own record of what is done (the store), so a rerun picks them up either way.
Both are read from the environment by the Dagster process that executes the run: the CLI sets
them for itself; for `dagster dev` and the daemon export them (see the README).
"""
import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from orders_assets.core.store import file_lock
from orders_assets.partitions import SOURCE_FILES

BATCHING_ENVIRONMENT = {
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
}

INSTANCE_YAML = """\
# Written by orders-assets run: SQLite run, event and schedule storage in this folder, in the
# stock layout. Event batches are written in one transaction (orders_assets.event_log).
run_storage:
  module: dagster._core.storage.runs
  class: SqliteRunStorage
  config:
    base_dir: {home}/history/
event_log_storage:
  module: orders_assets.event_log
  class: BatchedSqliteEventLogStorage
  config:
    base_dir: {home}/history/runs/
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: {home}/schedules
telemetry:
  enabled: false
"""


def use_batched_events() -> None:
    """Turn on Dagster's event batching for this process, unless the user chose otherwise."""
    for name, value in BATCHING_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def ensure_instance_folder(home: Path) -> None:
    """Create `home` with the default dagster.yaml; an existing dagster.yaml is the user's and stays."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML.format(home=home.resolve()))


READY_MARKER = ".orders-assets-ready"
"""Written once the instance's storages have been created and checked: its creation is complete."""
STORAGE_FOLDERS = ("history", "schedules")
"""Where the default dagster.yaml keeps the SQLite storages."""


@contextlib.contextmanager
def open_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """The instance in `home`, with its storages created under a lock: two processes that create a
    fresh SQLite instance at the same moment would otherwise race on its tables.

    A creation killed half-way (a SIGKILL while SQLite creates the tables) leaves storages with
    tables missing, which Dagster does not repair. Such an instance never completed its first
    open, so it holds no run: its storages are removed and created again. Once an instance has
    opened whole (READY_MARKER), a failing check is raised, never repaired by deletion.
    """
    with file_lock(home / ".orders-assets-init.lock"):
        try:
            instance = _checked_instance()
        except Exception:
            if (home / READY_MARKER).exists() or not _is_default_instance(home):
                raise
            for folder in STORAGE_FOLDERS:
                shutil.rmtree(home / folder, ignore_errors=True)
            instance = _checked_instance()
        (home / READY_MARKER).touch()
    with instance:
        yield instance


def _checked_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME with every storage orders-assets uses touched once."""
    instance = dg.DagsterInstance.get()
    try:
        instance.get_runs_count()
        instance.get_dynamic_partitions(SOURCE_FILES)
        instance.event_log_storage.get_asset_records([])
    except Exception:
        instance.dispose()
        raise
    return instance


def _is_default_instance(home: Path) -> bool:
    """True when home's dagster.yaml is the one orders-assets writes (never a user's own)."""
    config = home / "dagster.yaml"
    return config.exists() and config.read_text() == INSTANCE_YAML.format(home=home.resolve())
