"""Re-sent files through Dagster: the sensor and `orders-assets run` under each overlap rule, the
warning check naming the files and lines, and a change of rule re-planning only what it changes."""
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.core.generate import generate_orders, generate_resend
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.names import INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.markdown_view import table_cells
from orders_assets_tests.support.overlap_reference import expected_file
from orders_assets_tests.support.reference import reference_reports
from orders_assets_tests.glue.test_sensors import LandingFolder

BIN = Path(sys.executable).parent
CHECK = "no_rows_counted_twice"


def with_rule(folder: LandingFolder, overlap: dict) -> LandingFolder:
    """The same folders and instance under another overlap rule, as a code location restarted with
    the changed config sees them (the sensor's cursor carried over)."""
    settings = OrdersSettings(landing_dir=str(folder.landing), data_dir=str(folder.data), overlap=overlap)
    changed = LandingFolder(folder.landing.parent, folder.instance, settings)
    changed.cursor = folder.cursor
    return changed


def settle_with_checks(folder: LandingFolder, ticks: int = 8) -> tuple[list[dg.RunRequest], dict]:
    """Tick and run until idle, as the daemon would; the requests and each check's last evaluation.
    The first tick sees new files (a file is taken once its size held over two ticks)."""
    requests, checks = [], {}
    folder.tick()
    for _ in range(ticks):
        result = folder.tick()
        if not result.run_requests:
            return requests, checks
        for request in result.run_requests:
            job = folder.defs.resolve_job_def(request.job_name)
            run = job.execute_in_process(instance=folder.instance, tags=request.tags)
            assert run.success
            checks.update({evaluation.check_name: evaluation for evaluation in run.get_asset_check_evaluations()})
            requests.append(request)
    raise AssertionError("the sensor did not settle")


def latest_metadata(instance: dg.DagsterInstance, asset: str, partition: str, kind: dg.DagsterEventType) -> dict:
    """The metadata of the latest materialization or observation of one partition of an asset."""
    records_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition])
    if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
        [record] = instance.fetch_materializations(records_filter, limit=1).records
        return record.asset_materialization.metadata
    [record] = instance.fetch_observations(records_filter, limit=1).records
    return record.asset_observation.metadata


def assert_reports(data: Path, expected: Path) -> None:
    reference = reference_reports([expected])
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "parquet"), reference.reports[name], name)


@pytest.fixture
def folder(tmp_path):
    with dg.instance_for_test() as instance:
        yield LandingFolder(tmp_path, instance)


def test_a_corrected_re_send_through_the_sensor_under_union_then_latest_per_date_then_union(folder, tmp_path):
    first, second = folder.landing / "orders_20250303.csv", folder.landing / "orders_20250304.csv"
    generate_orders(first, rows=3_000, days=1, securities=4, seed=21)
    generate_orders(second, rows=3_000, days=1, securities=4, seed=22, start_date=date(2025, 3, 4))
    settle_with_checks(folder)
    clean = tree_hashes(folder.data, skip=("dagster_home", "state", "staging"))
    resent = tmp_path / "orders_20250303_v2.csv"
    generate_resend(first, resent, corrected_rows=300, seed=2)
    resent.rename(folder.landing / resent.name)
    resent = folder.landing / resent.name
    paths = [first, second, resent]

    # union (the default): both versions of the day count, and the warning check says so
    _, checks = settle_with_checks(folder)
    assert_reports(folder.data, expected_file(paths, "union", out=tmp_path / "union.csv"))
    summary = json.loads((folder.data / "reports" / "summary.json").read_text())
    [pair] = summary["rows_duplicated_across_files"]
    assert (pair["first_file"], pair["second_file"]) == ("orders_20250303.csv", "orders_20250303_v2.csv")
    assert summary["rows_counted_more_than_once"] == pair["rows"] > 0
    assert summary["rows_kept"] == summary["rows_in_partitions"]
    warned = checks[CHECK]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "orders_20250303_v2.csv" in warned.description and "latest_per_date" in warned.description
    assert f"line {pair['first_line_in_second']}" in warned.description
    page = (folder.data / "reports" / "index.html").read_text()
    assert "<h2>Rows in more than one file</h2>" in page and "rows are counted twice" in page
    assert f"<td>orders_20250303.csv</td><td>orders_20250303_v2.csv</td><td class=\"number\">{pair['rows']:,}</td>" in page
    observed = latest_metadata(folder.instance, "order_files", "orders_20250303_v2.csv", dg.DagsterEventType.ASSET_OBSERVATION)
    assert observed["rows_duplicated_across_files"].value == pair["rows"]
    assert table_cells(observed["duplicates_of"].value)[1:] == [[
        "orders_20250303.csv", "orders_20250303_v2.csv", f"{pair['rows']:,}", f"{pair['partitions']:,}",
        f"{pair['first_line_in_first']}, {pair['first_line_in_second']}"]]
    union_outputs = tree_hashes(folder.data, skip=("dagster_home", "state", "staging"))

    # latest_per_date: the re-send replaces the day; only 2025-03-03's partitions are assembled again
    latest = with_rule(folder, {"rule": "latest_per_date"})
    requests, checks = settle_with_checks(latest)
    assert [request.job_name for request in requests] == [PARTITIONS_JOB, REPORTS_JOB]
    assert requests[0].tags["dagster/asset_partition_range_start"].startswith("2025-03-03|")
    assert requests[0].tags["dagster/asset_partition_range_end"].startswith("2025-03-03|")
    assert_reports(folder.data, expected_file(paths, "latest_per_date", out=tmp_path / "latest.csv"))
    summary = json.loads((folder.data / "reports" / "summary.json").read_text())
    kept = {entry["source_file"]: entry for entry in summary["files"]}
    assert summary["rows_superseded"] == kept["orders_20250303.csv"]["rows_kept"]
    assert kept["orders_20250303.csv"]["rows_superseded"] == kept["orders_20250303.csv"]["rows_kept"]
    assert summary["rows_kept"] == summary["rows_in_partitions"] + summary["rows_superseded"]
    assert summary["overlap"] == {"rule": "latest_per_date", "columns": [], "duplicates": "warn"} and summary["rows_counted_more_than_once"] == 0
    assert checks[CHECK].passed and checks["kept_rows_in_partitions"].passed
    page = (folder.data / "reports" / "index.html").read_text()
    assert f"{summary['rows_superseded']:,} superseded" in page and "rows are counted twice" not in page
    key = requests[0].tags["dagster/asset_partition_range_start"]
    figures = latest_metadata(folder.instance, "filtered_orders", key, dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert figures["rows_superseded"].value > 0
    assert figures["overlapping_files"].value == "orders_20250303.csv, orders_20250303_v2.csv"

    # and back: the same bytes as under union before
    union = with_rule(latest, {"rule": "union"})
    settle_with_checks(union)
    assert tree_hashes(folder.data, skip=("dagster_home", "state", "staging")) == union_outputs
    resent.unlink()  # the re-send taken back: the clean outputs again
    settle_with_checks(union)
    assert tree_hashes(folder.data, skip=("dagster_home", "state", "staging")) == clean


def test_orders_assets_run_says_what_overlaps_and_dedups_a_partial_re_send(tmp_path):
    landing, data, config = tmp_path / "landing", tmp_path / "data", tmp_path / "orders.yaml"
    day = landing / "orders_20250303.csv"
    generate_orders(day, rows=3_000, days=1, securities=4, seed=23)
    generate_resend(day, landing / "orders_20250303_part.csv", securities=("BHP", "CSL"))
    command = [BIN / "orders-assets", "run", "--landing", landing, "--data", data, "--config", config]
    config.write_text("overlap: union\n")
    union = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert union.returncode == 0, union.stdout + union.stderr  # a warning, not a failure
    assert "rows of orders_20250303_part.csv (from line" in union.stdout
    assert "warning:" in union.stdout and "counted twice (overlap: union)" in union.stdout
    config.write_text("overlap: {rule: union, duplicates: error}\n")  # rows counted twice now fail the run
    strict = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1 and "FAILED build_reports" in strict.stdout, strict.stdout + strict.stderr
    assert "ingest_order_files" not in strict.stdout  # only the reports' run: their check runs again
    config.write_text("overlap: {dedup: [order_id, timestamp]}\n")
    dedup = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert dedup.returncode == 0, dedup.stdout + dedup.stderr
    assert "overlap (dedup):" in dedup.stdout and "warning:" not in dedup.stdout
    assert_reports(data, expected_file([day, landing / "orders_20250303_part.csv"], "dedup", ("order_id", "timestamp"),
                                       tmp_path / "dedup.csv"))
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["rows_kept"] == summary["rows_in_partitions"] + summary["rows_deduplicated"]
    assert summary["rows_deduplicated"] > 0
    config.write_text("overlap: {dedup: []}\n")
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert str(config) in refused.stderr and "needs its columns" in refused.stderr


def test_a_dedup_column_a_file_lacks_is_refused_before_any_partition_run(tmp_path, folder):
    """By `orders-assets run` (exit 2, the file and the columns named, no traceback) and by the sensor
    (a skipped tick saying the same), before a partition is assembled."""
    landing, data, config = tmp_path / "cli" / "landing", tmp_path / "cli" / "data", tmp_path / "orders.yaml"
    day = landing / "orders_20250303.csv"
    generate_orders(day, rows=1_000, days=1, securities=3, seed=24)
    generate_resend(day, landing / "orders_20250303_part.csv", securities=("BHP",))
    config.write_text("overlap: {dedup: [order_id, ordr_time]}\n")
    refused = subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data, "--config", config],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "error: overlap: dedup column ordr_time is not a column of orders_20250303.csv's rows" in refused.stderr
    assert not (data / "orders").exists()

    generate_orders(folder.landing / "a.csv", rows=1_000, days=1, securities=3, seed=25)
    strict = with_rule(folder, {"rule": "dedup", "columns": ["order_id", "ordr_time"]})
    strict.tick()  # sees the file
    assert strict.run(strict.tick()) == [INGEST_JOB]
    skipped = strict.tick()
    assert not skipped.run_requests
    assert "dedup column ordr_time is not a column of a.csv's rows" in skipped.skip_reason.skip_message
    assert not (folder.data / "orders").exists()
