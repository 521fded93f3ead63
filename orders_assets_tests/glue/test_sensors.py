"""The landing-folder sensor, ticked with Dagster's test context on a real instance (no daemon): each
run it requests is executed, and the reports after each step equal the independent computation on
the distinct files present."""
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.definitions import build_definitions
from orders_assets.glue.assets.orders import FILE_LINES_LOGGED
from orders_assets.glue.names import INGEST_JOB, ORDER_FILES, PARTITIONS_JOB, REPORTS_JOB
from orders_assets.glue.resources import OrdersSettings
from orders_assets.platform.instance import BATCHING_ENVIRONMENT, ensure_instance_folder, open_instance
from orders_assets.glue.names import SENSOR_NAME
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.reference import reference_reports

SENSOR_TIME_LIMIT_SECONDS = 60
"""Dagster's default limit for one sensor evaluation."""


class LandingFolder:
    """A landing folder, its data folder, the sensor's cursor, and the runs it requested."""

    def __init__(self, root, instance, settings: OrdersSettings | None = None):
        self.landing, self.data = root / "landing", root / "data"
        self.landing.mkdir(exist_ok=True)  # a second LandingFolder over the same folders: a changed config
        self.settings = settings or OrdersSettings(landing_dir=str(self.landing), data_dir=str(self.data))
        self.defs = build_definitions(self.settings)
        self.sensor = self.defs.resolve_sensor_def(SENSOR_NAME)
        self.instance = instance
        self.cursor = None

    def tick(self) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor,
                                          resources={"settings": self.settings})
        result = self.sensor(context)
        self.cursor = result.cursor
        return result

    def run(self, result: dg.SensorResult) -> list[str]:
        """Execute what a tick requested, as the daemon would; return the jobs run."""
        for request in result.run_requests:
            job = self.defs.resolve_job_def(request.job_name)
            assert job.execute_in_process(instance=self.instance, tags=request.tags).success
        return [request.job_name for request in result.run_requests]

    def settle(self, ticks: int = 8) -> list[str]:
        """Tick and run until the sensor has nothing to do; the jobs run, in order."""
        jobs = []
        for _ in range(ticks):
            result = self.tick()
            if not result.run_requests:
                return jobs
            jobs += self.run(result)
        raise AssertionError(f"the sensor did not settle in {ticks} ticks: {jobs}")

    def assert_reports_match(self, *names: str) -> None:
        reference = reference_reports([self.landing / name for name in names])
        for report in REPORT_NAMES:
            assert_report_equals(read_report(self.data / "reports", report, "parquet"), reference.reports[report], report)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A landing folder over the instance `orders-assets ui` and the daemon use: the project's
    dagster.yaml (batched event log) and Dagster's event batching switched on, as the UI sets it."""
    for name, value in BATCHING_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    ensure_instance_folder(tmp_path / "home")
    with open_instance(tmp_path / "home") as instance:
        yield LandingFolder(tmp_path, instance)


def test_a_half_written_file_waits_until_it_stops_changing(folder):
    generate_orders(folder.data.parent / "full.csv", rows=3_000, days=1, securities=3, seed=1)
    content = (folder.data.parent / "full.csv").read_bytes()
    half = content[: len(content) // 2]
    (folder.landing / "day.csv").write_bytes(half)
    assert not folder.tick().run_requests  # first look
    (folder.landing / "day.csv").write_bytes(content)
    assert not folder.tick().run_requests  # it grew since the last look
    assert folder.settle() == [INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB]
    folder.assert_reports_match("day.csv")


def test_a_done_marker_makes_a_file_complete_at_once(folder):
    generate_orders(folder.landing / "day.csv", rows=2_000, days=1, securities=3, seed=2)
    (folder.landing / "day.csv.done").write_text("")
    first = folder.tick()
    assert [request.job_name for request in first.run_requests] == [INGEST_JOB]


def test_the_same_file_twice_a_renamed_copy_a_correction_and_a_second_file_for_the_day(folder):
    generate_orders(folder.landing / "day1.csv", rows=4_000, days=1, securities=4, seed=1)
    folder.tick()
    assert folder.settle() == [INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB]
    folder.assert_reports_match("day1.csv")
    outputs = tree_hashes(folder.data, skip=("dagster_home", "state", "staging"))

    os.utime(folder.landing / "day1.csv", ns=(time.time_ns(), time.time_ns()))  # touched, same content
    shutil.copyfile(folder.landing / "day1.csv", folder.landing / "day1 (copy).csv")  # renamed copy
    folder.tick()
    assert folder.settle() == [REPORTS_JOB]  # nothing ingested or assembled; the summary names the copy
    summary = json.loads((folder.data / "reports" / "summary.json").read_text())
    assert [entry["source_file"] for entry in summary["skipped"]] == ["day1 (copy).csv"]
    page, summary_file = str(Path("reports") / "index.html"), str(Path("reports") / "summary.json")
    unchanged = {path: digest for path, digest in outputs.items() if path not in (page, summary_file)}
    now = tree_hashes(folder.data, skip=("dagster_home", "state", "staging"))
    assert {path: now[path] for path in unchanged} == unchanged
    folder.assert_reports_match("day1.csv")
    folder.tick()
    assert folder.settle() == []  # and then nothing new

    generate_orders(folder.landing / "day1.csv", rows=3_000, days=1, securities=4, seed=9)  # corrected
    folder.tick()
    jobs = folder.settle()
    assert jobs == [INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB]
    (folder.landing / "day1 (copy).csv").unlink()  # the old copy would count the old rows again
    folder.tick()
    folder.settle()
    folder.assert_reports_match("day1.csv")

    generate_orders(folder.landing / "day1-late.csv", rows=2_000, days=1, securities=4, seed=5,
                    start_date=date(2025, 3, 3))  # a second file for the same day and securities
    folder.tick()
    assert folder.settle() == [INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB]
    folder.assert_reports_match("day1.csv", "day1-late.csv")

    (folder.landing / "day1-late.csv").unlink()  # a file taken back: its rows leave
    folder.tick()
    assert folder.settle() == [PARTITIONS_JOB, REPORTS_JOB]
    folder.assert_reports_match("day1.csv")


def test_only_the_partitions_a_new_file_touches_are_requested(folder):
    generate_orders(folder.landing / "monday.csv", rows=3_000, days=1, securities=3, seed=1,
                    start_date=date(2025, 3, 3))
    folder.tick()
    folder.settle()
    generate_orders(folder.landing / "tuesday.csv", rows=3_000, days=1, securities=3, seed=2,
                    start_date=date(2025, 3, 4))
    folder.tick()
    folder.run(folder.tick())  # the ingest
    partitions = folder.tick()
    [request] = partitions.run_requests
    assert request.job_name == PARTITIONS_JOB
    assert request.tags["dagster/asset_partition_range_start"].startswith("2025-03-04|")
    assert request.tags["dagster/asset_partition_range_end"].startswith("2025-03-04|")


def test_a_tick_reads_the_store_once_whatever_it_decides(folder, monkeypatch):
    """Each tick lists the store's manifests and reads its catalog once (a snapshot), at every stage:
    a year's store is megabytes of manifests, and a tick used to list them five times."""
    from orders_assets.core.store.order_store import OrderStore

    reads = {"manifests": 0, "catalog_table": 0}
    for name in reads:
        def counted(self, _original=getattr(OrderStore, name), _name=name):
            reads[_name] += 1
            return _original(self)
        monkeypatch.setattr(OrderStore, name, counted)
    generate_orders(folder.landing / "monday.csv", rows=3_000, days=1, securities=3, seed=1)
    stages = []
    for _ in range(6):
        reads.update(manifests=0, catalog_table=0)
        result = folder.tick()
        stages.append(([request.job_name for request in result.run_requests], dict(reads)))
        folder.run(result)
    assert [jobs for jobs, _ in stages] == [[], [INGEST_JOB], [PARTITIONS_JOB], [REPORTS_JOB], [], []]
    assert all(counts == {"manifests": 1, "catalog_table": 1} for _, counts in stages), stages


def test_a_thousand_small_files_in_one_tick(folder):
    for number in range(1_000):
        (folder.landing / f"orders-{number:04d}.csv").write_text(
            "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n"
            f"{number},2025-03-03 1{number % 6}:00:00,S{number % 7},P{number % 13},B,CENTRE_POINT,"
            f"{1 + number / 1000:.3f},{100 + number}\n")
    assert not folder.tick().run_requests  # first look
    started = time.perf_counter()
    result = folder.tick()
    seconds = time.perf_counter() - started
    assert seconds < SENSOR_TIME_LIMIT_SECONDS / 4, seconds
    assert [request.job_name for request in result.run_requests] == [INGEST_JOB]
    folder.run(result)
    assert folder.settle() == [PARTITIONS_JOB, REPORTS_JOB]
    folder.assert_reports_match(*sorted(path.name for path in folder.landing.iterdir()))
    # the log names the first files one by one and counts the rest; every file's figures are on its partition
    [ingest] = folder.instance.get_run_records(dg.RunsFilter(job_name=INGEST_JOB))
    messages = [entry.user_message for entry in folder.instance.all_logs(ingest.dagster_run.run_id)]
    assert len([text for text in messages if " rows read, " in text]) == FILE_LINES_LOGGED
    assert f"... and {1_000 - FILE_LINES_LOGGED:,} more file(s) ingested" in "\n".join(messages)
    shown = folder.instance.fetch_materializations(dg.AssetKey(ORDER_FILES), limit=1_000).records
    assert len({record.partition_key for record in shown if record.asset_materialization.metadata.get("rows_read")}) \
        == 1_000


def test_hidden_temporary_and_outside_symlinked_files_are_ignored(folder, tmp_path):
    outside = tmp_path / "outside.csv"
    generate_orders(outside, rows=500, days=1, securities=2, seed=3)
    (folder.landing / "link.csv").symlink_to(outside)
    shutil.copyfile(outside, folder.landing / ".hidden.csv")
    shutil.copyfile(outside, folder.landing / "partial.csv.part")
    folder.tick()
    assert folder.settle() == []


def test_a_zip_of_several_order_files_waits_until_complete_then_each_member_is_a_source(folder):
    import zipfile

    plain = folder.data.parent / "plain"
    for name, seed in (("a.csv", 31), ("b.csv", 32)):
        generate_orders(plain / name, rows=1_500, days=1, securities=3, seed=seed)
    archive = folder.data.parent / "week.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as written:
        written.write(plain / "a.csv", "a.csv")
        written.write(plain / "b.csv", "days/b.csv")
    content = archive.read_bytes()
    (folder.landing / "week.zip").write_bytes(content[: len(content) // 2])  # its directory not yet written
    assert not folder.tick().run_requests
    (folder.landing / "week.zip").write_bytes(content)
    assert not folder.tick().run_requests  # its sources changed since the last look
    requested = folder.tick()
    [request] = requested.run_requests
    assert (request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"]) == ("week.zip!a.csv", "week.zip!days/b.csv")
    folder.run(requested)
    assert folder.settle() == [PARTITIONS_JOB, REPORTS_JOB]
    reference = reference_reports([plain / "a.csv", plain / "b.csv"])
    for report in REPORT_NAMES:
        assert_report_equals(read_report(folder.data / "reports", report, "parquet"), reference.reports[report], report)
    assert not folder.tick().run_requests
