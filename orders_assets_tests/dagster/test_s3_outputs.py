"""`orders-assets run` publishing to S3: a real S3-protocol server (moto's, on 127.0.0.1) reached through
s3fs, with the endpoint and keys given the way a user gives them, in fsspec's FSSPEC_S3_* variables.

Two files for two days are run with `output_url: s3://<bucket>/<prefix>` and, for comparison, into a
local data folder; then a run with nothing new; then a run after the second day's file changed (fewer
securities, so two of that day's partitions must go). What was published is read back with s3fs, and
what each run put or deleted is read from the server's own request log.
"""
import io
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pyarrow.parquet as pq
import pytest
from upath import UPath

from orders_assets.core.store import date_files
from orders_assets.core.generate import generate_orders
from orders_assets.core.report.plots import PLOTTED_REPORTS
from orders_assets.core.schema import MARKET_SHARE, REPORT_NAMES
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.support.reference import reference_reports
from orders_assets_tests.support.s3_server import running_s3_server

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
BUCKET, PREFIX = "orders-bucket", "published/v1"
ROOT = f"{BUCKET}/{PREFIX}"
FIRST_DAY, SECOND_DAY = date(2025, 3, 3), date(2025, 3, 4)
REPORT_FILES = {f"{name}.{kind}" for name in (*REPORT_NAMES, MARKET_SHARE) for kind in ("csv", "parquet")}
REPORT_OBJECTS = {f"reports/{name}" for name in REPORT_FILES} | {
    f"reports/plots/{name}.png" for name in PLOTTED_REPORTS} | {"reports/index.html", "reports/summary.json"}


def orders_assets_run(landing: Path, data: Path, env: dict, config: Path | None = None) -> SimpleNamespace:
    command = [BIN / "orders-assets", "run", "--landing", landing, "--data", data]
    started = time.monotonic()
    result = subprocess.run(command + (["--config", config] if config else []), capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return SimpleNamespace(stdout=result.stdout, seconds=time.monotonic() - started)


def partition_keys(reference) -> set[tuple[str, str]]:
    """(date, security) of every partition the reference found."""
    return {(str(row.trade_date), row.security_code) for row in reference.reports["timeseries_daily"].itertuples()}


def date_objects(keys) -> set[str]:
    """orders/trade_date=D/orders.parquet of every date of the keys."""
    return {f"orders/trade_date={trade_date}/orders.parquet" for trade_date, _security in keys}


def published_keys(objects: dict[str, bytes]) -> set[tuple[str, str]]:
    """(date, security) of every partition in the published date files, from each file's own index."""
    return {(name.split("/")[1].removeprefix("trade_date="), security)
            for name, data in objects.items() if name.startswith("orders/")
            for security in date_files.index_of(pq.read_metadata(io.BytesIO(data)))}


def published_objects(fs) -> dict[str, bytes]:
    """Every object under the prefix, by name relative to it, as the server holds it now."""
    return {name.removeprefix(f"{ROOT}/"): fs.cat_file(name) for name in fs.find(ROOT)}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("s3")
    landing = root / "landing"
    generate_orders(landing / "day1.csv", rows=6_000, days=1, securities=5, seed=41, start_date=FIRST_DAY,
                    bad_rows=0.005)
    generate_orders(landing / "day2.csv", rows=6_000, days=1, securities=5, seed=42, start_date=SECOND_DAY)
    first_reference = reference_reports([landing / "day1.csv", landing / "day2.csv"])
    config = root / "s3.yaml"
    config.write_text(f"output_url: s3://{ROOT}\n")
    env = {key: value for key, value in os.environ.items()
           if key != "DAGSTER_HOME" and not key.startswith(("ORDERS_ASSETS_", "AWS_", "FSSPEC_"))}
    local = orders_assets_run(landing, root / "local", env)
    with running_s3_server(root) as server:
        fs = server.filesystem()
        fs.mkdir(BUCKET)
        env.update(server.environment())
        marks, runs, snapshots = [server.log_size()], [], []
        for change in (None, None, "day2.csv"):
            if change:
                generate_orders(landing / change, rows=4_000, days=1, securities=3, seed=43, start_date=SECOND_DAY)
            runs.append(orders_assets_run(landing, root / "data", env, config))
            marks.append(server.log_size())
            snapshots.append(published_objects(fs))
        writes = [[(method, name.removeprefix(f"{ROOT}/")) for method, name in server.writes(start, end)]
                  for start, end in zip(marks, marks[1:])]
        print(f"\nS3 runs {', '.join(f'{run.seconds:.1f} s' for run in runs)} (local run {local.seconds:.1f} s); "
              f"objects put or deleted per run: {[len(run_writes) for run_writes in writes]}")
        yield SimpleNamespace(landing=landing, data=root / "data", local=root / "local", runs=runs, writes=writes,
                              snapshots=snapshots, first_reference=first_reference, fs=fs,
                              reports=UPath(f"s3://{ROOT}/reports", **server.storage_options()))


def test_the_first_run_puts_one_object_per_date_and_every_report_plot_page_and_summary(published):
    first = published.snapshots[0]
    partitions = partition_keys(published.first_reference)
    assert len(partitions) == 10
    assert set(first) == date_objects(partitions) | REPORT_OBJECTS
    assert published_keys(first) == partitions
    run = published.writes[0]
    assert {method for method, _ in run} == {"PUT"}  # whole objects, no multipart upload, nothing deleted
    assert {name for _, name in run} == set(first)


def test_the_first_run_publishes_the_bytes_and_tables_of_a_local_run_of_the_same_data(published):
    first = published.snapshots[0]
    for name, data in first.items():
        if name != "reports/summary.json":  # names the ingest attempts, which differ between the two runs
            assert data == (published.local / name).read_bytes(), name
    for name in REPORT_NAMES:
        for kind in ("csv", "parquet"):
            local = read_report(published.local / "reports", name, kind)
            assert_report_equals(local, published.first_reference.reports[name], f"{name}.{kind}")
            assert first[f"reports/{name}.{kind}"] == (published.local / "reports" / f"{name}.{kind}").read_bytes()


def test_the_work_area_stays_in_the_data_folder_and_nothing_is_published_there(published):
    assert sorted(path.name for path in published.data.iterdir()) == [
        "aggregates", "dagster_home", "quarantine", "staging", "state"]


def test_a_second_run_with_nothing_new_launches_nothing_and_writes_no_object(published):
    assert "no run launched" in published.runs[1].stdout
    assert published.writes[1] == []
    assert published.snapshots[1] == published.snapshots[0]


def test_a_changed_file_republishes_only_its_day_and_drops_its_stale_partitions(published):
    reference = reference_reports([published.landing / "day1.csv", published.landing / "day2.csv"])
    expected = partition_keys(reference)
    before = partition_keys(published.first_reference)
    run = published.writes[2]
    assert {name for method, name in run if method == "PUT" and name.startswith("orders/")} == {
        f"orders/trade_date={SECOND_DAY}/orders.parquet"}
    assert {name for method, name in run if method == "DELETE"} == set()  # the day still has rows: rewritten
    assert len(before - expected) == 2
    assert published_keys(published.snapshots[2]) == expected
    assert REPORT_OBJECTS <= {name for method, name in run if method == "PUT"}
    assert set(published.snapshots[2]) == date_objects(expected) | REPORT_OBJECTS


def test_the_published_partitions_and_reports_equal_the_reference(published):
    reference = reference_reports([published.landing / "day1.csv", published.landing / "day2.csv"])
    for row in reference.reports["timeseries_daily"].itertuples():
        name = f"{ROOT}/orders/trade_date={row.trade_date}/orders.parquet"
        with published.fs.open(name, "rb") as handle:
            table = pq.read_table(handle, filters=[("security_code", "=", row.security_code)])
        assert table.num_rows == row.orders and set(table["security_code"].to_pylist()) == {row.security_code}
    for name in REPORT_NAMES:
        for kind in ("csv", "parquet"):
            assert_report_equals(read_report(published.reports, name, kind), reference.reports[name], f"{name}.{kind}")


def test_dagster_shows_the_object_urls(published):
    with dg.DagsterInstance.from_config(str(published.data / "dagster_home")) as instance:
        summary = instance.get_latest_materialization_event(dg.AssetKey("summary")).asset_materialization.metadata
        by_participant = instance.get_latest_materialization_event(
            dg.AssetKey("by_participant")).asset_materialization.metadata
    base = f"s3://{ROOT}/reports"
    assert summary["index_url"].value == summary["index_html"].value == f"{base}/index.html"
    assert summary["path"].value == f"{base}/summary.json"
    assert by_participant["csv"].value == f"{base}/by_participant.csv"
    assert by_participant["plot_file"].value == f"{base}/plots/by_participant.png"
