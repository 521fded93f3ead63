"""The commands users type, as subprocesses: orders-assets run, dagster asset materialize, definitions validate,
the webserver, and what orders-assets ui refuses (the UI itself, running the sensor and backfills, is
test_browser's)."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml

from orders_assets.core.generate import generate_orders
from orders_assets.glue.resources import DATA_ENV, LANDING_ENV
from orders_assets_tests.support.loopback import free_port

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

    result = subprocess.run([BIN / "dagster", "asset", "materialize", "-m", "orders_assets.glue.definitions",
                             "--select", "filtered_orders", "--partition", key],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = subprocess.run([BIN / "dagster", "asset", "materialize", "-m", "orders_assets.glue.definitions",
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
    result = subprocess.run([BIN / "dagster", "definitions", "validate", "-m", "orders_assets.glue.definitions"],
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


@pytest.mark.parametrize("problem", ["no landing folder", "no config file", "a config that cannot work", "port in use",
                                     "an output config inside the landing folder"])
def test_orders_assets_ui_refuses_what_cannot_work_before_anything_starts(tmp_path, problem):
    landing, data, config = tmp_path / "landing", tmp_path / "data", tmp_path / "orders.yaml"
    if problem != "no landing folder":
        landing.mkdir()
    if problem == "a config that cannot work":
        config.write_text("machine:\n  workers: 0\n")
    if problem == "an output config inside the landing folder":
        config.write_text(f"output_url: {landing / 'published'}\n")
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
                "a config that cannot work": "workers = 0", "port in use": f"port {port}",
                "an output config inside the landing folder": f"is inside the landing folder {landing}"}[problem]
    assert refused.stderr.startswith("error: ") and expected in refused.stderr, refused.stderr
    assert not (data / "dagster_home").exists()  # nothing started, no instance made
