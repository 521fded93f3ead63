"""The Dask run against the single-machine run on the same files: overhead, and scaling with 1 and 2 workers.

    .venv/bin/pip install -e '.[bench,dask]'
    .venv/bin/python benchmarks/dask_benchmark.py --files 8 --rows-per-file 1000000 [--workdir bench-data]

It generates (or reuses) daily files with the project's generator (one seed: the same securities
and participants every day, as in a real market; the orders differ by date), then in the same run, each on a
fresh data folder and Dagster instance:
- `orders-assets run` on this machine (every core to each step);
- `orders-assets run --dask` on a cluster of 1 worker given every core, then of 2 workers given
  half the cores each: a scheduler and worker processes started here on 127.0.0.1 with Dask's own
  commands (the tests' cluster starter);
- DuckDB answering the same reports in one query over the same files (the peer, as a ratio; also
  the median of --repeat runs).
For each (the median of --repeat runs): wall time, the stages' wall times (a stage's concurrent runs overlap: its wall is the
longest), MB/s, and peak RSS of the command and of each worker (VmHWM); it checks the reports of
every run are identical. On one machine the workers share its cores, so 1 -> 2 workers shows the
cost of splitting a stage, not added hardware; the per-worker figures feed the scaling model in
docs/deployment.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.run_benchmark import BIN, DUCKDB_SCRIPT, RUN_TIMING, timed_child  # noqa: E402
from orders_assets_tests.support.dask_cluster import running_dask_cluster  # noqa: E402

STAGES = ("ingest_order_files", "assemble_order_partitions", "build_reports")


def ensure_daily_files(workdir: Path, files: int, rows: int, securities: int) -> Path:
    landing = workdir / f"landing-dask-{files}x{rows}"
    landing.mkdir(parents=True, exist_ok=True)
    day = date(2025, 3, 3)
    for _ in range(files):
        while day.weekday() >= 5:
            day += timedelta(days=1)
        path = landing / f"orders-{day:%Y%m%d}.csv"
        if not path.exists():
            subprocess.run([BIN / "orders-assets", "generate", "--rows", str(rows), "--days", "1", "--securities",
                            str(securities), "--seed", "42", "--start-date", day.isoformat(), "--out", str(path)],
                           check=True, capture_output=True)
        day += timedelta(days=1)
    return landing


def stage_walls(stdout: str) -> dict[str, dict]:
    """Per stage: how many runs, the longest run (the stage's wall: its runs overlap) and their engine time."""
    stages: dict[str, dict] = {}
    for match in RUN_TIMING.finditer(stdout):
        stage = stages.setdefault(match["job"], {"runs": 0, "wall": 0.0, "engine": 0.0})
        stage["runs"] += 1
        stage["wall"] = max(stage["wall"], float(match["seconds"]))
        stage["engine"] += float(match["engine"])
    return stages


def peak_rss(pid: int) -> int:
    """A live process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def median_run(repeat: int, label: str, landing: Path, data: Path, cluster=None, arguments: tuple = ()) -> dict:
    """The run of median wall time among `repeat` runs, each on a fresh data folder and instance."""
    runs = sorted((measure_run(label, landing, data, cluster, arguments) for _ in range(repeat)),
                  key=lambda run: run["seconds"])
    median = runs[len(runs) // 2]
    median["all_seconds"] = [run["seconds"] for run in runs]
    return median


def measure_run(label: str, landing: Path, data: Path, cluster=None, arguments: tuple = ()) -> dict:
    shutil.rmtree(data, ignore_errors=True)
    command = [BIN / "orders-assets", "run", "--landing", landing, "--data", data, *arguments]
    if cluster is not None:
        command += ["--dask", cluster.address]
    seconds, peak, result = timed_child(command)
    figures = {"label": label, "seconds": seconds, "peak_rss": peak, "stages": stage_walls(result.stdout)}
    if cluster is not None:
        figures["worker_peak_rss"] = sorted(peak_rss(pid) for pid in cluster.worker_pids.values())
    return figures


def reports_of(data: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((data / "reports").glob("*.csv"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=8, help="daily files (one trade date each)")
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--securities", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration; the median is shown")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    landing = ensure_daily_files(args.workdir, args.files, args.rows_per_file, args.securities)
    size = sum(path.stat().st_size for path in landing.glob("*.csv"))
    base = args.workdir / "dask-bench"
    results = [median_run(args.repeat, f"this machine ({cores} cores)", landing, base / "single")]
    environment = {**os.environ, "DAGSTER_HOME": ""}
    environment.pop("DAGSTER_HOME")
    for workers in (1, 2):
        per_worker = max(1, cores // workers)
        with running_dask_cluster(base / f"cluster-{workers}", workers=workers, cores_per_worker=per_worker,
                                  environment=environment) as cluster:
            results.append(median_run(args.repeat, f"Dask, {workers} worker{'s' if workers > 1 else ''} x {per_worker} cores",
                                      landing, base / f"dask-{workers}", cluster))
    duck_runs = sorted(timed_child([sys.executable, "-c", DUCKDB_SCRIPT, str(landing / "*.csv")])[:2]
                       for _ in range(args.repeat))
    duck_seconds, duck_peak = duck_runs[len(duck_runs) // 2]
    same = [reports_of(base / name) == reports_of(base / "single") for name in ("dask-1", "dask-2")]

    print(f"{args.files} files, {size / 1e6:,.0f} MB, {args.files * args.rows_per_file:,} rows; {cores} cores")
    print(f"{'run':<28} {'s':>7} {'MB/s':>7} {'x single':>8} {'ingest s':>9} {'assemble s':>11} {'reports s':>10} "
          f"{'peak MiB':>9} {'worker peaks MiB':>17}")
    for result in results:
        walls = [result["stages"].get(stage, {}).get("wall", 0.0) for stage in STAGES]
        runs = [result["stages"].get(stage, {}).get("runs", 0) for stage in STAGES]
        workers = " ".join(f"{peak / 2**20:.0f}" for peak in result.get("worker_peak_rss", []))
        print(f"{result['label']:<28} {result['seconds']:7.1f} {size / 1e6 / result['seconds']:7.1f} "
              f"{result['seconds'] / results[0]['seconds']:8.2f} {walls[0]:6.1f}/{runs[0]} {walls[1]:8.1f}/{runs[1]} "
              f"{walls[2]:10.1f} {result['peak_rss'] / 2**20:9.0f} {workers:>17}")
    print(f"{'DuckDB, reports query':<28} {duck_seconds:7.1f} {size / 1e6 / duck_seconds:7.1f} "
          f"{duck_seconds / results[0]['seconds']:8.2f} {'':>9} {'':>11} {'':>10} {duck_peak / 2**20:9.0f}")
    print(f"stage columns: wall seconds / runs; reports identical to the single-machine run: 1 worker {same[0]}, "
          f"2 workers {same[1]}; throughput as a share of DuckDB's: "
          f"{duck_seconds / results[0]['seconds']:.2f} (this machine), {duck_seconds / results[2]['seconds']:.2f} (2 workers)")
    if args.json:
        args.json.write_text(json.dumps({"bytes": size, "results": results, "duckdb_seconds": duck_seconds,
                                         "duckdb_peak_rss": duck_peak, "reports_identical": same}, indent=1) + "\n")
    if not all(same):
        sys.exit("the Dask runs' reports differ from the single-machine run's")


if __name__ == "__main__":
    main()
