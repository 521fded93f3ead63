"""SQLite event log storage that writes Dagster's event batches in one transaction.

Dagster batches the materialization events of a multi-partition step when
`DAGSTER_EVENT_BATCH_SIZE` is set, and hands each batch to `EventLogStorage.store_event_batch`.
dagster-postgres writes such a batch as one multi-row insert; the SQLite storage inherits the
base method, which stores the events one by one, each with two new connections and two
committed transactions (run shard and cross-run index). At thousands of partitions that
bookkeeping, not the work, dominates a backfill. This class writes the batch the way
dagster-postgres does, in the same tables and format, so any Dagster process (`dagster dev`,
the daemon) reads the instance exactly as if the stock SQLite storage had written it.
"""
from collections.abc import Sequence

from dagster import DagsterEventType, EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

BATCHED_EVENT_TYPES = frozenset({DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION})
ROWS_PER_INSERT = 500
"""SQLite binds at most 32,766 parameters per statement; an event row takes 7."""


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with a real `store_event_batch` for asset events of one type."""

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "BatchedSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        event_types = {event.get_dagster_event().event_type for event in events}
        if len(event_types) != 1 or not event_types <= BATCHED_EVENT_TYPES or len({e.run_id for e in events}) != 1:
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            for chunk in _chunks(rows):
                conn.execute(SqlEventLogStorageTable.insert().values(chunk))
        with self.index_transaction() as conn:
            event_ids = []  # RETURNING order is unspecified; ids grow in insertion order
            for chunk in _chunks(rows):
                result = conn.execute(
                    SqlEventLogStorageTable.insert().values(chunk).returning(SqlEventLogStorageTable.c.id)
                )
                event_ids.extend(sorted(int(row[0]) for row in result.fetchall()))
            self._store_asset_event_tags(conn, events, event_ids)
            self._store_asset_event(conn, events[-1], event_ids[-1])


def _chunks(rows: list[dict]) -> list[list[dict]]:
    return [rows[start:start + ROWS_PER_INSERT] for start in range(0, len(rows), ROWS_PER_INSERT)]
