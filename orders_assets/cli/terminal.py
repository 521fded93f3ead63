"""The progress bar of `orders-assets run`: it follows the ingest's live progress file while the
command waits for its Dagster runs, and draws it on the terminal (a bar redrawn in place on a TTY;
a line every few seconds when the output is a log or a pipe)."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from orders_assets.core.ingest.progress import MiB, format_seconds, latest_progress, take_finished_progress

BAR_WIDTH = 24


def bar_line(progress: dict) -> str:
    """'ingest [#########---------------]  38%  380 of 1,000 MB  120 MB/s  ETA 5 s  ...'."""
    fraction = progress["fraction"]
    filled = round(BAR_WIDTH * fraction)
    eta = progress["eta_seconds"]
    return (
        f"ingest [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {100 * fraction:3.0f}%  "
        f"{progress['bytes_done'] / 1e6:,.0f} of {progress['bytes_total'] / 1e6:,.0f} MB  "
        f"{progress['bytes_per_second'] / 1e6:,.0f} MB/s  ETA {format_seconds(eta)}  "
        f"{progress['rows_read']:,} rows  RSS {progress['rss_bytes'] / MiB:,.0f} MiB  CPU {progress['cpu_percent']:.0f}%"
    )


class ProgressBar:
    """Draws the latest progress of the data folder's ingest runs until stopped (a context manager)."""

    def __init__(self, state_folder: Path, stream: TextIO | None = None, refresh_seconds: float = 0.25,
                 line_seconds: float = 5.0):
        self.state_folder = state_folder
        self.stream = stream or sys.stderr  # the stderr of now, not the one at import (tests replace it)
        self.refresh = refresh_seconds
        self.line_every = line_seconds
        self.in_place = self.stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="progress-bar", daemon=True)
        self._drawn = False
        self._last = None
        self._last_line = 0.0
        self._started = time.time()

    def __enter__(self) -> "ProgressBar":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        final = take_finished_progress(self.state_folder, self._started - 1.0)  # mtimes are coarse
        if final is not None and final != self._last:
            self._last = final
            self._draw(final)  # the step ended between two looks: its 100% line, not the last one seen
        if self._drawn and self.in_place:
            self.stream.write("\n")
            self.stream.flush()

    def _follow(self) -> None:
        while not self._stop.wait(self.refresh):
            progress = latest_progress(self.state_folder)
            if progress is not None and progress != self._last:
                self._last = progress
                self._draw(progress)

    def _draw(self, progress: dict) -> None:
        line = bar_line(progress)
        if self.in_place:
            self.stream.write("\r" + line)
        elif time.monotonic() - self._last_line >= self.line_every or progress.get("done"):
            self._last_line = time.monotonic()
            self.stream.write(line + "\n")
        else:
            return
        self.stream.flush()
        self._drawn = True
