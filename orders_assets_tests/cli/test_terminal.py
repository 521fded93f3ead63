"""The terminal progress bar of `orders-assets run`, fed by the live progress file."""
import io
import time

from orders_assets.core.ingest.progress import PROGRESS_FOLDER, ProgressMonitor, write_progress
from orders_assets.cli.terminal import ProgressBar, bar_line


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def snapshot(bytes_done: int, seconds: float):
    clock = FakeClock()
    monitor = ProgressMonitor([1_000_000_000], clock=clock)
    clock.now = seconds
    monitor.update(bytes_done, bytes_done // 100, 0, 0)
    return monitor.snapshot()


def test_the_bar_shows_share_sizes_rate_and_eta():
    line = bar_line(snapshot(250_000_000, 2.5).as_dict())
    assert line.startswith("ingest [######------------------]  25%  250 of 1,000 MB  100 MB/s  ETA 8 s  2,500,000 rows")


def test_a_pipe_gets_a_line_per_interval_and_the_final_one(tmp_path):
    stream = io.StringIO()
    folder = tmp_path / PROGRESS_FOLDER
    with ProgressBar(tmp_path, stream, refresh_seconds=0.05, line_seconds=60):
        write_progress(folder / "run.json", snapshot(100_000_000, 1.0), "run")
        time.sleep(0.3)
        write_progress(folder / "run.json", snapshot(500_000_000, 5.0), "run")  # inside the interval: skipped
        time.sleep(0.3)
        write_progress(folder / "run.json", snapshot(1_000_000_000, 10.0), "run", done=True)
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert [line.split("]")[1].split("%")[0].strip() for line in lines] == ["10", "100"]


def test_a_step_that_ends_between_two_looks_still_leaves_its_100_percent_line(tmp_path):
    """The bar looks every few seconds; the step's last snapshot (written as it ends) is drawn when
    the bar stops, not the 23% it saw last, and is then removed."""
    from orders_assets.core.ingest.source import RowCounts
    from orders_assets.core.ingest.watch import IngestWatch, progress_file

    stream = io.StringIO()
    with ProgressBar(tmp_path, stream, refresh_seconds=0.05, line_seconds=60) as bar:
        watch = IngestWatch(progress_file(tmp_path, "run"), "run", [1_000_000], log=lambda line: None, log_every=0.0)
        watch.on_block(230_000, RowCounts(rows_read=2_300))
        time.sleep(0.3)
        bar.refresh = 60  # the bar looks no more: the step ends unseen
        watch.on_block(1_000_000, RowCounts(rows_read=10_000))
        watch.finish(1.0)
        watch.close()
    lines = stream.getvalue().splitlines()
    assert [line.split("]")[1].split("%")[0].strip() for line in lines] == ["23", "100"]
    assert "10,000 rows" in lines[-1]
    assert not list((tmp_path / PROGRESS_FOLDER).iterdir())  # read once, then gone
