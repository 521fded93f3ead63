"""The commands users type, as subprocesses: orders-assets run, dagster asset materialize, definitions validate,
the webserver, and orders-assets ui (dagster dev's webserver and daemon) running the sensor."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.resources import DATA_ENV, LANDING_ENV
from orders_assets.sensors import INTERVAL_ENV
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.support.loopback import free_port, stop_group
from orders_assets_tests.support.reference import reference_reports

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """`orders-assets run` on a generated sample, on its default persistent SQLite instance."""
    root = tmp_path_factory.mktemp("commands")
    landing, data = root / "landing", root / "data"
    landing.mkdir()
    generate_orders(landing / "sample.csv.zst", rows=20_000, days=2, securities=5, seed=3, bad_rows=0.002)
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    first = subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data],
                           capture_output=True, text=True, env=env, timeout=300)
    second = subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data],
                            capture_output=True, text=True, env=env, timeout=300)
    dagster_env = {**env, "DAGSTER_HOME": str(data / "dagster_home"), LANDING_ENV: str(landing), DATA_ENV: str(data)}
    return landing, data, first, second, dagster_env


def test_run_succeeds_then_finds_nothing_new(ran):
    _, data, first, second, _ = ran
    assert first.returncode == 0, first.stderr[-3000:]
    assert "ok     build_reports" in first.stdout
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert f"{summary['rows_read']:,} rows read" in first.stdout
    assert second.returncode == 0, second.stderr[-3000:]
    assert "nothing new" in second.stdout
    assert (data / "dagster_home" / "dagster.yaml").exists()


def test_run_saves_its_effective_settings_and_they_reproduce_the_tuning(ran):
    _, data, _, _, env = ran
    saved = data / "state" / "effective_config.yaml"
    machine = yaml.safe_load(saved.read_text())["machine"]
    profile = subprocess.run([BIN / "orders-assets", "profile", "--data", data, "--config", saved, "--json"],
                             capture_output=True, text=True, env={**env, "ORDERS_ASSETS_WORKERS": "7"}, check=True)
    assert json.loads(profile.stdout)["tuning"] == machine


def test_dagster_asset_materialize_one_partition_then_the_reports(ran):
    _, data, _, _, env = ran
    catalog = pq.read_table(data / "state" / "partitions.parquet").to_pylist()
    entry = next(row for row in catalog if row["rows"])
    key = f"{entry['trade_date']}|{entry['security_code']}"
    date_file = data / "orders" / f"trade_date={entry['trade_date']}" / "orders.parquet"
    before = pq.read_table(date_file)  # every security of the date: the others' rows must not move either

    result = subprocess.run([BIN / "dagster", "asset", "materialize", "-m", "orders_assets.definitions",
                             "--select", "filtered_orders", "--partition", key],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = subprocess.run([BIN / "dagster", "asset", "materialize", "-m", "orders_assets.definitions",
                              "--select", "group:reports"], capture_output=True, text=True, env=env, timeout=300)
    assert reports.returncode == 0, reports.stderr[-3000:]

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        events = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("filtered_orders"), asset_partitions=[key]), limit=10
        ).records
        assert len(events) == 2
        summary_events = instance.fetch_materializations(dg.AssetKey("summary"), limit=10).records
        assert len(summary_events) == 2
    assert pq.read_table(date_file) == before


def test_definitions_validate():
    result = subprocess.run([BIN / "dagster", "definitions", "validate", "-m", "orders_assets.definitions"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def wait_until_serving(server: subprocess.Popen, port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
            return
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def test_the_webserver_loads_workspace_yaml_and_shows_the_graph_and_partitions(ran):
    _, _, _, _, env = ran
    port = free_port()
    server = subprocess.Popen([BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=Path(__file__).parents[2], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(server, port)
        nodes = graphql(port, "{ assetNodes { assetKey { path } isPartitioned } }")["assetNodes"]
        partitioned = {node["assetKey"]["path"][0]: node["isPartitioned"] for node in nodes}
        assert partitioned["filtered_orders"] and partitioned["order_files"] and not partitioned["summary"]
        assert {"by_security", "timeseries_daily", "landing_orders"} <= set(partitioned)
        node = graphql(port, '{ assetNodeOrError(assetKey: {path: ["filtered_orders"]}) '
                             '{ ... on AssetNode { partitionKeysByDimension { name partitionKeys } } } }')
        dimensions = {d["name"]: d["partitionKeys"] for d in node["assetNodeOrError"]["partitionKeysByDimension"]}
        catalog = pq.read_table(ran[1] / "state" / "partitions.parquet")
        assert dimensions["date"] == sorted(set(catalog["trade_date"].to_pylist()))
        assert set(dimensions["security"]) == set(catalog["security_code"].to_pylist())
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_orders_assets_ui_runs_the_sensor_on_a_dropped_file_and_stops_cleanly(tmp_path):
    """`orders-assets ui` (dagster dev's webserver and daemon) on 127.0.0.1 over the folders of `run`: a
    dropped file goes through the sensor's three stages to reports equal to the independent
    computation, seen through GraphQL; SIGTERM stops every process it started, exit status 0, and no
    warning the user cannot act on was printed."""
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ORDERS_ASSETS_") and key != "DAGSTER_HOME"}
    env[INTERVAL_ENV] = "3"
    server = subprocess.Popen([BIN / "orders-assets", "ui", "--landing", landing, "--data", data, "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        wait_until_serving(server, port)
        locations = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
        assert locations["workspaceOrError"]["locationEntries"] == [{"name": "orders_assets", "loadStatus": "LOADED"}]
        generate_orders(tmp_path / "drop.csv", rows=6_000, days=2, securities=3, seed=6)
        shutil.move(tmp_path / "drop.csv", landing / "drop.csv")
        runs = {}
        deadline = time.monotonic() + 240
        while runs.get("build_reports") != "SUCCESS":
            assert time.monotonic() < deadline, f"the sensor's runs did not finish: {runs}"
            assert "FAILURE" not in runs.values(), runs
            time.sleep(2)
            results = graphql(port, "{ runsOrError { ... on Runs { results { jobName status } } } }")
            runs = {run["jobName"]: run["status"] for run in reversed(results["runsOrError"]["results"])}
        assert runs == {"ingest_order_files": "SUCCESS", "assemble_order_partitions": "SUCCESS",
                        "build_reports": "SUCCESS"}
        reference = reference_reports([landing / "drop.csv"])
        for name in REPORT_NAMES:
            assert_report_equals(read_report(data / "reports", name, "csv"), reference.reports[name], name)
        backfill_every_key_from_the_ui(port, data, reference)
        os.kill(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=90)
        left = group_alive_after(server.pid, seconds=30)
    finally:
        stop_group(server, grace_seconds=60)
    assert server.returncode == 0, output[-3000:]
    assert f"Dagster UI on http://127.0.0.1:{port}" in output and output.rstrip().endswith("Dagster UI stopped")
    assert "Warning" not in output, [line for line in output.splitlines() if "Warning" in line]
    assert (data / "dagster_home" / "dagster.yaml").is_file()
    assert not left, "the webserver, the daemon or a code server outlived the command"


def backfill_every_key_from_the_ui(port: int, data: Path, reference) -> None:
    """The UI's own mutation backfills the file's 2 dates x 3 securities; the daemon runs it; each key's
    latest materialization then carries its own figures, those of the independent reference."""
    daily = reference.reports["timeseries_daily"]
    expected = {f"{row.trade_date}|{row.security_code}": (row.orders, row.quantity, Decimal(str(row.value)))
                for row in daily.itertuples()}
    assert len(expected) == 6
    launched = graphql(port, "mutation { launchPartitionBackfill(backfillParams: {partitionNames: "
                             f"{json.dumps(sorted(expected))}, assetSelection: [{{path: [\"filtered_orders\"]}}]}}) "
                             "{ __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }")
    backfill = launched["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    deadline, status = time.monotonic() + 240, None
    while status not in ("COMPLETED", "COMPLETED_SUCCESS"):
        assert status not in ("FAILED", "COMPLETED_FAILED", "CANCELED") and time.monotonic() < deadline, status
        time.sleep(2)
        status = graphql(port, f'{{ partitionBackfillOrError(backfillId: "{backfill["backfillId"]}") '
                               "{ ... on PartitionBackfill { status } } }")["partitionBackfillOrError"]["status"]
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        records = instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("filtered_orders"), asset_partitions=sorted(expected)), limit=100).records
        materialized = instance.get_materialized_partitions(dg.AssetKey("filtered_orders"))
    latest = {}
    for record in sorted(records, key=lambda record: record.storage_id):
        latest[record.partition_key] = record.asset_materialization.metadata
    assert len(records) == 2 * len(expected)  # the sensor's materialization of each key, then the backfill's
    assert {key: (metadata["dagster/row_count"].value, metadata["quantity"].value, Decimal(metadata["value"].value))
            for key, metadata in latest.items()} == expected
    assert materialized == set(expected)  # the grid: exactly the cells with data


def group_alive_after(group: int, seconds: float) -> bool:
    """Whether a process of the group is still running (zombies aside) after waiting up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [fields for fields in map(_stat_fields, Path("/proc").glob("[0-9]*/stat"))
                 if fields[2:3] == [str(group)] and fields[0] != "Z"]
        if not alive:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.5)


def _stat_fields(status: Path) -> list[str]:
    """state, ppid, pgrp, ... of /proc/<pid>/stat (the fields after the command's parentheses)."""
    try:
        return status.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


@pytest.mark.parametrize("problem", ["no landing folder", "no config file", "a config that cannot work", "port in use"])
def test_orders_assets_ui_refuses_what_cannot_work_before_anything_starts(tmp_path, problem):
    landing, data, config = tmp_path / "landing", tmp_path / "data", tmp_path / "orders.yaml"
    if problem != "no landing folder":
        landing.mkdir()
    if problem == "a config that cannot work":
        config.write_text("machine:\n  workers: 0\n")
    port = free_port()
    with socket.socket() as holder:
        if problem == "port in use":
            holder.bind(("127.0.0.1", port))
            holder.listen()
        arguments = ["--config", config] if "config" in problem else []
        refused = subprocess.run([BIN / "orders-assets", "ui", "--landing", landing, "--data", data, "--port", str(port),
                                  *arguments], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    expected = {"no landing folder": str(landing), "no config file": str(config),
                "a config that cannot work": "workers = 0", "port in use": f"port {port}"}[problem]
    assert refused.stderr.startswith("error: ") and expected in refused.stderr, refused.stderr
    assert not (data / "dagster_home").exists()  # nothing started, no instance made
