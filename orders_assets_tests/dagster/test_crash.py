"""Crash safety: `orders-assets run` killed with SIGKILL at 12 points (parsing, partition writes,
report writes), then run again, gives outputs byte-identical to a clean run, with no temporary
file left behind. The even points here, the odd ones in test_crash_odd.py (two files: the suite
gives each test file one worker)."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from orders_assets.core.generate import generate_orders
from orders_assets.core.store.atomic import TEMP_PREFIX
from orders_assets_tests.conftest import tree_hashes

BIN = Path(sys.executable).parent
KILLS = 12


def run(landing: Path, data: Path, kill_after: float | None = None) -> float:
    """Run the command; with kill_after, SIGKILL it then; return the seconds it ran."""
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    started = time.perf_counter()
    process = subprocess.Popen([BIN / "orders-assets", "run", "--landing", landing, "--data", data], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return time.perf_counter() - started
    assert kill_after is not None or process.returncode == 0, process.stderr.read().decode()[-3000:]
    return time.perf_counter() - started


def outputs(data: Path) -> dict[str, str]:
    """Hashes of every output; summary.json without the signature of the ingest attempts (random names)."""
    hashes = tree_hashes(data, skip=("dagster_home", "staging", "state"))
    summary = json.loads((data / "reports" / "summary.json").read_text())
    summary.pop("inputs_signature")
    hashes["reports/summary.json"] = json.dumps(summary, sort_keys=True)
    return hashes


def kills_then_reruns(tmp_path: Path, kill_numbers: range) -> None:
    """A clean run, then for each of `kill_numbers` (of KILLS points spread over the clean run's
    time, 10% to 100%): a run killed there and a rerun, whose outputs must equal the clean ones.
    The suite runs the kills in two files (this one and test_crash_odd.py), one per worker."""
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=300_000, days=3, securities=20, seed=8, bad_rows=0.001)
    generate_orders(landing / "late.csv.gz", rows=50_000, days=1, securities=20, seed=9)
    clean_seconds = run(landing, tmp_path / "clean")
    clean = outputs(tmp_path / "clean")
    assert len([name for name in clean if name.startswith("orders/")]) == 3  # a file a trade date
    assert len(clean) > 20

    points = random.Random(20261125)
    offsets = [points.random() for _ in range(KILLS)]
    reached = []
    for number in kill_numbers:
        data = tmp_path / f"killed-{number}"
        kill_after = clean_seconds * (0.1 + 0.9 * (number + offsets[number]) / KILLS)
        run(landing, data, kill_after=kill_after)
        reached.append((round(kill_after, 2), sorted(p.name for p in data.iterdir()) if data.exists() else []))
        run(landing, data)
        leftovers = [str(path) for path in data.rglob(f"{TEMP_PREFIX}*") if "dagster_home" not in path.parts]
        assert not leftovers, (kill_after, leftovers)
        assert outputs(data) == clean, f"kill after {kill_after:.2f} s differs"
    phases = {tuple(names) for _, names in reached}
    assert len(phases) >= 3, reached  # the kills landed in different stages of the run


def test_six_kills_at_even_points_then_a_rerun_give_the_clean_outputs(tmp_path):
    kills_then_reruns(tmp_path, range(0, KILLS, 2))
