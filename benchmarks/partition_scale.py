"""Partition-scale mode of run_benchmark.py: the same rows at 4,000, 75,000 and 150,000 (date,
security) partitions, so that what grows with the partition count shows at fixed bytes.

    .venv/bin/python benchmarks/run_benchmark.py --partition-scale --rows 1000000 [--workdir bench-data]

Each shape is generated once (`orders-assets generate --seed 42`, kept in the workdir), then on a
fresh data folder and Dagster instance:
- `orders-assets run`: wall seconds, peak RSS (getrusage of the child, as run_benchmark.py does),
  the per-run split the command prints (engine and Dagster seconds, Dagster ms per partition),
  the files and bytes under <data>/orders and the size of the instance folder <data>/dagster_home;
- `dagster asset materialize` of one filtered_orders key (the middle date's first materialized
  security) and of `group:reports`, with the same DAGSTER_HOME, folders and event batching;
- dagster-webserver on 127.0.0.1 and the partitions page's status query of filtered_orders,
  cold (the first after start) and warm (the second).
With `--storage postgres` (or `both`) each shape's instance keeps its storage in a throwaway
PostgreSQL server on 127.0.0.1 (Debian's binaries, started and removed per shape, as the tests do;
`ORDERS_ASSETS_POSTGRES_URL`, the one setting `orders-assets run` reads), and its size is the
database's. `--shapes 20x200,250x300` picks shapes.
Every subprocess has a timeout; a failing step is recorded with its error and the others go on.
The figures go to <workdir>/partition-scale-<rows>.json and, as markdown, to stdout and
<workdir>/partition-scale-<rows>.md.
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from partition_scale_report import markdown
from run_benchmark import BIN, PEAK_WRAPPER, RUN_TIMING
from webserver_status import time_partition_status

REPOSITORY = Path(__file__).resolve().parents[1]
SQLITE, POSTGRES = "sqlite", "postgres"
POSTGRES_URL_ENV, POSTGRES_PASSWORD_ENV = "ORDERS_ASSETS_POSTGRES_URL", "ORDERS_ASSETS_POSTGRES_PASSWORD"
"""orders_assets/platform/instance.py's switch: set when the instance folder is created, its storage is there."""
SHAPES = ((20, 200), (250, 300), (500, 300))
"""(trade days, securities): 4,000, 75,000 and 150,000 partitions."""
ASSET = "filtered_orders"
REPORTS_SELECTION = "group:reports"
BATCHING_ENVIRONMENT = {"DAGSTER_EVENT_BATCH_SIZE": "1000", "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
"""What `orders-assets run` sets for itself (orders_assets/platform/instance.py) and the README exports for
the UI and `dagster asset materialize`; read there at import would need the project importable."""

PICK_KEY = r"""
import json, sys, dagster as dg
with dg.DagsterInstance.get() as instance:
    keys = sorted(instance.get_materialized_partitions(dg.AssetKey(sys.argv[1])))
dates = sorted({key.split("|")[0] for key in keys})
middle = dates[len(dates) // 2]
print(json.dumps({"key": next(key for key in keys if key.startswith(middle + "|")), "materialized": len(keys)}))
"""
"""The middle date's first security among the keys the instance records as materialized (Dagster's
key text, dimensions in name order: 'date|security')."""


class StepFailed(RuntimeError):
    """A subprocess of the benchmark failed or ran out of time; the message holds its output's tail."""


def bounded_child(command: list, env: dict, timeout: float, peak: bool = True) -> dict:
    """Wall seconds (and peak RSS bytes) of one command in its own process group, killed whole at `timeout`."""
    argv = [sys.executable, "-c", PEAK_WRAPPER, *map(str, command)] if peak else list(map(str, command))
    label = " ".join(Path(str(part)).name for part in command[:2])
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        stdout, stderr = child.communicate()
        raise StepFailed(f"{label} timed out after {timeout:.0f} s:\n{stderr[-3000:]}")
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise StepFailed(f"{label} exited with {child.returncode}:\n"
                         f"{stdout[-2000:]}\n{stderr[-4000:]}")
    figures = {"seconds": seconds, "stdout": stdout}
    if peak:
        figures["peak_rss"] = int(stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()[0]) * 1024
    return figures


def timings(figures: dict) -> dict:
    """A child's figures without its captured output."""
    return {name: value for name, value in figures.items() if name != "stdout"}


def step(result: dict, name: str, action) -> dict | None:
    """Run one measurement into result[name]; a failure is recorded as {'error': ...} and returns None."""
    print(f"  {name} ...", file=sys.stderr, flush=True)
    try:
        figures = action()
    except Exception as error:
        detail = str(error) if isinstance(error, StepFailed) else traceback.format_exc()
        result[name] = {"error": detail[-6000:]}
        print(f"  {name} FAILED: {detail[-1500:]}", file=sys.stderr, flush=True)
        return None
    result[name] = figures
    return figures


def run_split(stdout: str) -> dict:
    """The runs `orders-assets run` printed, summed per job: seconds, engine, Dagster, partitions, runs."""
    jobs: dict = {}
    for match in RUN_TIMING.finditer(stdout):
        job = jobs.setdefault(match["job"], {"seconds": 0.0, "engine": 0.0, "dagster": 0.0, "partitions": 0, "runs": 0})
        job["seconds"] += float(match["seconds"])
        job["engine"] += float(match["engine"])
        job["dagster"] += float(match["dagster"])
        job["partitions"] += int((match["partitions"] or "0").replace(",", ""))
        job["runs"] += 1
        job["failed"] = job.get("failed", False) or match.group(0).startswith("FAILED")
    return jobs


def folder_size(folder: Path) -> dict:
    """Files and bytes under `folder` (apparent size, and allocated like du)."""
    files = size = allocated = 0
    for root, _, names in os.walk(folder):
        for name in names:
            status = os.lstat(os.path.join(root, name))
            files += 1
            size += status.st_size
            allocated += status.st_blocks * 512
    return {"files": files, "bytes": size, "disk_bytes": allocated}


def clean_environment(home: Path, landing: Path, data: Path) -> dict:
    """The environment a user of the README sets: this instance and these folders, nothing inherited."""
    env = {key: value for key, value in os.environ.items()
           if key != "DAGSTER_HOME" and not key.startswith("ORDERS_ASSETS_") and key not in BATCHING_ENVIRONMENT}
    return {**env, **BATCHING_ENVIRONMENT, "DAGSTER_HOME": str(home),
            "ORDERS_ASSETS_LANDING": str(landing), "ORDERS_ASSETS_DATA": str(data)}


def generated_file(workdir: Path, rows: int, days: int, securities: int, env: dict, timeout: float) -> Path:
    """The shape's CSV, generated once per (rows, days, securities) and reused by later runs."""
    landing = workdir / f"landing-{rows}-{days}x{securities}"
    if not (landing / "orders.csv").exists():
        partial = landing.with_name(landing.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        bounded_child([BIN / "orders-assets", "generate", "--rows", rows, "--days", days, "--securities", securities,
                       "--seed", "42", "--out", partial / "orders.csv"], env, timeout, peak=False)
        shutil.rmtree(landing, ignore_errors=True)
        partial.rename(landing)
    return landing / "orders.csv"


def measure_shape(workdir: Path, rows: int, days: int, securities: int, timeout: float,
                  storage: str = SQLITE) -> dict:
    """One shape on a fresh data folder and instance: SQLite in the instance folder, or a throwaway
    PostgreSQL server on 127.0.0.1 (started and removed here) that the instance's storage is in."""
    if storage == POSTGRES:
        with throwaway_postgres() as server:
            environment = {POSTGRES_URL_ENV: server.url, POSTGRES_PASSWORD_ENV: server.password}
            result = _measure_shape(workdir, rows, days, securities, timeout, storage, environment)
            result["instance_database_bytes"] = database_bytes(server)
            return result
    return _measure_shape(workdir, rows, days, securities, timeout, storage, {})


@contextlib.contextmanager
def throwaway_postgres():
    """The tests' own throwaway server (orders_assets_tests/support/postgres_server.py), which says
    how to install Debian's binaries where they are missing."""
    sys.path.insert(0, str(REPOSITORY))
    from orders_assets_tests.support.postgres_server import PostgresUnavailable, running_postgres, server_binaries

    binaries = server_binaries()
    if binaries is None:
        raise PostgresUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql")
    with running_postgres(binaries) as server:
        yield server


def database_bytes(server) -> int:
    """The size of the server's Dagster database (run, event and schedule storage) after the shape's steps."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(host=server.host, port=server.port, user=server.username,
                                             password=server.password, dbname=server.database)) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])


def _measure_shape(workdir: Path, rows: int, days: int, securities: int, timeout: float, storage: str,
                   storage_environment: dict) -> dict:
    suffix = "" if storage == SQLITE else f"-{storage}"
    data = (workdir / f"data-{rows}-{days}x{securities}{suffix}").resolve()
    home = data / "dagster_home"
    result: dict = {"days": days, "securities": securities, "keys": days * securities, "rows": rows,
                    "storage": storage, "cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    landing = workdir.resolve() / f"landing-{rows}-{days}x{securities}"
    env = {**clean_environment(home, landing, data), **storage_environment}
    source = step(result, "generate", lambda: {"path": str(generated_file(workdir, rows, days, securities, env,
                                                                          timeout))})
    if source is None:
        return result
    result["source_bytes"] = Path(source["path"]).stat().st_size
    shutil.rmtree(data, ignore_errors=True)

    def full_run() -> dict:
        figures = bounded_child([BIN / "orders-assets", "run", "--landing", landing, "--data", data], env, timeout)
        figures["jobs"] = run_split(figures.pop("stdout"))
        figures["orders"] = folder_size(data / "orders")
        figures["instance"] = folder_size(home)
        return figures

    if step(result, "run", full_run) is None:
        return result
    key = step(result, "key", lambda: json.loads(
        bounded_child([sys.executable, "-c", PICK_KEY, ASSET], env, timeout, peak=False)["stdout"]))
    materialize = [BIN / "dagster", "asset", "materialize", "-m", "orders_assets.glue.definitions"]
    if key is not None:
        step(result, "one_key", lambda: {**timings(bounded_child([*materialize, "--select", ASSET, "--partition",
                                                                  key["key"]], env, timeout)),
                                         "partition": key["key"]})
    step(result, "reports", lambda: timings(bounded_child([*materialize, "--select", REPORTS_SELECTION], env, timeout)))
    step(result, "ui_status", lambda: time_partition_status(
        BIN / "dagster-webserver", REPOSITORY / "workspace.yaml", env, ASSET,
        workdir.resolve() / f"webserver-{rows}-{days}x{securities}{suffix}.log", ready_timeout=min(timeout, 600),
        query_timeout=timeout))
    return result


def stop_on_terminate(signum, frame):
    """SIGTERM as SystemExit, so that the child running at that moment and the webserver are stopped too."""
    raise SystemExit(128 + signum)


def run_partition_scale(workdir: Path, rows: int, timeout: float, shapes=SHAPES, json_path: Path | None = None,
                        storages=(SQLITE,)) -> list:
    signal.signal(signal.SIGTERM, stop_on_terminate)
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for storage in storages:
        for days, securities in shapes:
            print(f"{rows:,} rows at {days} days x {securities} securities ({days * securities:,} partitions), "
                  f"{storage}", file=sys.stderr, flush=True)
            results.append(measure_shape(workdir, rows, days, securities, timeout, storage))
            write_outputs(workdir, rows, results, json_path)
    text = markdown(results)
    print(text)
    return results


def write_outputs(workdir: Path, rows: int, results: list, json_path: Path | None) -> None:
    """The figures so far, rewritten after each shape so a later failure keeps the earlier ones."""
    document = json.dumps({"rows": rows, "shapes": results}, indent=1, default=str) + "\n"
    (workdir / f"partition-scale-{rows}.json").write_text(document)
    if json_path:
        json_path.write_text(document)
    (workdir / f"partition-scale-{rows}.md").write_text(markdown(results))
