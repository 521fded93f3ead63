"""The Dagster instance `orders-assets run` uses by default, and the settings that keep a
backfill of thousands of partitions cheap on it.

The default is SQLite in the instance folder. With `ORDERS_ASSETS_POSTGRES_URL` set
(postgresql://user@host:port/db) when the folder is created, its dagster.yaml puts run, event
and schedule storage in that PostgreSQL database instead (dagster-postgres, the `postgres`
extra); the password is never written: dagster.yaml reads it from
`ORDERS_ASSETS_POSTGRES_PASSWORD` in each process that opens the instance.

Two of Dagster's own switches decide what a partition costs in the event log:
- `DAGSTER_EVENT_BATCH_SIZE`: the materializations of a multi-partition step reach the storage
  as batches (written in one transaction by `BatchedSqliteEventLogStorage`) instead of one
  committed write each.
- `DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS`: a run announces its planned partitions as
  one event holding the subset instead of one event per partition. Dagster's trade-off: if the
  run fails, its partitions show as missing rather than failed in the UI. orders-assets keeps
  its own record of what is done (the store), so a rerun picks them up either way.
Both are read from the environment by the Dagster process that executes the run: the CLI sets
them for itself; for `dagster dev` and the daemon export them (see the README). dagster-postgres
writes a batch as one multi-row insert itself; `BatchedSqliteEventLogStorage` gives SQLite the same.
"""
import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import dagster as dg
import yaml

from orders_assets.core.errors import InputError
from orders_assets.core.store.locks import file_lock

BATCHING_ENVIRONMENT = {
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
}

EVENT_LOG_MODULE = "orders_assets.platform.event_log"
DEFAULT_YAML = """\
# Written by orders-assets run: SQLite run, event and schedule storage in this folder, in the
# stock layout. Event batches are written in one transaction ({event_log}){connections}
run_storage:
  module: {run_storage}
  config:
    base_dir: {{home}}/history/
event_log_storage:
  module: {event_log}
  class: BatchedSqliteEventLogStorage
  config:
    base_dir: {{home}}/history/runs/
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: {{home}}/schedules
telemetry:
  enabled: false
"""
"""The default dagster.yaml's shape, over the releases: `{home}` is left for the instance folder."""

INSTANCE_YAML = DEFAULT_YAML.format(
    event_log=EVENT_LOG_MODULE, run_storage="orders_assets.platform.run_storage\n  class: PooledSqliteRunStorage",
    connections=",\n# and both storages keep their connections between calls (orders_assets.platform.sqlite_pool).")

POSTGRES_URL_ENV = "ORDERS_ASSETS_POSTGRES_URL"
POSTGRES_PASSWORD_ENV = "ORDERS_ASSETS_POSTGRES_PASSWORD"
POSTGRES_YAML_HEADER = f"""\
# Written by orders-assets run from {POSTGRES_URL_ENV}: run, event and schedule storage in
# PostgreSQL (dagster-postgres). Every process that opens this instance needs
# {POSTGRES_PASSWORD_ENV} set (empty when the server asks for no password). The scheme names
# psycopg2, the driver dagster-postgres installs: SQLAlchemy 2.1 takes psycopg 3 for a bare postgresql://.
"""
POSTGRES_SCHEME = "postgresql+psycopg2"


class InstanceConfigError(InputError):
    """The instance settings in the environment cannot be used as they are; the message says why and the fix."""


def postgres_instance_yaml(url: str) -> str:
    """The dagster.yaml that stores runs, events and schedules in the PostgreSQL database at `url`
    (postgresql://user@host[:port]/db[?param=value...]), in Dagster's documented `storage: postgres:
    postgres_db:` form. Query parameters (e.g. sslmode=require) go to libpq as they are."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ("postgresql", "postgres"):
        problem = f"its scheme is {parts.scheme or 'missing'!r}, not postgresql"
    elif parts.password is not None:
        problem = (f"it holds a password, which would be written to dagster.yaml: remove it from the URL and "
                   f"export {POSTGRES_PASSWORD_ENV} instead")
    elif not (parts.username and parts.hostname and parts.path.strip("/")):
        problem = "it needs a user, a host and a database name"
    else:
        try:
            port = parts.port or 5432
        except ValueError:
            problem = "its port is not a number from 0 to 65535"
    if problem:
        shown = url.replace(f":{parts.password}@", ":***@") if parts.password else url
        raise InstanceConfigError(f"{POSTGRES_URL_ENV}={shown!r} cannot be used: {problem} "
                                  f"(form: postgresql://user@host:5432/database)")
    database = {
        "hostname": parts.hostname,
        "port": port,
        "username": unquote(parts.username),
        "password": {"env": POSTGRES_PASSWORD_ENV},
        "db_name": unquote(parts.path.strip("/")),
        "scheme": POSTGRES_SCHEME,
    }
    if parts.query:
        database["params"] = dict(parse_qsl(parts.query, strict_parsing=True))
    document = {"storage": {"postgres": {"postgres_db": database}}, "telemetry": {"enabled": False}}
    return POSTGRES_YAML_HEADER + yaml.safe_dump(document, sort_keys=False)


def instance_yaml(home: Path) -> str:
    """The dagster.yaml for a new instance in `home`: PostgreSQL when `ORDERS_ASSETS_POSTGRES_URL` is set,
    else SQLite in the folder."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return postgres_instance_yaml(url)
    return INSTANCE_YAML.format(home=home.resolve())


def use_batched_events() -> None:
    """Turn on Dagster's event batching for this process, unless the user chose otherwise."""
    for name, value in BATCHING_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def ensure_instance_folder(home: Path) -> None:
    """Create `home` with the dagster.yaml of `instance_yaml`; an existing dagster.yaml is the user's and
    stays, but one that ignores a PostgreSQL URL set now is refused rather than silently used."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or _is_earlier_default_instance(home):
        config.write_text(instance_yaml(home))
        return
    url = os.environ.get(POSTGRES_URL_ENV)
    if url and config.read_text() != postgres_instance_yaml(url):
        raise InstanceConfigError(
            f"{POSTGRES_URL_ENV} is set but {config} was not written for that database: move that dagster.yaml "
            f"away to have it written for PostgreSQL (what it stored stays where it is), or unset {POSTGRES_URL_ENV}"
        )


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


PROBED_PARTITIONS = "orders_assets_storage_probe"
"""Any dynamic partitions name: reading it touches the table every dynamic partition lives in."""


def _checked_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME with every storage orders-assets uses touched once."""
    instance = dg.DagsterInstance.get()
    try:
        instance.get_runs_count()
        instance.get_dynamic_partitions(PROBED_PARTITIONS)
        instance.event_log_storage.get_asset_records([])
    except Exception:
        instance.dispose()
        raise
    return instance


STOCK_RUN_STORAGE_INSTANCE_YAML = DEFAULT_YAML.format(
    event_log=EVENT_LOG_MODULE, run_storage="dagster._core.storage.runs\n  class: SqliteRunStorage", connections=".")
"""The default dagster.yaml of the releases before the pooled run storage (stop 53)."""


EARLIER_INSTANCE_YAMLS = (STOCK_RUN_STORAGE_INSTANCE_YAML.replace(EVENT_LOG_MODULE, "orders_assets.event_log"),
                          STOCK_RUN_STORAGE_INSTANCE_YAML)
"""The default dagster.yamls earlier releases wrote: the event log module before the package map,
then Dagster's own SQLite run storage. Each is rewritten (nothing else in it differs; what the
instance stored stays, in the same files)."""


def _is_earlier_default_instance(home: Path) -> bool:
    """True when home's dagster.yaml is one an earlier release wrote (rewritten for this one)."""
    return _is_default_instance(home, EARLIER_INSTANCE_YAMLS)


def _is_default_instance(home: Path, templates: tuple[str, ...] = (INSTANCE_YAML,)) -> bool:
    """True when home's dagster.yaml is one orders-assets writes (never a user's own) from one of these
    templates: today's by default."""
    config = home / "dagster.yaml"
    if not config.exists():
        return False
    written = config.read_text()
    return any(written == template.format(home=home.resolve()) for template in templates)
