"""End-to-end benchmark: raw file -> every partition -> every report, through Dagster, against DuckDB.

    .venv/bin/pip install -e '.[bench]'      # DuckDB and Polars, the peers
    .venv/bin/python benchmarks/run_benchmark.py --rows 1000000 [--rows 3000000] [--workdir bench-data]

For each size it generates (or reuses) a CSV with the project's generator, then in the same run:
- `orders-assets run` as a subprocess on a fresh data folder and Dagster instance (wall time, peak
  RSS, and the split the command prints: ingest, assembly, reports, Dagster's share per partition);
- the same command again with nothing new (the no-op rerun);
- `dagster asset materialize` of the largest (date, security) partition alone: wall time and the
  bytes the step read (the asset's `bytes_read` metadata) as a share of the source file;
- the same command with the exact path alone (ORDERS_ASSETS_ENGINE=exact), for the compiled pass's speed-up;
- the compiled pass's first call in a fresh process, with an empty Numba cache and then from the cache;
- DuckDB answering the same reports in one SQL query over the same file (wall time, peak RSS),
- Polars' streaming engine answering them over the same file (wall time, peak RSS), and
  DuckDB writing the filtered order set to one Parquet folder per (date, security) (the second peer);
and prints MB/s, rows/s, peak RSS and the ratio of throughputs. Peak RSS is the child process's
maximum resident set (getrusage), so each measurement runs in its own process. With two sizes
(e.g. --rows N --rows 3N) it also prints the ratio of peak RSS.

With --partition-scale it measures instead the same rows at 4,000, 75,000 and 150,000 (date,
security) partitions: see benchmarks/partition_scale.py.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent

DUCKDB_SCRIPT = r"""
import sys, duckdb
path = sys.argv[1]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")  # its bar would mix with the figures on stdout
con.execute("SET TimeZone = 'Australia/Sydney'")
rows = con.execute(f'''
WITH raw AS (
  SELECT * FROM read_csv('{path}', header=true, all_varchar=true, ignore_errors=true)
), typed AS (
  SELECT security_code, participant_id,
         TRY_CAST(timestamp AS TIMESTAMP) AS ts,
         TRY_CAST(price AS DECIMAL(18,4)) AS price, TRY_CAST(quantity AS BIGINT) AS quantity, order_type
  FROM raw
), kept AS (
  SELECT security_code, participant_id, CAST(ts AS DATE) AS trade_date, hour(ts) AS hour,
         quantity, price * quantity AS value
  FROM typed
  WHERE order_type IN ('CENTRE_POINT', 'CENTRE_POINT_BLOCK') AND price >= 0 AND quantity > 0
    AND CAST(ts AS TIME) >= TIME '10:00:00' AND CAST(ts AS TIME) < TIME '16:00:00'
)
SELECT trade_date, security_code, participant_id, hour,
       CASE WHEN value < 10000 THEN 0 WHEN value < 50000 THEN 1 WHEN value < 200000 THEN 2
            WHEN value < 1000000 THEN 3 ELSE 4 END AS bucket,
       count(*) AS orders, sum(quantity) AS quantity, sum(value) AS value
FROM kept GROUP BY GROUPING SETS ((trade_date, security_code, participant_id), (trade_date, security_code, hour),
                                  (trade_date, security_code, bucket))
''').fetchall()
print(len(rows))
"""

POLARS_SCRIPT = r"""
import sys
from datetime import time
import polars as pl
path = sys.argv[1]
raw = pl.scan_csv(path, infer_schema=False)
ts = pl.col("timestamp").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False)
typed = raw.select(
    "security_code", "participant_id", "order_type", ts.alias("ts"),
    pl.col("price").cast(pl.Decimal(18, 4), strict=False).alias("price"),
    pl.col("quantity").cast(pl.Int64, strict=False).alias("quantity"))
kept = typed.filter(
    pl.col("order_type").is_in(["CENTRE_POINT", "CENTRE_POINT_BLOCK"]) & (pl.col("price") >= 0)
    & (pl.col("quantity") > 0) & (pl.col("ts").dt.time() >= time(10)) & (pl.col("ts").dt.time() < time(16))
).select("security_code", "participant_id", pl.col("ts").dt.date().alias("trade_date"),
         pl.col("ts").dt.hour().alias("hour"), "quantity", (pl.col("price") * pl.col("quantity")).alias("value"))
value = pl.col("value")
bucket = (pl.when(value < 10000).then(0).when(value < 50000).then(1).when(value < 200000).then(2)
          .when(value < 1000000).then(3).otherwise(4)).alias("bucket")
metrics = [pl.len().alias("orders"), pl.col("quantity").sum(), pl.col("value").sum()]
groupings = [kept.group_by("trade_date", "security_code", keys).agg(metrics)
             for keys in ("participant_id", "hour", bucket)]
frames = pl.collect_all(groupings, engine="streaming")
print(sum(frame.height for frame in frames))
"""
"""The third peer: Polars' streaming engine answering the same three groupings over the same file
(text columns, then casts whose failures drop the row, as DuckDB's TRY_CAST does)."""

DUCKDB_PARTITIONED_SCRIPT = r"""
import sys, shutil, duckdb
path, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")  # its bar would mix with the figures on stdout
con.execute("SET TimeZone = 'Australia/Sydney'")
con.execute(f'''
COPY (
  WITH typed AS (
    SELECT * REPLACE (TRY_CAST(timestamp AS TIMESTAMP) AS timestamp, TRY_CAST(price AS DECIMAL(18,4)) AS price,
                      TRY_CAST(quantity AS BIGINT) AS quantity)
    FROM read_csv('{path}', header=true, all_varchar=true, ignore_errors=true)
  )
  SELECT *, CAST(timestamp AS DATE) AS trade_date FROM typed
  WHERE order_type IN ('CENTRE_POINT', 'CENTRE_POINT_BLOCK') AND price >= 0 AND quantity > 0
    AND CAST(timestamp AS TIME) >= TIME '10:00:00' AND CAST(timestamp AS TIME) < TIME '16:00:00'
) TO '{out}' (FORMAT parquet, PARTITION_BY (trade_date, security_code))
''')
shutil.rmtree(out)
"""
"""The second peer: DuckDB writing the same filtered order set as one Parquet folder per partition
(the work orders_assets does before its reports), without the reports."""


PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def timed_child(command: list) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (bytes) of one command, measured by a parent of its own."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *map(str, command)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    peak_kib = int(result.stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    return seconds, peak_kib * 1024, result


def ensure_file(workdir: Path, rows: int, days: int, securities: int, bad_rows: float) -> Path:
    landing = workdir / (f"landing-{rows}" + (f"-bad{bad_rows:g}" if bad_rows else ""))
    path = landing / "orders.csv"
    if not path.exists():
        landing.mkdir(parents=True, exist_ok=True)
        subprocess.run([BIN / "orders-assets", "generate", "--rows", str(rows), "--days", str(days),
                        "--securities", str(securities), "--seed", "42", "--bad-rows", str(bad_rows),
                        "--out", str(path)], check=True)
    return path


RUN_TIMING = re.compile(
    r"^(?:ok|FAILED)\s+(?P<job>\w+).*\n\s+(?P<seconds>[\d.]+) s: engine (?P<engine>[\d.]+) s, "
    r"Dagster (?P<dagster>[\d.]+) s(?: for (?P<partitions>[\d,]+) partitions?)?",
    re.MULTILINE,
)

READ_CALL = re.compile(r"^(?P<pid>\d+)\s+(?:p?readv?|pread64)\((?P<fd>\d+)<(?P<path>[^>]*)>,(?P<rest>.*)$")
RESUMED = re.compile(r"^(?P<pid>\d+)\s+<\.\.\. (?:p?readv?|pread64) resumed>.*=\s+(?P<bytes>\d+)")
RETURNED = re.compile(r"=\s+(?P<bytes>\d+)$")


def bytes_read_by_file(trace: Path) -> dict[str, int]:
    """Bytes returned by read calls per file, from `strace -f -y` output (threads interleave calls)."""
    totals: dict[str, int] = {}
    unfinished: dict[str, str] = {}
    for line in trace.read_text(errors="replace").splitlines():
        call = READ_CALL.match(line)
        if call:
            if call["rest"].endswith("<unfinished ...>"):
                unfinished[call["pid"]] = call["path"]
                continue
            returned = RETURNED.search(call["rest"])
            if returned:
                totals[call["path"]] = totals.get(call["path"], 0) + int(returned["bytes"])
            continue
        resumed = RESUMED.match(line)
        if resumed and resumed["pid"] in unfinished:
            path = unfinished.pop(resumed["pid"])
            totals[path] = totals.get(path, 0) + int(resumed["bytes"])
    return totals


def run_timings(stdout: str) -> dict:
    """Per job of `orders-assets run`: (seconds, engine seconds, Dagster seconds, partitions)."""
    return {
        match["job"]: (float(match["seconds"]), float(match["engine"]), float(match["dagster"]),
                       int((match["partitions"] or "0").replace(",", "")))
        for match in RUN_TIMING.finditer(stdout)
    }


def largest_partition(data: Path) -> str:
    from orders_assets.core.store.order_store import OrderStore

    catalog = OrderStore(data).catalog()
    return max(catalog.values(), key=lambda entry: entry.rows).key.text


def rematerialize_one(source: Path, data: Path) -> dict:
    """Materialize the largest partition alone with `dagster asset materialize`, as a user would.

    Timed once plainly, then once under strace, which counts the bytes every process of the
    command read from each file: from the source, from the data folder (staged slices, manifests,
    catalog, aggregates) and from the Dagster instance.
    """
    partition = largest_partition(data)
    home, data = (data / "dagster_home").resolve(), data.resolve()
    env = {**os.environ, "DAGSTER_HOME": str(home), "ORDERS_ASSETS_LANDING": str(source.parent.resolve()),
           "ORDERS_ASSETS_DATA": str(data)}
    command = [BIN / "dagster", "asset", "materialize", "-m", "orders_assets.glue.definitions",
               "--select", "filtered_orders", "--partition", partition]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    figures = {"partition": partition, "seconds": seconds}
    if shutil.which("strace"):
        trace = data.parent / f"strace-{data.name}.txt"
        subprocess.run(["strace", "-f", "-qq", "-y", "-e", "trace=read,pread64,readv,preadv", "-e", "signal=none",
                        "-o", trace, *command], env=env, check=True, capture_output=True)
        per_file = bytes_read_by_file(trace)
        trace.unlink()
        figures["source_bytes_read"] = sum(n for path, n in per_file.items() if path == str(source.resolve()))
        figures["instance_bytes_read"] = sum(n for path, n in per_file.items() if path.startswith(str(home)))
        figures["data_bytes_read"] = sum(n for path, n in per_file.items()
                                         if path.startswith(str(data)) and not path.startswith(str(home)))
    return figures


COMPILE_SCRIPT = r"""
import pathlib, sys, tempfile, time
from orders_assets.core.ingest.blocks import header_parser
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read import compiled_block
from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.read.reader import RawBlock
from orders_assets.core.read.sources import discover_sources
folder = pathlib.Path(tempfile.mkdtemp())
row = b"1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,1\n"
(folder / "orders.csv").write_bytes(b"order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n" + row)
[source] = discover_sources(folder)
plan = compiled_block.compiled_plan(header_parser(source, IngestSettings()), OrderFilter(), 0)
started = time.perf_counter()
rows = compiled_block.read_block(RawBlock(data=row, first_line=2, offset=0, lines=1), plan, None)
assert rows.kept.num_rows == 1
from decimal import Decimal
import pyarrow as pa
from orders_assets.core.assemble.aggregate import partial_aggregates
from orders_assets.core import schema
staged = pa.table({"trade_date": pa.array([20150], pa.date32()), "security_code": ["BHP"], "participant_id": ["P1"],
                   "hour": pa.array([10], pa.int8()), "price": pa.array([Decimal("1.5")], pa.decimal128(18, 4)),
                   "quantity": pa.array([1], pa.int64())})
assert partial_aggregates(staged, schema.DEFAULT_SIZE_EDGES).num_rows == 3
print("COMPILE_SECONDS", time.perf_counter() - started)
"""
"""The compiled passes' first calls in a fresh process (the ingest's and the partial aggregates'):
their machine code compiled (an empty cache), or loaded from the cache a previous process wrote."""


def compile_seconds(workdir: Path) -> tuple[float, float]:
    """(first call with an empty Numba cache, then with the cache that call wrote), each in a fresh process."""
    cache = workdir / "numba-cache"
    shutil.rmtree(cache, ignore_errors=True)
    figures = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], capture_output=True, text=True, check=True,
                                env={**os.environ, "NUMBA_CACHE_DIR": str(cache)})
        figures.append(float(result.stdout.split("COMPILE_SECONDS")[1].split()[0]))
    return figures[0], figures[1]


def warm_page_cache(source: Path) -> None:
    """Read the file once, untimed, so that every tool reads it from the page cache (a file
    generated long before, or pushed out by the other files, is otherwise read from the disk by
    the first tool alone)."""
    with open(source, "rb") as file:
        while file.read(64 << 20):
            pass


def measure(workdir: Path, rows: int, days: int, securities: int, bad_rows: float = 0.0) -> dict:
    source = ensure_file(workdir, rows, days, securities, bad_rows)
    data = workdir / source.parent.name.replace("landing", "data", 1)
    shutil.rmtree(data, ignore_errors=True)
    size = source.stat().st_size
    warm_page_cache(source)
    run = [BIN / "orders-assets", "run", "--landing", source.parent, "--data", data]
    seconds, peak, first = timed_child(run)
    noop_seconds, _, noop = timed_child(run)
    exact_data = workdir / f"{data.name}-exact"
    shutil.rmtree(exact_data, ignore_errors=True)
    os.environ["ORDERS_ASSETS_ENGINE"] = "exact"
    try:
        exact_seconds, exact_peak, exact = timed_child([BIN / "orders-assets", "run", "--landing", source.parent,
                                                        "--data", exact_data])
    finally:
        del os.environ["ORDERS_ASSETS_ENGINE"]
    shutil.rmtree(exact_data, ignore_errors=True)
    one = rematerialize_one(source, data)
    duck_seconds, duck_peak, duck = timed_child([sys.executable, "-c", DUCKDB_SCRIPT, source])
    polars_seconds, polars_peak, polars = timed_child([sys.executable, "-c", POLARS_SCRIPT, source])
    if duck.stdout.split() != polars.stdout.split():
        disagreement = f"the peers disagree: DuckDB {duck.stdout.strip()} groups, Polars {polars.stdout.strip()}"
        if not bad_rows:
            raise RuntimeError(disagreement)
        # malformed rows: each reader skips, nulls or misreads some of them its own way (../shared/engine-notes.md)
        print(f"note: {disagreement} (the file has malformed rows)", file=sys.stderr)
    split_seconds, split_peak, _ = timed_child([sys.executable, "-c", DUCKDB_PARTITIONED_SCRIPT, source,
                                                workdir / f"duckdb-partitions-{rows}"])
    summary = json.loads((data / "reports" / "summary.json").read_text())
    return {
        "rows": rows, "bytes": size, "seconds": seconds, "peak_rss": peak, "noop_seconds": noop_seconds,
        "noop_did_nothing": "nothing new" in noop.stdout, "partitions": summary["partitions"],
        "duckdb_seconds": duck_seconds, "duckdb_peak_rss": duck_peak,
        "polars_seconds": polars_seconds, "polars_peak_rss": polars_peak,
        "duckdb_partitioned_seconds": split_seconds, "duckdb_partitioned_peak_rss": split_peak, "runs": run_timings(first.stdout),
        "one_partition": one, "exact_seconds": exact_seconds, "exact_peak_rss": exact_peak,
        "exact_runs": run_timings(exact.stdout),
        "rows_read_compiled": summary.get("rows_read_compiled"), "rows_read_exact": summary.get("rows_read_exact"),
    }


def print_table(results: list[dict]) -> None:
    header = (f"{'rows':>11} {'MB':>7} {'s':>7} {'MB/s':>7} {'rows/s':>10} {'peak MiB':>9} {'partitions':>10} "
              f"{'no-op s':>8} {'duckdb s':>9} {'duck MB/s':>9} {'duck MiB':>9} {'ratio':>6} "
              f"{'polars s':>9} {'pl MB/s':>8} {'pl MiB':>7} {'ratio':>6}")
    print(header)
    for r in results:
        mb = r["bytes"] / 1e6
        print(f"{r['rows']:>11,} {mb:>7.0f} {r['seconds']:>7.1f} {mb / r['seconds']:>7.1f} "
              f"{r['rows'] / r['seconds']:>10,.0f} {r['peak_rss'] / 2**20:>9.0f} {r['partitions']:>10,} "
              f"{r['noop_seconds']:>8.2f} {r['duckdb_seconds']:>9.1f} {mb / r['duckdb_seconds']:>9.1f} "
              f"{r['duckdb_peak_rss'] / 2**20:>9.0f} {r['duckdb_seconds'] / r['seconds']:>6.2f} "
              f"{r['polars_seconds']:>9.1f} {mb / r['polars_seconds']:>8.1f} {r['polars_peak_rss'] / 2**20:>7.0f} "
              f"{r['polars_seconds'] / r['seconds']:>6.2f}")
    print()
    print(f"{'rows':>11} {'ingest s':>9} {'ingest MB/s':>11} {'assembly s':>10} {'reports s':>9} "
          f"{'Dagster ms/partition':>20} {'one partition':>22} {'s':>5} {'data read':>11} {'of source':>9} "
          f"{'source read':>11} {'instance read':>13}")
    for r in results:
        ingest, assembly, reports = (r["runs"][job] for job in
                                     ("ingest_order_files", "assemble_order_partitions", "build_reports"))
        one = r["one_partition"]
        print(f"{r['rows']:>11,} {ingest[0]:>9.1f} {r['bytes'] / 1e6 / ingest[1]:>11.1f} {assembly[0]:>10.1f} "
              f"{reports[0]:>9.1f} {1000 * assembly[2] / assembly[3]:>20.2f} {one['partition']:>22} "
              f"{one['seconds']:>5.1f} {one.get('data_bytes_read', -1):>11,} "
              f"{one.get('data_bytes_read', 0) / r['bytes']:>9.2%} {one.get('source_bytes_read', -1):>11,} "
              f"{one.get('instance_bytes_read', -1):>13,}")
    print()
    print(f"{'rows':>11} {'DuckDB to partitioned Parquet s':>31} {'MB/s':>7} {'peak MiB':>9} {'ratio':>6}")
    for r in results:
        mb = r["bytes"] / 1e6
        print(f"{r['rows']:>11,} {r['duckdb_partitioned_seconds']:>31.1f} {mb / r['duckdb_partitioned_seconds']:>7.1f} "
              f"{r['duckdb_partitioned_peak_rss'] / 2**20:>9.0f} {r['duckdb_partitioned_seconds'] / r['seconds']:>6.2f}")
    print()
    print(f"{'rows':>11} {'ingest engine: compiled s':>25} {'MB/s':>7} {'exact s':>8} {'MB/s':>7} {'speed-up':>8} "
          f"{'partition engine s':>18} {'exact run s':>11} {'compiled rows':>13} {'exact rows':>10}")
    for r in results:
        mb = r["bytes"] / 1e6
        ours, theirs = r["runs"]["ingest_order_files"][1], r["exact_runs"]["ingest_order_files"][1]
        print(f"{r['rows']:>11,} {ours:>25.1f} {mb / ours:>7.0f} {theirs:>8.1f} {mb / theirs:>7.0f} "
              f"{theirs / ours:>8.2f} {r['runs']['assemble_order_partitions'][1]:>18.1f} {r['exact_seconds']:>11.1f} "
              f"{r['rows_read_compiled'] or 0:>13,} {r['rows_read_exact'] or 0:>10,}")
    if len(results) > 1:
        print()
        print(f"peak RSS at {results[-1]['rows']:,} / at {results[0]['rows']:,} rows: "
              f"{results[-1]['peak_rss'] / results[0]['peak_rss']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows per file; repeat for a scaling curve")
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--securities", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--bad-rows", type=float, default=0.0,
                        help="fraction of malformed rows in the generated file (messy exports)")
    parser.add_argument("--partition-scale", action="store_true",
                        help="the same rows at 4,000, 75,000 and 150,000 partitions (benchmarks/partition_scale.py); "
                             "--days and --securities do not apply")
    parser.add_argument("--storage", choices=("sqlite", "postgres", "both"), default="sqlite",
                        help="--partition-scale: the Dagster instance's storage (postgres: a throwaway server on "
                             "127.0.0.1 from Debian's binaries, started and removed per shape)")
    parser.add_argument("--shapes", default=None,
                        help="--partition-scale: DAYSxSECURITIES,... instead of 20x200,250x300,500x300")
    parser.add_argument("--step-timeout", type=float, default=3600,
                        help="seconds any one subprocess of --partition-scale may take")
    args = parser.parse_args()
    if args.partition_scale:
        from partition_scale import SHAPES, run_partition_scale

        storages = ("sqlite", "postgres") if args.storage == "both" else (args.storage,)
        shapes = SHAPES if not args.shapes else tuple(tuple(int(number) for number in shape.split("x"))
                                                      for shape in args.shapes.split(","))
        for rows in args.rows or [1_000_000]:
            run_partition_scale(args.workdir, rows, args.step_timeout, shapes, json_path=args.json, storages=storages)
        return
    first_call, cached_call = compile_seconds(args.workdir)
    results = [measure(args.workdir, rows, args.days, args.securities, args.bad_rows)
               for rows in (args.rows or [1_000_000])]
    print_table(results)
    print(f"\nthe compiled pass's first call in a fresh process: {first_call:.2f} s with an empty cache "
          f"(compiling), {cached_call:.2f} s from the cache")
    for result in results:
        result["compile_seconds"], result["cached_compile_seconds"] = first_call, cached_call
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
