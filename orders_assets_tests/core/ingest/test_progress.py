"""The execution monitor's core: cadence, rates and ETA, the time split and its hint, and the live
progress file; and an ingest that feeds them real figures."""
import json
import threading

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.ingest.progress import (
    PROGRESS_FOLDER,
    ProgressMonitor,
    StageClock,
    bottleneck_hint,
    format_seconds,
    latest_progress,
    write_progress,
)
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_reported_at_the_cadence_with_rate_and_eta_over_all_files():
    clock = FakeClock()
    monitor = ProgressMonitor([600, 400], interval_seconds=5.0, clock=clock)
    clock.now += 2
    assert monitor.update(100, 10, 2, 1) is None  # not due yet
    clock.now += 3
    snapshot = monitor.update(250, 25, 5, 1)
    assert (snapshot.bytes_done, snapshot.rows_read, snapshot.files_done) == (250, 25, 0)
    assert snapshot.bytes_per_second == pytest.approx(250 / 5)
    assert snapshot.eta_seconds == pytest.approx((1000 - 250) / ((250 - 100) / 3))  # the rate since the first update
    assert monitor.update(300, 30, 6, 1) is None  # the next one is 5 s later
    monitor.file_done(600, 60, 12, 2)
    clock.now += 5
    snapshot = monitor.update(100, 7, 1, 0)
    assert (snapshot.bytes_done, snapshot.rows_read, snapshot.rows_kept, snapshot.rows_rejected) == (700, 67, 13, 2)
    assert snapshot.fraction == pytest.approx(0.7)
    assert snapshot.eta_seconds == pytest.approx(300 / ((700 - 100) / (110 - 102)))
    assert snapshot.rss_bytes > 0 and snapshot.peak_rss_bytes >= snapshot.rss_bytes
    line = snapshot.line()
    assert "70.0% (0 of 0 MB, file 2 of 2)" in line and "67 rows (13 kept, 2 rejected)" in line and "ETA 4 s" in line


def test_the_eta_goes_by_the_recent_rate_so_a_slow_start_fades_out():
    clock = FakeClock()
    monitor = ProgressMonitor([10_000], interval_seconds=1.0, clock=clock)
    clock.now += 10
    monitor.update(100, 1, 0, 0)  # a slow start: 10 bytes/s
    for _ in range(30):  # then 100 bytes/s
        clock.now += 1
        snapshot = monitor.update(monitor.current[0] + 100, 1, 0, 0)
    assert snapshot.bytes_done == 3_100
    assert snapshot.bytes_per_second == pytest.approx(3_100 / 40)
    assert snapshot.recent_bytes_per_second == pytest.approx(100)
    assert snapshot.eta_seconds == pytest.approx(6_900 / 100)


def test_no_eta_before_any_byte_and_durations_read_as_people_say_them():
    monitor = ProgressMonitor([10], clock=FakeClock())
    assert monitor.snapshot().eta_seconds is None and "ETA ?" in monitor.snapshot().line()
    assert [format_seconds(value) for value in (4.4, 75, 3725)] == ["4 s", "1 min 15 s", "1 h 02 min"]


def test_the_hint_names_the_stage_whose_threads_were_busiest():
    assert bottleneck_hint({"read": 9.0, "parse": 4.0, "filter": 1.0, "write": 1.0}, 10.0, 2).startswith("reading")
    assert bottleneck_hint({"read": 2.0, "parse": 16.0, "filter": 2.0, "write": 1.0}, 10.0, 2).startswith(
        "parsing and filtering bound it (2 worker thread(s) busy)")
    assert "(parse + filter busy 90% of the time)" in bottleneck_hint({"parse": 16.0, "filter": 2.0}, 10.0, 2)
    assert bottleneck_hint({"read": 1.0, "parse": 2.0, "write": 8.0}, 10.0, 2).startswith("writing")


def test_the_stage_clock_adds_up_from_many_threads():
    clock = StageClock()

    def add_many():
        for _ in range(1000):
            clock.add("parse", 0.001)

    threads = [threading.Thread(target=add_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.seconds["parse"] == pytest.approx(4.0)


def test_the_live_file_is_replaced_whole_and_the_newest_run_is_read(tmp_path):
    monitor = ProgressMonitor([10])
    write_progress(tmp_path / PROGRESS_FOLDER / "old.json", monitor.snapshot(), "old")
    monitor.update(5, 1, 0, 0)
    write_progress(tmp_path / PROGRESS_FOLDER / "new.json", monitor.snapshot(), "new", done=True)
    latest = latest_progress(tmp_path)
    assert latest["run_id"] == "new" and latest["done"] and latest["bytes_done"] == 5
    assert latest_progress(tmp_path / "nothing") is None


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz", "orders.csv.zst"])
def test_an_ingest_reports_progress_in_bytes_of_the_file_and_its_time_per_stage(tmp_path, name):
    generate_orders(tmp_path / "landing" / name, rows=120_000, days=2, securities=5, seed=4)
    [source] = discover_sources(tmp_path / "landing")
    seen = []
    settings = IngestSettings(block_bytes=1 << 20)
    manifest = ingest_source(ChunkedSource(source, settings), OrderStore(tmp_path / "data"),
                             lambda done, counts: seen.append((done, counts.rows_read)))
    assert len(seen) > 2
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (source.size, 120_000)  # compressed files: their own bytes, not the text's
    stages = manifest.stage_seconds
    assert set(stages) == {"read", "parse", "filter", "write"} and stages["parse"] > 0
    assert manifest.workers == settings.worker_count
    assert Manifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
