"""Runs under different settings on one data folder: never mixed into one set of outputs.

The probe: a plain `orders-assets run` and, 0.2 s later, one with `filter: {order_types: [LIMIT]}`
both exited 0, and summary.json named the Centre Point filter over LIMIT totals, the partitions
held LIMIT rows and by_security the Centre Point count. A sensor under one config and a command
under another met the same way. Now the later run is refused while the other is in flight, the
sensor waits saying why, and a reports run never builds over files kept under other settings.
"""
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.cli.main import main
from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.core.store.settings_lease import LEASE_NAME, MUTEX_NAME
from orders_assets.glue.definitions import build_definitions
from orders_assets.glue.names import REPORTS_JOB
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.conftest import tree_hashes
from orders_assets_tests.dagster.test_crash import outputs
from orders_assets_tests.glue.test_sensors import LandingFolder

BIN = Path(sys.executable).parent
LIMIT = {"order_types": ["LIMIT"]}
CONFLICT = "is working on this data folder under other settings (filter.order_types: "


def command(landing: Path, data: Path, config: Path | None = None) -> list:
    return [BIN / "orders-assets", "run", "--landing", landing, "--data", data,
            *(["--config", config] if config else [])]


def environment() -> dict:
    return {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lease") / "landing"
    generate_orders(folder / "orders.csv", rows=120_000, days=3, securities=12, seed=81)
    limit = folder.parent / "limit.yaml"
    limit.write_text("filter:\n  order_types: [LIMIT]\n")
    clean = {}
    for name, config in (("centre_point", None), ("limit", limit)):
        clean[name] = folder.parent / f"clean-{name}"
        subprocess.run(command(folder, clean[name], config), env=environment(), check=True, capture_output=True)
    return folder, limit, clean


@contextlib.contextmanager
def stopped_once_it_holds_the_lease(process: subprocess.Popen, state: Path, timeout: float = 120):
    """Within: `process` (the leader of its own session) and its children stopped with SIGSTOP while
    they hold the data folder's settings lease, so a second command meets a run in flight however
    slowly either starts. The look and the stop happen under the lease's mutex, so no stopped process
    holds the mutex. SIGCONT after."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the first command ended before it took the lease"
        assert time.monotonic() < deadline, "the first command did not take the lease"
        if (state / LEASE_NAME).exists():
            with open(state / MUTEX_NAME, "a+") as mutex, open(state / LEASE_NAME, "a+") as lease:
                fcntl.flock(mutex, fcntl.LOCK_EX)
                try:
                    fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(lease, fcntl.LOCK_UN)
                except BlockingIOError:  # held: stop the holders before letting anyone else look
                    os.killpg(process.pid, signal.SIGSTOP)
                    break
                finally:
                    fcntl.flock(mutex, fcntl.LOCK_UN)
        time.sleep(0.05)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)


def test_two_commands_under_different_filters_at_once_leave_one_settings_outputs(landing, tmp_path):
    folder, limit, clean = landing
    data = tmp_path / "shared"
    first = subprocess.Popen(command(folder, data), env=environment(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    with stopped_once_it_holds_the_lease(first, data / "state"):  # in flight, however loaded the machine
        second = subprocess.Popen(command(folder, data, limit), env=environment(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        second.wait(timeout=600)
    results = {name: (process.wait(timeout=600), *process.communicate())
               for name, process in (("centre_point", first), ("limit", second))}
    refused = [name for name, (code, _out, _err) in results.items() if code == 2]
    finished = [name for name, (code, _out, _err) in results.items() if code == 0]
    assert refused == ["limit"] and finished == ["centre_point"], results  # the later one refused, not mixed
    code, out, err = results["limit"]
    assert err.startswith("error: ") and CONFLICT in err and err.count("\n") == 1, err
    assert outputs(data) == outputs(clean["centre_point"])
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["order_filter"]["order_types"] == ["CENTRE_POINT", "CENTRE_POINT_BLOCK"]
    again = subprocess.run(command(folder, data, limit), env=environment(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]  # once the other ended, its settings take the folder over
    assert outputs(data) == outputs(clean["limit"])

def test_a_command_beside_a_run_in_flight_under_other_settings_is_refused_before_it_writes(landing, tmp_path,
                                                                                             capsys, monkeypatch):
    folder, limit, clean = landing
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    data = tmp_path / "data"
    subprocess.run(command(folder, data), env=environment(), check=True, capture_output=True)
    before = tree_hashes(data)
    in_flight = OrdersSettings(landing_dir=str(folder), data_dir=str(data))
    with in_flight.lease():  # as a run of the sensor's would hold it, in this process
        assert main(["run", "--landing", str(folder), "--data", str(data), "--config", str(limit)]) == 2
        error = capsys.readouterr().err
        assert CONFLICT in error and "['CENTRE_POINT', 'CENTRE_POINT_BLOCK'] -> ['LIMIT']" in error
        assert main(["run", "--landing", str(folder), "--data", str(data)]) == 0  # the same settings join it
        capsys.readouterr()
    assert tree_hashes(data) == before


def test_the_sensor_waits_while_a_command_under_other_settings_is_in_flight_and_never_undoes_it(tmp_path):
    with dg.instance_for_test() as instance:
        folder = LandingFolder(tmp_path, instance)
        generate_orders(folder.landing / "day.csv", rows=3_000, days=1, securities=3, seed=82)
        other = OrdersSettings(landing_dir=str(folder.landing), data_dir=str(folder.data), filter=LIMIT)
        with other.lease():
            for _ in range(2):
                result = folder.tick()
                assert not result.run_requests and CONFLICT in result.skip_reason.skip_message
        # Free again, but put under LIMIT after the sensor's code location loaded: a newer intent, which the
        # sensor does not undo (it would ingest every file again, and the next command back)
        result = folder.tick()
        assert not result.run_requests and "Reload the code location" in result.skip_reason.skip_message
        assert "filter.order_types: ['LIMIT'] -> ['CENTRE_POINT', 'CENTRE_POINT_BLOCK']" in \
            result.skip_reason.skip_message
        reloaded = LandingFolder(tmp_path, instance)  # a code location loaded since: its settings take the folder
        reloaded.cursor = folder.cursor  # the sensor's cursor is the instance's, kept across a reload
        assert reloaded.settle()
        assert json.loads((folder.data / "reports" / "summary.json").read_text())["order_filter"]["order_types"] == \
            ["CENTRE_POINT", "CENTRE_POINT_BLOCK"]


def test_a_reports_run_never_builds_over_files_kept_under_other_settings(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "day.csv", rows=3_000, days=1, securities=3, seed=83)
    with dg.instance_for_test() as instance:
        assert run_pipeline(OrdersSettings(landing_dir=str(landing), data_dir=str(data)), instance).success
        before = tree_hashes(data / "reports")
        limit = OrdersSettings(landing_dir=str(landing), data_dir=str(data), filter=LIMIT)
        job = build_definitions(limit).resolve_job_def(REPORTS_JOB)
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success  # a sensor's reports run after a command under another config met this
        [failure] = [event for event in result.all_events if event.is_step_failure]
        assert "1 file(s) were ingested under other settings than this run's (e.g. day.csv)" in \
            failure.step_failure_data.error.message
        assert tree_hashes(data / "reports") == before
        assert run_pipeline(limit, instance).success  # ingested again under LIMIT, then built
        summary = json.loads((data / "reports" / "summary.json").read_text())
        assert summary["order_filter"]["order_types"] == ["LIMIT"] and summary["rows_kept"] > 0
