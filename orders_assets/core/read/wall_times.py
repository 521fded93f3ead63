"""Wall times a time zone skips (the hour clocks jump over when daylight saving starts), tabled for
the compiled pass (row_kernel's `gaps`): a row at one of them is rejected as the exact path rejects
it; a timestamp outside the tabled years is deferred to the exact path."""
from __future__ import annotations

import functools
from datetime import datetime, timezone as utc_zone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.read import row_kernel as kernel


@functools.lru_cache(maxsize=32)
def nonexistent_wall_times(timezone: str) -> np.ndarray:
    """The zone's wall times that do not exist (the hour skipped when clocks go forward), years
    kernel.FIRST_YEAR to LAST_YEAR, as sorted [start, end) pairs of microseconds since 1970.

    The zone's offsets come from Arrow's time-zone database, the one the exact path judges by
    (assume_timezone): taken at every UTC midnight in one call, then, where a day's offset differs
    from the day before, narrowed to the hour, the minute and the second of the change."""
    first = int((datetime(kernel.FIRST_YEAR - 1, 12, 30, tzinfo=utc_zone.utc) - EPOCH).total_seconds())
    last = int((datetime(kernel.LAST_YEAR + 1, 1, 2, tzinfo=utc_zone.utc) - EPOCH).total_seconds())
    midnights = np.arange(first, last + 1, 86_400, dtype=np.int64)
    offsets = _utc_offsets(midnights, timezone)
    gaps = []
    for day in np.flatnonzero(offsets[1:] != offsets[:-1]) + 1:
        before, after = int(offsets[day - 1]), int(offsets[day])
        change = _first_change(int(midnights[day - 1]), before, timezone)
        if after > before:  # clocks went forward: the wall times [change + before, change + after) never show
            gaps.append(((change + before) * 1_000_000, (change + after) * 1_000_000))
    return np.array(gaps, dtype=np.int64).reshape(-1, 2)


def _utc_offsets(seconds: np.ndarray, timezone: str) -> np.ndarray:
    """The zone's UTC offset, in seconds, at each instant (seconds since 1970)."""
    instants = pa.array(seconds * 1_000_000, pa.timestamp("us", tz=timezone))
    local = pc.local_timestamp(instants).cast(pa.int64()).to_numpy()
    return (local - seconds * 1_000_000) // 1_000_000


def _first_change(start: int, offset: int, timezone: str) -> int:
    """The first second after `start` at which the zone's offset is no longer `offset` (within a day)."""
    for step, span in ((3_600, 86_400), (60, 3_600), (1, 60)):
        candidates = np.arange(start + step, start + span + 1, step, dtype=np.int64)
        changed = np.flatnonzero(_utc_offsets(candidates, timezone) != offset)
        start = int(candidates[changed[0]]) - step
    return start + 1


EPOCH = datetime(1970, 1, 1, tzinfo=utc_zone.utc)
