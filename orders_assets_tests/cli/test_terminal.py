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
