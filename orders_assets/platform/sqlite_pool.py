"""One SQLAlchemy engine for a SQLite file of Dagster's storages, its connections kept open.

Dagster's SQLite storages make a new engine with `NullPool` at every call: each call opens the file,
and its close checkpoints the write-ahead log when it is the last connection open. A run makes
about a hundred such calls. `QueuePool` is SQLAlchemy 2's own choice for a SQLite file: a
connection is checked out by one caller at a time (never shared by two threads at once, hence
`check_same_thread` off) and goes back to the pool after its transaction, rolled back if left open.
The busy timeout is Dagster's, so a writer in another process (the daemon, the webserver) is waited for.
"""
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


def pooled_engine(conn_string: str) -> Engine:
    """An engine for the SQLite database at `conn_string` that keeps its connections between calls."""
    return create_engine(conn_string, poolclass=QueuePool,
                         connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
