"""Where the ingest's time goes, and what the candidate readers of issue 20 do with the same file.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/ingest_candidates.py FILE.csv [--repeat 2]

Each measurement runs in its own process, one after another, on the same file (MB/s of the file's
bytes over the work's own time, imports left out, best of --repeat). A run with N threads is also
pinned to N cores (sched_setaffinity), so "1 thread" is one core in all, the reading, hashing and
staging threads included, and the speed-up column is what a second core gives:
- orders-assets' ingest engine (core/ingest/source.ingest_source: parse, validate, filter, stage,
  manifest) with 1 and 2 workers, so the speed-up from 1 to 2 cores shows;
- Arrow's CSV reader to text columns (the engine's first stage), 1 and 2 threads;
- Polars' CSV reader to text columns, 1 and 2 threads, and with strict=False casts to the typed
  columns (the nulls a failed cast leaves mark the rows the contract's grammar must look at);
- DuckDB's reader streaming text columns as Arrow batches, with its rejects table (store_rejects:
  line, column and raw line of each row of the wrong field count); counting rows alone (count(*))
  stores no rejects, so every column is read, as an engine would.
Candidates read the whole file; they do none of the contract's row rules, so they bound from above
what an engine built on them could reach.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

ENGINE = r"""
import sys, tempfile, time
from orders_assets.core.ingest.source import ChunkedSource, IngestSettings, ingest_source
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from pathlib import Path
path, workers = Path(sys.argv[1]), int(sys.argv[2])
source = next(found for found in discover_sources(path.parent) if found.path.name == path.name)
with tempfile.TemporaryDirectory() as data:
    started = time.perf_counter()
    manifest = ingest_source(ChunkedSource(source, IngestSettings(workers=workers)), OrderStore(data))
    print("SECONDS", time.perf_counter() - started)
print(manifest.rows_read, manifest.rows_rejected)
"""

ARROW_TEXT = r"""
import sys, time, pyarrow as pa, pyarrow.csv as pacsv
path, threads = sys.argv[1], int(sys.argv[2])
pa.set_cpu_count(threads)
started = time.perf_counter()
names = open(path).readline().strip().split(",")
table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=threads > 1, block_size=16 << 20),
                       convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in names}))
print("SECONDS", time.perf_counter() - started)
print(table.num_rows)
"""

POLARS_TEXT = r"""
import os, sys, time
os.environ["POLARS_MAX_THREADS"] = sys.argv[2]
import polars as pl
started = time.perf_counter()
frame = pl.read_csv(sys.argv[1], infer_schema=False)
print("SECONDS", time.perf_counter() - started)
print(frame.height)
"""

POLARS_TYPED = r"""
import os, sys, time
os.environ["POLARS_MAX_THREADS"] = sys.argv[2]
import polars as pl
started = time.perf_counter()
frame = pl.read_csv(sys.argv[1], infer_schema=False).with_columns(
    pl.col("timestamp").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False),
    pl.col("price").cast(pl.Decimal(18, 4), strict=False), pl.col("quantity").cast(pl.Int64, strict=False))
print("SECONDS", time.perf_counter() - started)
print(frame.height, frame.null_count().sum_horizontal().item())
"""

DUCKDB_REJECTS = r"""
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")  # its bar would mix with the figures on stdout
con.execute(f"SET threads = {int(sys.argv[2])}")
started = time.perf_counter()
reader = con.execute(f"SELECT * FROM read_csv('{sys.argv[1]}', header=true, all_varchar=true, store_rejects=true)"
                     ).to_arrow_reader(1 << 17)
rows = sum(batch.num_rows for batch in reader)  # text columns as Arrow batches: what an engine would take
print("SECONDS", time.perf_counter() - started)
print(rows, con.execute("SELECT count(*) FROM reject_errors").fetchone()[0])
"""

CANDIDATES = [
    ("orders-assets ingest engine", ENGINE),
    ("Arrow CSV to text", ARROW_TEXT),
    ("Polars CSV to text", POLARS_TEXT),
    ("Polars CSV, strict=False casts", POLARS_TYPED),
    ("DuckDB read_csv to Arrow, rejects", DUCKDB_REJECTS),
]


def pin_to_cores(count: int) -> None:
    """Run the process on the first `count` cores this process may use (Linux)."""
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cores[:count]))


def best_seconds(script: str, path: Path, threads: int, repeat: int) -> tuple[float, str]:
    """The best of `repeat` processes' own timing of the work (imports and start-up left out)."""
    best, output = float("inf"), ""
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", script, str(path), str(threads)], capture_output=True,
                              text=True, check=True, preexec_fn=lambda: pin_to_cores(threads))
        timing, _, output = done.stdout.partition("\n")
        best = min(best, float(timing.split()[1]))
    return best, output.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default="", help="run only the candidates whose name contains this")
    args = parser.parse_args()
    megabytes = args.file.stat().st_size / 1e6
    print(f"{args.file} ({megabytes:,.0f} MB), a process each, its work timed in it, best of {args.repeat}")
    print(f"{'':32} {'1 core MB/s':>13} {'2 cores MB/s':>14} {'speed-up':>8}  output")
    for name, script in CANDIDATES:
        if args.only.lower() not in name.lower():
            continue
        try:
            one, _ = best_seconds(script, args.file, 1, args.repeat)
            two, output = best_seconds(script, args.file, 2, args.repeat)
        except subprocess.CalledProcessError as error:  # a reader that cannot take the file (malformed rows)
            print(f"{name:32} {'fails':>13} {'':>14} {'':>8}  {error.stderr.strip().splitlines()[-1][:90]}")
            continue
        print(f"{name:32} {megabytes / one:>13.0f} {megabytes / two:>14.0f} {one / two:>8.2f}  {output}")


if __name__ == "__main__":
    main()
