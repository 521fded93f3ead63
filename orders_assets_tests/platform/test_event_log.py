"""The batched SQLite event log records a multi-partition run exactly as Dagster's stock SQLite storage does."""
import sqlite3

import dagster as dg
import pytest
import sqlalchemy
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sqlalchemy import text as sqlite_text

from orders_assets.platform.event_log import BatchedSqliteEventLogStorage
from orders_assets.platform.instance import BATCHING_ENVIRONMENT, ensure_instance_folder

DATES = [f"2025-03-{day:02d}" for day in range(3, 13)]
SECURITIES = [f"S{number:02d}" for number in range(12)]
GRID = dg.MultiPartitionsDefinition(
    {"date": dg.StaticPartitionsDefinition(DATES), "security": dg.StaticPartitionsDefinition(SECURITIES)}
)


@dg.asset(partitions_def=GRID, backfill_policy=dg.BackfillPolicy.single_run())
def grid_cells(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"cells": len(context.partition_keys)})


def _materialize_all(instance: dg.DagsterInstance) -> str:
    keys = GRID.get_partition_keys()
    job = dg.Definitions(assets=[grid_cells]).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
    )
    assert result.success
    return result.run_id


def _recorded(instance: dg.DagsterInstance, index_db) -> dict:
    """What the UI and the asset graph read back: partitions, records, and indexed tags (values of the
    partition tags; data versions differ from run to run by design)."""
    key = grid_cells.key
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=10_000).records
    with sqlite3.connect(index_db) as db:
        tags = db.execute(
            "SELECT key, CASE WHEN key LIKE 'dagster/partition/%' THEN value END AS partition_value"
            " FROM asset_event_tags ORDER BY 1, 2"
        ).fetchall()
    return {
        "materialized": instance.get_materialized_partitions(key),
        "record_partitions": sorted(record.partition_key for record in records),
        "tags": tags,
        "last_partition_is_one_of_them": instance.get_latest_materialization_event(key).dagster_event.partition
        in set(GRID.get_partition_keys()),
    }


@pytest.fixture
def batching(monkeypatch):
    for name, value in BATCHING_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "50")  # 120 partitions: two full batches and a partial one


def test_a_batched_run_records_what_the_stock_storage_records(tmp_path, batching, monkeypatch):
    batches = []
    original = BatchedSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (batches.append(len(events)), original(self, events))[1])

    ensure_instance_folder(tmp_path / "batched")
    with dg.DagsterInstance.from_config(str(tmp_path / "batched")) as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        _materialize_all(instance)
        batched = _recorded(instance, tmp_path / "batched" / "history" / "runs" / "index.db")

    (tmp_path / "stock").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "stock")) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        _materialize_all(instance)
        stock = _recorded(instance, tmp_path / "stock" / "history" / "runs" / "index.db")

    assert batches and sum(batches) == len(DATES) * len(SECURITIES) and max(batches) == 50
    assert batched["materialized"] == stock["materialized"] == set(GRID.get_partition_keys())
    assert batched["record_partitions"] == stock["record_partitions"]
    assert batched["tags"] == stock["tags"] and len(stock["tags"]) == 3 * len(DATES) * len(SECURITIES)
    assert batched["last_partition_is_one_of_them"]


def test_the_default_instance_folder_keeps_a_users_dagster_yaml(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ensure_instance_folder(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def _shard(storage, run_id: str) -> tuple:
    """What a run's shard holds once created: its schema, stamped revision and journal mode."""
    with storage.run_connection(run_id):
        pass
    with sqlite3.connect(f"{storage._base_dir}/{run_id}.db") as connection:
        return (sorted(connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str),
                connection.execute("SELECT version_num FROM alembic_version").fetchall(),
                connection.execute("PRAGMA journal_mode").fetchall())


def test_a_runs_shard_is_created_as_dagster_creates_it_its_migration_scripts_read_once(tmp_path, monkeypatch):
    from alembic.script import ScriptDirectory
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from orders_assets.platform import event_log

    stock = _shard(SqliteEventLogStorage(base_dir=str(tmp_path / "stock")), "run-1")
    storage = BatchedSqliteEventLogStorage(base_dir=str(tmp_path / "ours"))
    event_log._migration_scripts.cache_clear()
    reads = []
    real = ScriptDirectory.from_config
    monkeypatch.setattr(ScriptDirectory, "from_config", lambda config: reads.append(config) or real(config))
    ours = [_shard(storage, run_id) for run_id in ("run-1", "run-2", "run-3")]
    assert ours[0] == ours[1] == ours[2] == stock
    assert stock[1] and stock[2] == [("wal",)] and len(stock[0]) > 10
    assert len(reads) == 1  # Dagster's own path reads them twice a shard


def counted_engines(monkeypatch) -> tuple[list, list]:
    """The engines the event log makes, and the SQLite connections they open, as two lists of URLs."""
    from orders_assets.platform import event_log

    made, opened = [], []
    real = event_log.pooled_engine

    def counted(url):
        engine = real(url)
        made.append(url)
        sqlalchemy.event.listen(engine, "connect", lambda *_: opened.append(url))
        return engine
    monkeypatch.setattr(event_log, "pooled_engine", counted)
    return made, opened


def test_a_shards_engine_is_made_once_and_only_the_last_shards_keep_theirs(tmp_path, monkeypatch):
    """Dagster makes an engine and a connection at each call; this storage keeps an engine (and its
    connections) a shard for the shards in hand."""
    from orders_assets.platform import event_log

    storage = BatchedSqliteEventLogStorage(base_dir=str(tmp_path))
    made, opened = counted_engines(monkeypatch)
    for _ in range(12):
        with storage.run_connection("run-1") as connection:
            connection.execute(sqlite_text("SELECT 1"))
    assert len(made) == 1 and len(opened) <= 2  # one engine; the shard's creation's connection, then one for 12 uses
    for number in range(event_log.ENGINES_KEPT + 3):
        with storage.run_connection(f"run-{number + 2}"):
            pass
    assert len(storage._engines) == event_log.ENGINES_KEPT and "run-1" not in storage._engines
    storage.wipe()
    # the run shards are gone with their engines; the index is wiped through its own
    assert set(storage._engines) <= {"index"} and not list(tmp_path.glob("run-*.db"))


def test_the_table_check_at_every_tagged_event_reuses_one_connection(tmp_path, monkeypatch):
    """Dagster checks for the tags table at every event with tags, each time with a new engine."""
    storage = BatchedSqliteEventLogStorage(base_dir=str(tmp_path))
    made, opened = counted_engines(monkeypatch)
    assert all(storage.has_table("asset_event_tags") for _ in range(20))
    assert not any(storage.has_table("no_such_table") for _ in range(3))  # a missing table is asked again
    assert len(made) == 1 and len(opened) == 1
    storage.dispose()
