"""What finding and resolving overlapping files costs the assembly (issue 23).

    .venv/bin/python benchmarks/overlap_benchmark.py [--rows 4000000] [--days 20] [--securities 200] [--repeat 3]

Generates one file (the days x securities given) and a full re-send of it under another name
(every row in both: the worst case, where every partition has two files), ingests both once, then
times `assemble_partitions` over every partition, from a fresh catalog each time, for:
- the file alone (the baseline: no partition has two files, so the detection costs nothing);
- both files under union (the detection over every row of both, nothing removed);
- both under latest_per_date (the detection, then one file's rows written);
- both under dedup on order_id, timestamp (the detection, then the later copies dropped).
It prints the median seconds, staged rows per second, the ratio of each to the same rows assembled
without overlap (both files are 2x the rows: that cost is estimated as twice the baseline), the
peak RSS of the process that assembled (each case in a process of its own), and checks the
accounting identity of each.
"""
import argparse
import multiprocessing
import shutil
import statistics
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions  # noqa: E402
from orders_assets.core.assemble.overlap import catalog_overlaps  # noqa: E402
from orders_assets.core.generate import generate_orders, generate_resend  # noqa: E402
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources  # noqa: E402
from orders_assets.core.store.order_store import OrderStore  # noqa: E402
from orders_assets.core.store.overlap_rule import OverlapRule  # noqa: E402


def ingested(folder: Path, files: list[Path]) -> Path:
    """A data folder with these files ingested (not assembled)."""
    landing, data = folder / "landing", folder / "data"
    landing.mkdir(parents=True)
    for path in files:
        shutil.copy(path, landing / path.name)
    store = OrderStore(data)
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    return data


def timed_assembly(data: Path, rule: OverlapRule, repeat: int) -> tuple[float, int, object, float]:
    """In a process of its own: median seconds of assembling every partition from scratch, the rows
    in them, the overlaps, and the process's peak RSS in MiB."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_timed_assembly, (data, rule, repeat))


def _timed_assembly(data: Path, rule: OverlapRule, repeat: int) -> tuple[float, int, object, float]:
    seconds = []
    for _ in range(repeat):
        for stale in ("orders", "aggregates", "state"):
            shutil.rmtree(data / stale, ignore_errors=True)
        store = OrderStore(data, overlap=rule)
        keys = pending_partitions(store)
        started = time.perf_counter()
        assemble_partitions(store, keys)
        seconds.append(time.perf_counter() - started)
    catalog = store.catalog_table()
    rows = sum(catalog["rows"].to_pylist())
    return statistics.median(seconds), rows, catalog_overlaps(catalog), peak_rss_mib()


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike getrusage's ru_maxrss,
    which a spawned child inherits from its parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--securities", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data/overlap"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    original = args.workdir / "orders_history.csv"
    generate_orders(original, rows=args.rows, days=args.days, securities=args.securities, seed=7)
    resent = args.workdir / "orders_history_v2.csv"
    generate_resend(original, resent)
    alone = ingested(args.workdir / "alone", [original])
    both = ingested(args.workdir / "both", [original, resent])
    kept_one = sum(manifest.rows_kept for manifest in OrderStore(alone).manifests())
    print(f"{args.rows:,} rows x 2 files, {args.days} days x {args.securities} securities; "
          f"{kept_one:,} kept rows a file; median of {args.repeat}")
    baseline, rows, _, peak = timed_assembly(alone, OverlapRule(), args.repeat)
    print(f"one file        {baseline:7.2f} s  {rows / baseline / 1e6:5.2f} M rows/s  (the baseline)  peak RSS {peak:.0f} MiB")
    for name, rule in (("union", OverlapRule()), ("latest_per_date", OverlapRule("latest_per_date")),
                       ("dedup", OverlapRule("dedup", ("order_id", "timestamp")))):
        seconds, rows, found, peak = timed_assembly(both, rule, args.repeat)
        balanced = 2 * kept_one == rows + found.rows_superseded + found.rows_deduplicated
        print(f"{name:15s} {seconds:7.2f} s  {2 * kept_one / seconds / 1e6:5.2f} M staged rows/s  "
              f"{seconds / (2 * baseline):4.2f}x the same rows without overlap  duplicated {found.rows_duplicated:,}  "
              f"in partitions {rows:,}  identity {'holds' if balanced else 'BROKEN'}  peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
