"""Concurrency: runs that touch the same files and partitions at the same time never corrupt outputs.

Two `orders-assets run` processes start together on the same landing folder, data folder and
Dagster instance (as the sensor's runs and a manual backfill would); whatever order their steps
interleave in, the outputs afterwards are those of a single clean run.
"""
import os
import subprocess
import sys
from pathlib import Path

from orders_assets.core.generate import generate_orders
from orders_assets.core.store.atomic import TEMP_PREFIX
from orders_assets_tests.dagster.test_crash import outputs, run

BIN = Path(sys.executable).parent


def test_two_runs_at_once_leave_the_outputs_of_one_clean_run(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=200_000, days=3, securities=15, seed=3, bad_rows=0.001)
    generate_orders(landing / "more.csv", rows=60_000, days=3, securities=15, seed=4)
    run(landing, tmp_path / "clean")

    data = tmp_path / "shared"
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    command = [BIN / "orders-assets", "run", "--landing", landing, "--data", data]
    first, second = (subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2))
    results = [(process.wait(timeout=600), *process.communicate()) for process in (first, second)]
    for code, out, err in results:
        assert code == 0, f"{out[-2000:]}\n{err[-3000:]}"
    run(landing, data)  # whatever the two left to do
    assert outputs(data) == outputs(tmp_path / "clean")
    assert not [path for path in data.rglob(f"{TEMP_PREFIX}*") if "dagster_home" not in path.parts]
