"""Where an ingest is, what it costs and when it ends; and where its time goes.

`ProgressMonitor` follows the bytes of every file a step ingests and says, at a steady cadence
(never per block), how far it is: bytes and rows done, throughput, ETA, current and peak memory
(RSS), CPU use. `StageClock` adds up the seconds each stage of the one pass takes (reading,
parsing, filtering, writing), on whichever thread it runs, so the end of an ingest can say which
stage bounds it. Both are plain Python over psutil: the Dagster glue logs and shows them.
"""
from __future__ import annotations

import json
import resource
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import psutil

from orders_assets.core.store.atomic import atomic_write_json

MiB = 1 << 20
PROGRESS_FOLDER = "progress"
"""Under <data>/state: one live JSON file per ingest run in progress; when the run ends it is renamed
to <run id>.done (its last, 100% snapshot), read and removed by the command that drew the progress."""
FINISHED_SUFFIX = ".done"
FINISHED_KEPT_SECONDS = 3600.0
"""A finished run's last snapshot no command came to read (a run of the UI) is removed after this."""
RATE_WINDOW_SECONDS = 20.0
DEFAULT_INTERVAL_SECONDS = 5.0
"""How often progress is reported: often enough to follow a 200 GB run, rare enough not to flood logs."""
STAGES = ("read", "parse", "filter", "write")
"""The one pass's stages: read (decompress, cut blocks: one thread), parse (Arrow CSV, layout,
validation) and filter (the order set's rule, exact prices) on the worker threads, write (staging
flushes on their thread, quarantine)."""


@dataclass(frozen=True)
class ProgressSnapshot:
    """One look at an ingest in progress (all files of a step together)."""

    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    rows_read: int
    rows_kept: int
    rows_rejected: int
    elapsed_seconds: float
    rss_bytes: int
    peak_rss_bytes: int
    cpu_percent: float
    """Of one core: 200 means two cores busy."""
    recent_bytes_per_second: float = 0.0
    """Over the last RATE_WINDOW_SECONDS: what the ETA goes by (the start-up's slow first blocks fade out)."""

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_done / self.bytes_total) if self.bytes_total else 1.0

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_done / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the recent rate (the average so far until there is a recent one; None
        until there is any)."""
        rate = self.recent_bytes_per_second or self.bytes_per_second
        if self.bytes_done <= 0 or rate <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / rate)

    def line(self) -> str:
        """One log line: 'ingest 45.2% (452 of 1,000 MB, file 1 of 3), 3,120,000 rows ...'."""
        eta = self.eta_seconds
        return (
            f"ingest {100 * self.fraction:.1f}% ({self.bytes_done / 1e6:,.0f} of {self.bytes_total / 1e6:,.0f} MB, "
            f"file {min(self.files_done + 1, self.files_total)} of {self.files_total}), "
            f"{self.rows_read:,} rows ({self.rows_kept:,} kept, {self.rows_rejected:,} rejected), "
            f"{self.bytes_per_second / 1e6:,.0f} MB/s, ETA {format_seconds(eta)}, "
            f"RSS {self.rss_bytes / MiB:,.0f} MiB (peak {self.peak_rss_bytes / MiB:,.0f}), CPU {self.cpu_percent:.0f}%"
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "fraction": round(self.fraction, 4), "bytes_per_second": round(self.bytes_per_second),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1)}


def write_progress(path, snapshot: ProgressSnapshot, run_id: str, done: bool = False) -> None:
    """The latest snapshot as JSON, replaced atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"run_id": run_id, "done": done, **snapshot.as_dict()})


def latest_progress(state_folder) -> dict | None:
    """The most recently updated progress of a run in progress, if any."""
    folder = state_folder / PROGRESS_FOLDER
    files = sorted(folder.glob("*.json"), key=_mtime) if folder.is_dir() else []
    for path in reversed(files):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


def take_finished_progress(state_folder, since: float) -> dict | None:
    """The last snapshot of the newest run finished since `since` (a time.time()), and every such
    snapshot removed: the command's final progress line, read once."""
    folder = state_folder / PROGRESS_FOLDER
    finished = [path for path in (folder.glob(f"*{FINISHED_SUFFIX}") if folder.is_dir() else ()) if _mtime(path) >= since]
    newest = None
    for path in sorted(finished, key=_mtime):
        try:
            newest = json.loads(path.read_text())
        except (OSError, ValueError):
            pass
        path.unlink(missing_ok=True)
    return newest


def remove_stale_finished(folder, now: float) -> None:
    """Finished snapshots older than FINISHED_KEPT_SECONDS: nobody is coming for them."""
    for path in folder.glob(f"*{FINISHED_SUFFIX}") if folder.is_dir() else ():
        if now - _mtime(path) > FINISHED_KEPT_SECONDS:
            path.unlink(missing_ok=True)


def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def peak_rss_bytes() -> int:
    """The process's peak resident memory so far (Linux reports kilobytes; the kernel's figure can
    trail a reading of the current RSS taken just after, so snapshots take the larger)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ProgressMonitor:
    """Progress over the files of one step; `update` returns a snapshot when one is due.

    Thread-safe: the ingest calls it from the thread that consumes blocks.
    """

    def __init__(self, file_sizes: list[int], interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.bytes_total = sum(file_sizes)
        self.files_total = len(file_sizes)
        self.interval = interval_seconds
        self.clock = clock
        self.started = clock()
        self.last_report = self.started
        self.finished_bytes = 0
        self.files_done = 0
        self.current = (0, 0, 0, 0)
        self.finished_rows = (0, 0, 0)
        self.process = psutil.Process()
        self.process.cpu_percent(None)  # the first reading starts the CPU interval
        self.samples: deque[tuple[float, int]] = deque()
        """(time, bytes done) of recent updates, for the recent rate."""
        self._lock = threading.Lock()

    def update(self, file_bytes_done: int, rows_read: int, rows_kept: int, rows_rejected: int) -> ProgressSnapshot | None:
        """Progress within the current file; a snapshot when the interval has passed, else None."""
        with self._lock:
            self.current = (file_bytes_done, rows_read, rows_kept, rows_rejected)
            now = self.clock()
            self.samples.append((now, self.finished_bytes + file_bytes_done))
            while now - self.samples[0][0] > RATE_WINDOW_SECONDS:
                self.samples.popleft()
            if now - self.last_report < self.interval:
                return None
            self.last_report = now
        return self.snapshot()

    def _recent_rate(self) -> float:
        """Bytes per second over the samples of the window (0 until they span a second)."""
        if len(self.samples) < 2:
            return 0.0
        (first_time, first_bytes), (last_time, last_bytes) = self.samples[0], self.samples[-1]
        span = last_time - first_time
        return (last_bytes - first_bytes) / span if span >= 1.0 else 0.0

    def file_done(self, file_bytes: int, rows_read: int, rows_kept: int, rows_rejected: int) -> None:
        with self._lock:
            self.finished_bytes += file_bytes
            self.files_done += 1
            read, kept, rejected = self.finished_rows
            self.finished_rows = (read + rows_read, kept + rows_kept, rejected + rows_rejected)
            self.current = (0, 0, 0, 0)

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            file_bytes, read, kept, rejected = self.current
            done_read, done_kept, done_rejected = self.finished_rows
            rss = self.process.memory_info().rss
            return ProgressSnapshot(
                bytes_done=self.finished_bytes + file_bytes, bytes_total=self.bytes_total,
                files_done=self.files_done, files_total=self.files_total,
                rows_read=done_read + read, rows_kept=done_kept + kept, rows_rejected=done_rejected + rejected,
                elapsed_seconds=self.clock() - self.started, rss_bytes=rss,
                peak_rss_bytes=max(rss, peak_rss_bytes()), cpu_percent=self.process.cpu_percent(None),
                recent_bytes_per_second=self._recent_rate(),
            )


class StageClock:
    """Seconds spent per stage, added from any thread."""

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds

    @contextmanager
    def timing(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)


def mb_per_second(bytes_done: int, seconds: float) -> float:
    """Throughput in MB/s to one decimal (0 for no time)."""
    return round(bytes_done / 1e6 / seconds, 1) if seconds else 0.0


def bottleneck_hint(stage_seconds: dict[str, float], wall_seconds: float, workers: int) -> str:
    """Which stage bounds the pass, from the seconds each took (summed over threads) and the wall time.

    Reading runs on one thread, parsing and filtering share `workers` threads, writing has one
    thread; a stage whose threads were busy most of the wall time is the one to speed up.
    """
    if wall_seconds <= 0:
        return "too short to tell"
    busy = {
        "read": stage_seconds.get("read", 0.0) / wall_seconds,
        "parse + filter": (stage_seconds.get("parse", 0.0) + stage_seconds.get("filter", 0.0)) / (workers * wall_seconds),
        "write": stage_seconds.get("write", 0.0) / wall_seconds,
    }
    stage, share = max(busy.items(), key=lambda item: item[1])
    advice = {
        "read": "reading (disk or decompression) bounds it: a faster disk, or uncompressed or zstd files, would help",
        "parse + filter": f"parsing and filtering bound it ({workers} worker thread(s) busy): more cores would help",
        "write": "writing staged rows bounds it: a faster disk for the data folder would help",
    }[stage]
    return f"{advice} ({stage} busy {100 * min(share, 1.0):.0f}% of the time)"
