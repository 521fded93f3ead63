"""One big file in pieces: on Dask workers (whole on one single-core worker, in two pieces on two)
and on this machine (one threaded step, or two pieces at once in processes of their own) (issue 21).

    .venv/bin/pip install -e '.[bench,dask]'
    .venv/bin/python benchmarks/pieces_benchmark.py [--file landing/history.csv | --rows 28000000] [--workdir bench-data]

Runs, each on a fresh data folder and Dagster instance, in the same invocation:
- `orders-assets run` on this machine (the threaded single step, every core);
- `orders-assets run` with `machine.file_pieces: 2` (two pieces at once, each a process with half the threads);
- `orders-assets run --dask` on 1 worker with 1 core (one step reads the file);
- `orders-assets run --dask` on 2 workers with 1 core each (the file cut into 2 pieces, one per worker).
It prints each run's ingest stage wall (its runs overlap: the longest), the whole run's wall, the
ratio to the one-worker run, the time the runner spent cutting the file (one scan, no parsing), and
checks that every output file (partitions, quarantine) and report is byte for byte the same.
Each worker is pinned to a core of its own (taskset): 2 single-core workers on a 2-core machine is
the whole machine, 1 is half of it.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.dask_benchmark import median_run, reports_of  # noqa: E402
from benchmarks.run_benchmark import BIN  # noqa: E402
from orders_assets.core.read.pieces import plan_pieces  # noqa: E402
from orders_assets_tests.support.dask_cluster import running_dask_cluster  # noqa: E402


def output_files(data: Path) -> dict[str, bytes]:
    files = {}
    for folder in ("orders", "quarantine"):
        for path in sorted((data / folder).rglob("*")):
            if path.is_file() and not path.name.endswith(".lock"):
                files[str(path.relative_to(data))] = path.read_bytes()
    return files


def pin_one_core_each(cluster) -> None:
    """Each worker process, every thread of it, on a core of its own (taskset -a): a single-core
    worker is one core, not one parse thread beside a read thread on the machine's other core."""
    for core, pid in enumerate(sorted(cluster.worker_pids.values())):
        subprocess.run(["taskset", "-a", "-p", "-c", str(core % (os.cpu_count() or 1)), str(pid)], check=True,
                       capture_output=True)


def measure(repeat: int, label: str, landing: Path, data: Path, cluster=None, arguments: tuple = ()) -> dict:
    """The median of `repeat` runs, measured as dask_benchmark measures them, printed as it ends."""
    figures = median_run(repeat, label, landing, data, cluster, arguments)
    ingest = figures["stages"].get("ingest_order_files", {})
    print(f"  {label}: {figures['seconds']:.1f} s (of {figures['all_seconds']}), ingest {ingest.get('wall', 0):.1f} s "
          f"in {ingest.get('runs', 0)} run(s)", flush=True)
    return figures


def ingest_wall(result: dict) -> float:
    """The ingest stage's wall time (its runs overlap: first start to last end)."""
    return result["stages"].get("ingest_order_files", {}).get("wall", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, help="the big CSV file (default: generated with --rows)")
    parser.add_argument("--rows", type=int, default=28_000_000, help="rows of the generated file (about 2 GB)")
    parser.add_argument("--bad-rows", type=float, default=0.001)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration; the median is shown")
    args = parser.parse_args()
    landing = args.file.parent if args.file else args.workdir / f"landing-pieces-{args.rows}"
    path = args.file or landing / "history.csv"
    if not path.exists():
        subprocess.run([BIN / "orders-assets", "generate", "--rows", str(args.rows), "--days", "20", "--securities",
                        "300", "--bad-rows", str(args.bad_rows), "--out", str(path)], check=True, capture_output=True)
    size = path.stat().st_size
    started = time.perf_counter()
    pieces = plan_pieces(path, 2, 16 << 20)
    cut_seconds = time.perf_counter() - started
    base = args.workdir / "pieces-bench"
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    results = [measure(args.repeat, f"this machine ({os.cpu_count()} cores, threads)", landing, base / "single")]
    config = args.workdir / "two-pieces.yaml"
    config.write_text("machine:\n  file_pieces: 2\n")
    local = measure(args.repeat, "this machine, 2 pieces at once", landing, base / "local-2", arguments=("--config", config))
    for workers in (1, 2):
        with running_dask_cluster(base / f"cluster-{workers}", workers=workers, cores_per_worker=1,
                                  environment=environment) as cluster:
            pin_one_core_each(cluster)
            results.append(measure(args.repeat, f"Dask, {workers} x 1-core worker (pinned)", landing, base / f"dask-{workers}", cluster))
    results.append(local)
    same = {name: output_files(base / name) == output_files(base / "single")
            and reports_of(base / name) == reports_of(base / "single") for name in ("dask-1", "dask-2", "local-2")}
    one_worker = results[1]
    print(f"{path.name}: {size / 1e6:,.0f} MB; cut into {len(pieces)} pieces in {cut_seconds:.1f} s "
          f"(one scan, {size / 1e6 / cut_seconds:,.0f} MB/s, warm cache)")
    print(f"{'run':<34} {'run s':>7} {'ingest s':>9} {'x 1 worker':>10} {'x threads':>9} {'peak MiB':>9}")
    for result in results:
        ingest = ingest_wall(result)
        print(f"{result['label']:<34} {result['seconds']:7.1f} {ingest:9.1f} "
              f"{ingest / max(1e-9, ingest_wall(one_worker)):10.2f} {ingest / max(1e-9, ingest_wall(results[0])):9.2f} "
              f"{result['peak_rss'] / 2**20:9.0f}")
    print(f"outputs and reports byte-identical to the single step: {same}")
    if args.json:
        args.json.write_text(json.dumps({"bytes": size, "cut_seconds": cut_seconds, "results": results,
                                         "identical": same}, indent=1) + "\n")
    if not all(same.values()):
        sys.exit("a run's outputs differ from the single step's")


if __name__ == "__main__":
    main()
