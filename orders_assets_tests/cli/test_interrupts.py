"""SIGINT / SIGTERM stop `orders-assets run` promptly, exit non-zero, and leave whole outputs a rerun completes."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.cli.interrupts import Interrupted, watch_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_outside_dagster_stops_at_once(signum):
    with pytest.raises(Interrupted) as stopped, watch_signals():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises before this ends
    assert stopped.value.exit_status == 128 + signum


def test_a_signal_a_capturing_handler_swallowed_still_stops_at_the_next_checkpoint():
    """Dagster's capture_interrupts handler only sets a flag it forgets; the wakeup fd keeps the signal."""
    with watch_signals() as watch:
        swallowing = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
        os.kill(os.getpid(), signal.SIGTERM)
        signal.signal(signal.SIGTERM, swallowing)
        with pytest.raises(Interrupted) as stopped:
            watch.checkpoint()
    assert stopped.value.signum == signal.SIGTERM
    with watch_signals() as quiet:
        quiet.checkpoint()  # nothing arrived: no stop


def test_sigterm_during_the_ingest_stops_the_command_and_a_rerun_finishes(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    generated = generate_orders(landing / "orders.csv", rows=600_000, days=2, securities=20, seed=31)
    command = [sys.executable, "-m", "orders_assets.cli.main", "run", "--landing", str(landing), "--data", str(data)]
    environment = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    errors = tmp_path / "stderr.txt"
    with open(errors, "w") as stderr:
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=stderr, text=True)
        staging = data / "staging"  # the ingest stages its first rows: it is at work
        while not (staging.is_dir() and any(staging.iterdir())) and process.poll() is None:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM: no further run was launched" in errors.read_text()
    assert "Stack Trace" not in errors.read_text()
    assert not (data / "reports" / "summary.json").exists()  # no later stage was launched

    rerun = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["rows_read"] == generated.rows
    assert summary["rows_read"] == summary["rows_kept"] + summary["rows_filtered_out"] + summary["rows_rejected"]
