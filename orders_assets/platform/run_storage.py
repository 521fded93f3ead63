"""SQLite run storage that keeps its engine and its connections.

Dagster's `SqliteRunStorage.connect` makes a new SQLAlchemy engine at every call, with `NullPool`:
each of a run's ~40 run-storage calls (run creation, status changes, tags, the run's record read
back) pays an engine's set-up, a new SQLite connection, and the connection's close, which in WAL
mode checkpoints the log when it is the last one open. This class makes one engine for the
storage that keeps its connections (platform/sqlite_pool.py). Each call still runs in a
transaction of its own, on the same file, tables and stamped revision: any Dagster process reads
the instance as if the stock storage had written it. The event log storage keeps its shards' connections the same way
(platform/event_log.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from orders_assets.platform.sqlite_pool import pooled_engine


class PooledSqliteRunStorage(SqliteRunStorage):
    """`SqliteRunStorage` with one engine, its connections kept between calls."""

    def __init__(self, conn_string: str, inst_data=None):
        self._engine = pooled_engine(conn_string)
        super().__init__(conn_string, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "PooledSqliteRunStorage":
        return cls.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self) -> Iterator:
        with self._engine.connect() as connection:
            with connection.begin():
                yield connection

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()
