"""End-to-end benchmark: raw file -> every partition -> every report, through Dagster, against DuckDB.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/run_benchmark.py --rows 1000000 [--rows 3000000] [--workdir bench-data]

For each size it generates (or reuses) a CSV with the project's generator, then in the same run:
- `orders-assets run` as a subprocess on a fresh data folder and Dagster instance (wall time, peak RSS);
- the same command again with nothing new (the no-op rerun);
- DuckDB answering the same reports in one SQL query over the same file (wall time, peak RSS);
and prints MB/s, rows/s, peak RSS and the ratio of throughputs. Peak RSS is the child process's
maximum resident set (getrusage), so each measurement runs in its own process.
"""
import argparse
import json
import resource
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


def ensure_file(workdir: Path, rows: int, days: int, securities: int) -> Path:
    landing = workdir / f"landing-{rows}"
    path = landing / "orders.csv"
    if not path.exists():
        landing.mkdir(parents=True, exist_ok=True)
        subprocess.run([BIN / "orders-assets", "generate", "--rows", str(rows), "--days", str(days),
                        "--securities", str(securities), "--seed", "42", "--out", str(path)], check=True)
    return path


def measure(workdir: Path, rows: int, days: int, securities: int) -> dict:
    source = ensure_file(workdir, rows, days, securities)
    data = workdir / f"data-{rows}"
    shutil.rmtree(data, ignore_errors=True)
    size = source.stat().st_size
    run = [BIN / "orders-assets", "run", "--landing", source.parent, "--data", data]
    seconds, peak, _ = timed_child(run)
    noop_seconds, _, noop = timed_child(run)
    duck_seconds, duck_peak, _ = timed_child([sys.executable, "-c", DUCKDB_SCRIPT, source])
    summary = json.loads((data / "reports" / "summary.json").read_text())
    return {
        "rows": rows, "bytes": size, "seconds": seconds, "peak_rss": peak, "noop_seconds": noop_seconds,
        "noop_did_nothing": "nothing new" in noop.stdout, "partitions": summary["partitions"],
        "duckdb_seconds": duck_seconds, "duckdb_peak_rss": duck_peak,
    }


def print_table(results: list[dict]) -> None:
    header = (f"{'rows':>11} {'MB':>7} {'s':>7} {'MB/s':>7} {'rows/s':>10} {'peak MiB':>9} {'partitions':>10} "
              f"{'no-op s':>8} {'duckdb s':>9} {'duck MB/s':>9} {'duck MiB':>9} {'ratio':>6}")
    print(header)
    for r in results:
        mb = r["bytes"] / 1e6
        print(f"{r['rows']:>11,} {mb:>7.0f} {r['seconds']:>7.1f} {mb / r['seconds']:>7.1f} "
              f"{r['rows'] / r['seconds']:>10,.0f} {r['peak_rss'] / 2**20:>9.0f} {r['partitions']:>10,} "
              f"{r['noop_seconds']:>8.2f} {r['duckdb_seconds']:>9.1f} {mb / r['duckdb_seconds']:>9.1f} "
              f"{r['duckdb_peak_rss'] / 2**20:>9.0f} {r['duckdb_seconds'] / r['seconds']:>6.2f}")
    if len(results) > 1:
        print(f"peak RSS at {results[-1]['rows']:,} / at {results[0]['rows']:,} rows: "
              f"{results[-1]['peak_rss'] / results[0]['peak_rss']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows per file; repeat for a scaling curve")
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--securities", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    results = [measure(args.workdir, rows, args.days, args.securities) for rows in (args.rows or [1_000_000])]
    print_table(results)


if __name__ == "__main__":
    main()
