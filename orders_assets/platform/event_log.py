"""SQLite event log storage that writes Dagster's event batches in one transaction.

Dagster batches the materialization events of a multi-partition step when
`DAGSTER_EVENT_BATCH_SIZE` is set, and hands each batch to `EventLogStorage.store_event_batch`.
dagster-postgres writes such a batch as one multi-row insert; the SQLite storage inherits the
base method, which stores the events one by one, each with two new connections and two
committed transactions (run shard and cross-run index). At thousands of partitions that
bookkeeping, not the work, dominates a backfill. This class writes the batch the way
dagster-postgres does, in the same tables and format, so any Dagster process (`dagster dev`,
the daemon) reads the instance exactly as if the stock SQLite storage had written it.

It also creates each run's shard (one SQLite file a run) without reading Dagster's migration
scripts anew each time (`_initdb`): the same tables and stamped revision; and keeps the engine of
the shards in hand rather than making one at every connection (`_connect`): fixed costs a run less.
"""
import functools
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as db
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from dagster import DagsterEventType, EventLogEntry
from dagster._core.storage.event_log.schema import (AssetEventTagsTable, SqlEventLogStorageMetadata,
                                                    SqlEventLogStorageTable)
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sql import get_alembic_config, safe_commit
from sqlalchemy import exc as db_exc

from orders_assets.platform.sqlite_pool import pooled_engine

BATCHED_EVENT_TYPES = frozenset({DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION})
ENGINES_KEPT = 8
"""Shards whose SQLAlchemy engine a storage keeps (the index and the runs in hand): Dagster makes a new
engine at every connection, and its first connection's set-up cost 2 of the 5.7 ms of a one-row write."""


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with a real `store_event_batch` for asset events of one type."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict = OrderedDict()
        """The engines of the shards in hand, the last used last (at most ENGINES_KEPT)."""
        self._tables_found: set[str] = set()
        """Index tables `has_table` has found (they stay)."""
        self._table_check_engine = None
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "BatchedSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator:
        """Dagster's connection to a shard, in one transaction, from an engine kept for the shard
        with its connections (platform/sqlite_pool.py) instead of an engine and a connection made
        and disposed each time (a run makes about a hundred connections)."""
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection:
                with connection.begin():
                    yield connection

    def has_table(self, table_name: str) -> bool:
        """Dagster's check (on the index shard), through its kept engine: Dagster makes an engine for
        each check, and checks for the tags table at every event that has tags. A table found stays
        found: Dagster's migrations add tables, none drops one under a live storage."""
        if table_name in self._tables_found:
            return True
        if self._table_check_engine is None:  # its own: Dagster checks inside a _connect that holds _db_lock
            self._table_check_engine = pooled_engine(self.conn_string_for_shard(INDEX_SHARD_NAME))
        with self._table_check_engine.connect() as connection:
            found = bool(self._table_check_engine.dialect.has_table(connection, table_name))
        if found:
            self._tables_found.add(table_name)
        return found

    def _engine(self, shard: str):
        engines = self._engines
        if shard in engines:
            engines.move_to_end(shard)
            return engines[shard]
        engines[shard] = pooled_engine(self.conn_string_for_shard(shard))
        while len(engines) > ENGINES_KEPT:
            engines.popitem(last=False)[1].dispose()
        return engines[shard]

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()

    def _dispose_engines(self) -> None:
        """Closes the kept connections (they are opened again on the next call)."""
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        if self._table_check_engine is not None:
            self._table_check_engine.dispose()

    def _initdb(self, engine, for_index_shard: bool = False) -> None:
        """A run's new shard created as Dagster creates it (its tables, WAL, the head revision stamped),
        with Dagster's migration scripts read once a process rather than twice a run: reading them
        was 0.25 of the 0.44 s a run's first event cost (cProfile of one partition run), and a new
        day's file can take a dozen runs. The cross-run index, a shard that exists already, and any
        error (another process creating the same shard) take Dagster's own path."""
        if for_index_shard:
            super()._initdb(engine, for_index_shard=True)
            return
        try:
            with engine.connect() as connection:
                migration = MigrationContext.configure(connection)
                if migration.get_current_revision() is None:
                    SqlEventLogStorageMetadata.create_all(engine)
                    connection.execute(db.text("PRAGMA journal_mode=WAL;"))
                    migration.stamp(_migration_scripts(), "head")
                    safe_commit(connection)
        except (db_exc.DatabaseError, sqlite3.DatabaseError, sqlite3.OperationalError):
            super()._initdb(engine)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        event_types = {event.get_dagster_event().event_type for event in events}
        if len(event_types) != 1 or not event_types <= BATCHED_EVENT_TYPES or len({e.run_id for e in events}) != 1:
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            result = conn.execute(
                SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
                rows,
            )
            event_ids = [int(row[0]) for row in result.fetchall()]
            self._store_asset_event_tags(conn, events, event_ids)
            self._store_asset_event(conn, events[-1], event_ids[-1])

    def _store_asset_event_tags(self, conn, events: Sequence[EventLogEntry], event_ids: Sequence[int]) -> None:
        """The base method's rows (the indexed tags of each event), with each asset key's text and
        the tags to index worked out once per batch rather than once per tag: at thousands of
        partitions a step's events share one asset key and one set of tag names."""
        key_text: dict = {}
        indexed: dict = {}
        rows = []
        for event_id, event in zip(event_ids, events):
            asset_key, tags = _asset_key_and_tags(event.get_dagster_event())
            if not tags:
                continue
            names = frozenset(tags)
            if names not in indexed:
                indexed[names] = self.get_asset_tags_to_index(set(names))
            if asset_key not in key_text:
                key_text[asset_key] = asset_key.to_string()
            common = {"event_id": event_id, "asset_key": key_text[asset_key],
                      "event_timestamp": self._event_insert_timestamp(event)}
            rows.extend({**common, "key": key, "value": value} for key, value in tags.items() if key in indexed[names])
        if rows and self.has_table(AssetEventTagsTable.name):
            conn.execute(AssetEventTagsTable.insert(), rows)


def _asset_key_and_tags(dagster_event) -> tuple:
    """The asset key and tags of a materialization or observation (the events whose tags Dagster
    indexes), read once from the event's data: each `DagsterEvent.asset_key` re-checks its type."""
    data = dagster_event.event_specific_data
    if dagster_event.is_step_materialization:
        recorded = data.materialization
    elif dagster_event.is_asset_observation:
        recorded = data.asset_observation
    else:
        return None, {}
    return recorded.asset_key, recorded.tags or {}


@functools.cache
def _migration_scripts() -> ScriptDirectory:
    """Dagster's event log migration scripts (the ones SqliteEventLogStorage stamps a shard with), read once."""
    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))
