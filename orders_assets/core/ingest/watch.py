"""One ingest step watched from start to end: its live progress, and its figures when it ends.

A step ingests many files one after another. `IngestWatch` follows their blocks with one
`ProgressMonitor` (so the progress and ETA are the step's, not a file's), writes the live file
`orders-assets run` draws its progress bar from, hands a progress line to the caller's log at a
steady cadence, and adds up the files' manifests into the step's totals and time split. It knows
nothing of Dagster: the asset gives it a log function and shows what `finish` returns.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from orders_assets.core.ingest.progress import (
    FINISHED_SUFFIX,
    MiB,
    PROGRESS_FOLDER,
    ProgressMonitor,
    ProgressSnapshot,
    StageClock,
    bottleneck_hint,
    mb_per_second,
    remove_stale_finished,
    write_progress,
)
from orders_assets.core.store.manifest import Manifest

PROGRESS_FILE_SECONDS = 1.0
"""How often <data>/state/progress/<run id>.json (the terminal's progress bar) is refreshed."""
RUN_PREFIX = "run_"
"""The step's figures are named run_rows_read, run_throughput_mb_per_s, ...: each file's partition
shows its own rows_read, throughput_mb_per_s, ..., and the step's totals must not hide them."""
TOTALS = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "bytes")


def progress_file(state: Path, run_id: str) -> Path:
    """The live progress file of one run (core.ingest.progress.latest_progress reads the newest)."""
    return state / PROGRESS_FOLDER / f"{run_id}.json"


class IngestWatch:
    """The step's progress, logged every `log_every` seconds and written to the live file about every
    second; the step's totals, time split and bottleneck when it ends."""

    def __init__(self, live_file: Path, run_id: str, file_sizes: list[int], log: Callable[[str], None],
                 log_every: float):
        self.live_file = live_file
        self.run_id = run_id
        self.log = log
        self.log_every = log_every
        self.monitor = ProgressMonitor(file_sizes, interval_seconds=min(PROGRESS_FILE_SECONDS, log_every))
        self.last_log = time.monotonic()
        self.stages = StageClock()
        self.wall_seconds = 0.0
        self.workers = 1
        self.totals = dict.fromkeys(TOTALS, 0)
        self.finished = False
        remove_stale_finished(live_file.parent, time.time())

    def on_block(self, bytes_done: int, counts) -> None:
        """The ingest's progress callback (core.ingest.source.Progress)."""
        snapshot = self.monitor.update(bytes_done, counts.rows_read, counts.rows_kept, counts.rows_rejected)
        if snapshot is not None:
            self._publish(snapshot)

    def file_done(self, size: int, manifest: Manifest | None) -> None:
        """One file is through: ingested (its manifest) or refused (None, its bytes count as done)."""
        counts = (0, 0, 0) if manifest is None else (manifest.rows_read, manifest.rows_kept,
                                                      manifest.rows_rejected)
        self.monitor.file_done(size, *counts)
        if manifest is None:
            return
        for stage, seconds in manifest.stage_seconds.items():
            self.stages.add(stage, seconds)
        self.wall_seconds += manifest.seconds
        self.workers = manifest.workers
        for name in self.totals:
            self.totals[name] += getattr(manifest, name)

    def finish(self, engine_seconds: float) -> dict[str, int | float | str]:
        """Publishes the last snapshot and returns the step's figures: peak memory, then the totals,
        throughput, seconds per stage and the bottleneck's hint, each under RUN_PREFIX."""
        snapshot = self.monitor.snapshot()
        self._publish(snapshot, force_log=True, done=True)
        self.finished = True
        run_figures = {
            **self.totals,
            "throughput_mb_per_s": mb_per_second(self.totals["bytes"], engine_seconds),
            "rows_per_s": round(self.totals["rows_read"] / engine_seconds) if engine_seconds else 0,
            **{f"{stage}_seconds": round(seconds, 3) for stage, seconds in self.stages.seconds.items()},
            "bottleneck": bottleneck_hint(self.stages.seconds, self.wall_seconds, self.workers),
        }
        return {"peak_rss_mib": round(snapshot.peak_rss_bytes / MiB, 1),
                **{f"{RUN_PREFIX}{name}": value for name, value in run_figures.items()}}

    def close(self) -> None:
        """Progress is a live view, not an output: its file goes when the step ends, its last (100%)
        snapshot kept as <run id>.done for the command's final line when the step finished."""
        if self.finished and self.live_file.exists():
            self.live_file.replace(self.live_file.with_suffix(FINISHED_SUFFIX))
        else:
            self.live_file.unlink(missing_ok=True)

    def _publish(self, snapshot: ProgressSnapshot, force_log: bool = False, done: bool = False) -> None:
        write_progress(self.live_file, snapshot, self.run_id, done)
        now = time.monotonic()
        if force_log or now - self.last_log >= self.log_every:
            self.last_log = now
            self.log(snapshot.line())
