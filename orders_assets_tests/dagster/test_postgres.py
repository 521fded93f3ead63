"""`orders-assets run` on a production-style instance: run, event and schedule storage in a real PostgreSQL
server (Debian's package, installed by the test set-up when missing) through dagster-postgres.

The server is started on 127.0.0.1 in a temporary folder and reached over TCP with a password, which
dagster.yaml reads from the environment. What Dagster recorded is read back with SQL from PostgreSQL's own
tables, and through the instance as any Dagster process opens it.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import MARKET_SHARE, REPORT_NAMES
from orders_assets.platform.instance import (
    INSTANCE_YAML, POSTGRES_PASSWORD_ENV, POSTGRES_URL_ENV, InstanceConfigError, ensure_instance_folder,
    postgres_instance_yaml,
)
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.support.postgres_server import (
    SERVER_PACKAGE, PostgresUnavailable, install_postgres, running_postgres, server_binaries,
)
from orders_assets_tests.support.reference import reference_reports

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
JOBS = ("ingest_order_files", "assemble_order_partitions", "build_reports")


@pytest.fixture(scope="module")
def postgres_binaries(request) -> Path:
    """The server programs of Debian's `postgresql`, installed with apt-get when missing; the install's duration
    is printed in the test run's output. Fails, never skips, when they cannot be had."""
    binaries = server_binaries()
    if binaries is None:
        try:
            seconds = install_postgres()
        except PostgresUnavailable as error:
            pytest.fail(str(error))
        plugins = request.config.pluginmanager
        reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\ninstalled {SERVER_PACKAGE} in {seconds:.1f} s")
        binaries = server_binaries()
    return binaries


@pytest.fixture(scope="module")
def server(postgres_binaries):
    try:
        with running_postgres(postgres_binaries) as running:
            yield running
    except PostgresUnavailable as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def ran(server, tmp_path_factory):
    """Two `orders-assets run`s of a generated sample with ORDERS_ASSETS_POSTGRES_URL set: the first does
    everything, the second finds nothing new."""
    root = tmp_path_factory.mktemp("postgres")
    landing, data = root / "landing", root / "data"
    landing.mkdir()
    generate_orders(landing / "sample.csv", rows=20_000, days=2, securities=5, seed=11, bad_rows=0.002)
    env = {key: value for key, value in os.environ.items()
           if key not in ("DAGSTER_HOME", "PGPASSWORD") and not key.startswith("ORDERS_ASSETS_")}
    env.update({POSTGRES_URL_ENV: server.url, POSTGRES_PASSWORD_ENV: server.password})
    command = [BIN / "orders-assets", "run", "--landing", landing, "--data", data]
    started = time.monotonic()
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    runs_after_first = query(server, "SELECT count(*) FROM runs")[0][0]
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    print(f"two orders-assets runs on PostgreSQL: {time.monotonic() - started:.1f} s")
    return landing, data, first, second, runs_after_first


def query(server, sql: str, *parameters) -> list[tuple]:
    import psycopg2  # installed with dagster-postgres

    with psycopg2.connect(host=server.host, port=server.port, user=server.username, password=server.password,
                          dbname=server.database) as connection, connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_the_instance_folder_points_at_postgres_and_holds_no_sqlite_storage(ran, server):
    _, data, first, _, _ = ran
    assert first.returncode == 0, first.stderr[-3000:]
    home = data / "dagster_home"
    config_text = (home / "dagster.yaml").read_text()
    database = yaml.safe_load(config_text)["storage"]["postgres"]["postgres_db"]
    assert database == {"hostname": "127.0.0.1", "port": server.port, "username": server.username,
                        "password": {"env": POSTGRES_PASSWORD_ENV}, "db_name": server.database,
                        "scheme": "postgresql+psycopg2"}
    assert server.password not in config_text
    assert not list(home.rglob("*.db")), "a SQLite storage was created in the instance folder"
    assert not (home / "history").exists()


def test_postgres_holds_the_three_runs_and_every_materialization(ran, server):
    landing, _, first, second, runs_after_first = ran
    assert first.returncode == 0, first.stderr[-3000:]
    for job in JOBS:
        assert f"ok     {job}" in first.stdout
    runs = query(server, "SELECT pipeline_name, status FROM runs")
    assert sorted(runs) == sorted((job, "SUCCESS") for job in JOBS)

    materialized = query(server, "SELECT asset_key, partition FROM event_logs "
                                 "WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
    by_asset: dict[str, list] = {}
    for asset_key, partition in materialized:
        by_asset.setdefault(dg.AssetKey.from_db_string(asset_key).to_user_string(), []).append(partition)
    reference = reference_reports([landing / "sample.csv"])
    daily = reference.reports["timeseries_daily"]
    expected_partitions = sorted(f"{date}|{security}" for date, security in
                                 zip(daily["trade_date"], daily["security_code"]))
    assert len(expected_partitions) == reference.partitions
    assert sorted(by_asset.pop("filtered_orders")) == expected_partitions
    assert len(by_asset.pop("order_files")) == 1
    assert by_asset == {name: [None] for name in (*REPORT_NAMES, MARKET_SHARE, "summary")}

    assert second.returncode == 0, second.stderr[-3000:]
    assert "nothing new" in second.stdout
    assert query(server, "SELECT count(*) FROM runs")[0][0] == runs_after_first == len(JOBS)


def test_dagster_reads_the_same_runs_through_the_instance(ran, server, monkeypatch):
    _, data, _, _, _ = ran
    monkeypatch.setenv(POSTGRES_PASSWORD_ENV, server.password)
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        runs = instance.get_runs()
        assert sorted((run.job_name, run.status) for run in runs) == sorted(
            (job, dg.DagsterRunStatus.SUCCESS) for job in JOBS)
        summary = instance.fetch_materializations(dg.AssetKey("summary"), limit=10).records
        assert len(summary) == 1


def test_the_reports_equal_the_independent_computation(ran):
    landing, data, first, _, _ = ran
    assert first.returncode == 0, first.stderr[-3000:]
    reference = reference_reports([landing / "sample.csv"])
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "csv"), reference.reports[name], name)
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert (summary["rows_read"], summary["rows_kept"], summary["rows_rejected"]) == (
        reference.rows_read, reference.rows_kept, reference.rows_rejected)


def test_without_the_url_the_instance_folder_is_the_default_sqlite_one(tmp_path, monkeypatch):
    monkeypatch.delenv(POSTGRES_URL_ENV, raising=False)
    ensure_instance_folder(tmp_path / "home")
    assert (tmp_path / "home" / "dagster.yaml").read_text() == INSTANCE_YAML.format(home=(tmp_path / "home").resolve())


def test_a_url_with_a_password_is_refused_without_showing_it():
    with pytest.raises(InstanceConfigError, match=POSTGRES_PASSWORD_ENV) as refused:
        postgres_instance_yaml("postgresql://orders:s3cret@db.internal:5432/dagster")
    assert "s3cret" not in str(refused.value)


def test_libpq_parameters_of_the_url_are_kept():
    config = yaml.safe_load(postgres_instance_yaml("postgresql://orders@db.internal/dagster?sslmode=require"))
    database = config["storage"]["postgres"]["postgres_db"]
    assert (database["port"], database["params"]) == (5432, {"sslmode": "require"})


def test_an_existing_sqlite_instance_is_not_silently_used_when_the_url_is_set(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.delenv(POSTGRES_URL_ENV, raising=False)
    ensure_instance_folder(home)
    monkeypatch.setenv(POSTGRES_URL_ENV, "postgresql://orders@127.0.0.1:5432/dagster")
    with pytest.raises(InstanceConfigError, match="dagster.yaml"):
        ensure_instance_folder(home)
    (home / "dagster.yaml").unlink()
    ensure_instance_folder(home)
    ensure_instance_folder(home)
    assert "postgres_db" in (home / "dagster.yaml").read_text()
