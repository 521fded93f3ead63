"""The contract's timestamp grammar and time zones: text or typed values to instants and
exchange-local wall times, with a flag for each present value that is not a valid date-time.

Apart from the other row rules because time zones bring their own hazards (DST gaps, repeated
hours, offsets that carry a date past year 9999) and their own fast and slow paths: a column of
plain local date-times of one width takes one vectorised cast; any other column is screened on
its bytes (`plain_local_rows`), and only the values the screen does not call plain (an offset, a
bad value, 7-9 fractional digits) are parsed shape by shape. Wall times become instants by the
zone's offset per hour of the block; a block holding a transition hour takes Arrow's per-value
conversion. Either way a value's instant and verdict never depend on the rows beside it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.read.arrays import all_false, as_array, string_bytes

TIMESTAMP_UNIT = "us"
NAIVE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?$"
OFFSET_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-5][0-9])$"
SECONDS_LENGTH = len("2025-03-03 10:00:00")
"""Arrow's cast also takes a date alone, or without minutes or seconds; the patterns above do not,
so a column takes the whole-column cast only when no value is shorter than this."""
FIRST_MICROSECOND = (datetime.min - datetime(1970, 1, 1)) // timedelta(microseconds=1)
LAST_MICROSECOND = (datetime.max - datetime(1970, 1, 1)) // timedelta(microseconds=1)
"""Instants of years 1-9999 in UTC; an offset or a time zone can carry a valid-looking value outside them."""
CAST_SLICE = 1024
"""Values cast together on the slow path; a slice the cast refuses is parsed value by value."""
MICROS_PER_HOUR = 3_600_000_000
GRID_HOURS_LIMIT = 24 * 400
"""A block spanning more hours than this takes Arrow's per-value time zone conversion instead of
the hour grid (the grid would cost more than it saves)."""
PLAIN_LENGTHS = (19, 21, 22, 23, 24, 25, 26)
"""Lengths of `YYYY-MM-DD HH:MM:SS` with no fraction or 1-6 fractional digits: the shapes the
screen decides alone; any other length (7-9 digits, an offset, a typo) takes the exact slow path."""
DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int16)


def timestamp_type(timezone: str) -> pa.DataType:
    return pa.timestamp(TIMESTAMP_UNIT, timezone)


def parse_timestamps(column: pa.ChunkedArray, timezone: str,
                     naive_timezone: str | None = None) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(instants as timestamp[us, timezone], exchange-local wall time, flag of invalid present values).

    A value without an offset is wall time in `naive_timezone` (default: the exchange's, where
    its wall time is the value itself); a value in a DST gap does not exist and is invalid; an
    ambiguous one (the repeated hour) takes the earlier instant.
    """
    if naive_timezone is not None and naive_timezone != timezone:
        instants, _, bad = parse_timestamps(column, naive_timezone)
        instants = pc.cast(instants, timestamp_type(timezone))
        return instants, pc.local_timestamp(instants), bad
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            return _assume_local(pc.cast(column, pa.timestamp(TIMESTAMP_UNIT), safe=False), timezone)
        instants = pc.cast(column, timestamp_type(timezone), safe=False)  # nanoseconds are truncated
        outside = _outside_years(instants)
        if outside is not None:  # Parquet's int64 reaches past year 9999, Python's datetime does not
            instants = pc.if_else(outside, pa.scalar(None, instants.type), instants)
        return instants, pc.local_timestamp(instants), outside if outside is not None else all_false(len(column))
    text = pc.cast(column, pa.string())
    naive = _plain_local(text)
    if naive is None:  # the screen decides value by value
        return _parse_screened(as_array(text), timezone)
    return _assume_local(naive, timezone)


def _plain_local(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """The values as naive timestamps when they are all of one width, with seconds, and the one
    vectorised cast takes every one, else None. Values of several widths make a bad value or an
    offset likely, so the cast is not tried; a value shorter than SECONDS_LENGTH (a date alone,
    which the cast takes) is left to the patterns, which judge each value whatever its neighbours."""
    widths = pc.min_max(pc.binary_length(text)).as_py()
    if widths["min"] != widths["max"] or (widths["min"] is not None and widths["min"] < SECONDS_LENGTH):
        return None
    try:
        return pc.cast(text, pa.timestamp(TIMESTAMP_UNIT))
    except pa.ArrowInvalid:
        return None


def _parse_screened(text: pa.Array, timezone: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """A column that is not all plain local date-times (a block with a bad value or an offset): the
    values the screen finds plainly valid are converted by it, only the others take the exact slow
    path, so a value's fate never depends on its neighbours and a bad row costs one row."""
    plain, micros = plain_local_rows(text)
    if not plain.any():
        return _parse_mixed_timestamps(text, timezone)
    naive = pa.array(np.where(plain, micros, micros[int(np.argmax(plain))]), pa.timestamp(TIMESTAMP_UNIT))
    fast = _assume_local(naive, timezone)  # a plain value in the others' places keeps the fast path whole
    if plain.all():
        return fast
    slow = _parse_mixed_timestamps(text.take(pa.array(np.flatnonzero(~plain))), timezone)
    mask = pa.array(~plain)
    return tuple(pc.replace_with_mask(as_array(fast[index]), mask, as_array(slow[index])) for index in range(3))


def plain_local_rows(text: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """(plain, micros): plain is True for values of the exact shape YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}]
    whose fields are a real date and time of years 1-9999, and micros their wall time in
    microseconds since 1970 (what Arrow's cast gives them; 0 where not plain). Computed on the
    column's bytes with numpy, one fixed-width matrix per length, so a bad value costs its row."""
    lengths = pc.fill_null(pc.binary_length(text), 0).to_numpy(zero_copy_only=False)
    plain = np.zeros(len(text), dtype=bool)
    micros = np.zeros(len(text), dtype=np.int64)
    for length in PLAIN_LENGTHS:
        rows = np.flatnonzero(lengths == length)
        if rows.size:
            taken = text.take(pa.array(rows)) if rows.size != len(text) else text
            plain[rows], micros[rows] = _plain_shape(_fixed_width(taken, length))
    if text.null_count:
        plain &= pc.is_valid(text).to_numpy(zero_copy_only=False)
    return plain, np.where(plain, micros, 0)


def _fixed_width(text: pa.StringArray, length: int) -> np.ndarray:
    """The bytes of a string array whose values all have `length` bytes, as a (rows, length) matrix."""
    offsets, data = string_bytes(text)
    return data[offsets[0]:offsets[0] + len(text) * length].reshape(len(text), length)


def _plain_shape(chars: np.ndarray) -> np.ndarray:
    """The screen on a (rows, length) byte matrix, worked column by column on its transpose (each
    position one contiguous row: five times faster than reducing along the short rows)."""
    by_position = np.ascontiguousarray(chars.T)
    digits = by_position - np.uint8(ord("0"))  # a non-digit byte wraps to above 9
    separators = {4: b"-", 7: b"-", 10: b" T", 13: b":", 16: b":", 19: b"."}
    ok = np.ones(len(chars), dtype=bool)
    for position in range(chars.shape[1]):
        if position in separators:
            allowed = separators[position]
            matches = by_position[position] == allowed[0]
            if len(allowed) > 1:
                matches |= by_position[position] == allowed[1]
            ok &= matches
        else:
            ok &= digits[position] <= 9

    def number(*positions: int) -> np.ndarray:
        value = np.zeros(len(chars), dtype=np.int16)
        for position in positions:
            value = value * 10 + digits[position]
        return value

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    hour, minute, second = number(11, 12), number(14, 15), number(17, 18)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    fraction = np.zeros(len(chars), dtype=np.int64)
    for position in range(20, chars.shape[1]):
        fraction = fraction * 10 + digits[position]
    fraction *= 10 ** (26 - chars.shape[1])  # to microseconds (no digits at length 19: stays 0)
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    return ok, seconds * 1_000_000 + fraction


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil)."""
    year = year.astype(np.int64) - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month.astype(np.int64) + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _assume_local(naive: pa.ChunkedArray, timezone: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Wall times in `timezone` as instants; those in a DST gap, or whose instant leaves years
    1-9999 (0001-01-01 00:00 in Sydney), are null and flagged."""
    by_hours = _assume_local_by_hours(naive, timezone)
    if by_hours is not None:
        return by_hours
    try:
        instants = pc.assume_timezone(naive, timezone, ambiguous="earliest", nonexistent="raise")
        invalid = None
    except pa.ArrowInvalid:
        instants = pc.assume_timezone(naive, timezone, ambiguous="earliest", nonexistent="earliest")
        invalid = pc.fill_null(pc.not_equal(pc.local_timestamp(instants), naive), False)
    outside = _outside_years(instants)
    if outside is not None:
        invalid = outside if invalid is None else pc.or_(invalid, outside)
    if invalid is None:
        return pc.cast(instants, timestamp_type(timezone)), naive, all_false(len(naive))
    instants = pc.if_else(invalid, pa.scalar(None, instants.type), instants)
    local = pc.if_else(invalid, pa.scalar(None, naive.type), naive)
    return pc.cast(instants, timestamp_type(timezone)), local, invalid


def _assume_local_by_hours(naive: pa.Array | pa.ChunkedArray, timezone: str) -> tuple | None:
    """Wall times to instants by the offset of each hour they fall in (Arrow converts each value
    through the time zone database: 8 ms a 230k-row block; this costs about 2).

    The zone's offset is looked up once per hour of the block's span, at each hour's start; an
    hour whose start and end have the same offset, neither in a gap nor repeated, holds no
    transition (transitions in the tz database are months apart), so every value in it has that
    offset. A block with a value in another hour, with nulls, or spanning more than
    GRID_HOURS_LIMIT hours returns None and takes the per-value conversion."""
    values = as_array(naive)
    if len(values) == 0 or values.null_count:
        return None
    micros = pc.cast(values, pa.int64()).to_numpy()
    hours = micros // MICROS_PER_HOUR
    first, last = int(hours.min()), int(hours.max())
    if last - first > GRID_HOURS_LIMIT:
        return None
    grid = np.arange(first, last + 2, dtype=np.int64) * MICROS_PER_HOUR
    try:
        grid_naive = pa.array(grid, pa.timestamp(TIMESTAMP_UNIT))
        earliest = pc.assume_timezone(grid_naive, timezone, ambiguous="earliest", nonexistent="earliest")
        latest = pc.assume_timezone(grid_naive, timezone, ambiguous="latest", nonexistent="latest")
    except (pa.ArrowInvalid, OverflowError):
        return None
    earliest = pc.cast(earliest, pa.int64()).to_numpy()
    steady = earliest == pc.cast(latest, pa.int64()).to_numpy()
    offsets = grid - earliest
    simple = steady[:-1] & steady[1:] & (offsets[:-1] == offsets[1:])
    hour_index = hours - first
    if not simple[hour_index].all():
        return None
    instants = pa.array(micros - offsets[hour_index], timestamp_type(timezone))
    outside = _outside_years(instants)
    if outside is not None:
        return None
    return instants, values, all_false(len(values))


def _outside_years(instants: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """Where an instant is outside years 1-9999 in UTC, or None when none is (one min and max)."""
    micros = pc.cast(instants, pa.int64())
    bounds = pc.min_max(micros).as_py()
    if bounds["min"] is None or (bounds["min"] >= FIRST_MICROSECOND and bounds["max"] <= LAST_MICROSECOND):
        return None
    inside = pc.and_(pc.greater_equal(micros, FIRST_MICROSECOND), pc.less_equal(micros, LAST_MICROSECOND))
    return pc.invert(pc.fill_null(inside, True))


def _parse_mixed_timestamps(text: pa.ChunkedArray, timezone: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Slow path for a block with offsets or malformed values: parse each shape separately."""
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    naive_text = pc.if_else(pc.match_substring_regex(text, NAIVE_PATTERN), text, pa.scalar(None, pa.string()))
    offset_text = pc.if_else(pc.match_substring_regex(text, OFFSET_PATTERN), text, pa.scalar(None, pa.string()))
    naive = _cast_or_python(naive_text, pa.timestamp(TIMESTAMP_UNIT), timezone=None)
    local_instants, naive_local, in_gap = _assume_local(naive, timezone)
    utc = _cast_or_python(offset_text, pa.timestamp(TIMESTAMP_UNIT, "UTC"), timezone="UTC")
    # An offset can carry the instant, or its local date, past year 9999 (9999-12-31T23:59:59-10:00):
    # invalid whichever path parsed it, so a value's fate does not depend on the rows beside it.
    beyond = all_false(len(utc))
    for outside in (_outside_years(utc), _outside_years(pc.local_timestamp(pc.cast(utc, timestamp_type(timezone))))):
        if outside is not None:
            beyond = pc.or_(beyond, outside)
    utc = pc.if_else(pc.fill_null(beyond, False), pa.scalar(None, utc.type), utc)
    instants = pc.coalesce(local_instants, pc.cast(utc, timestamp_type(timezone)))
    local = pc.coalesce(naive_local, pc.local_timestamp(pc.cast(utc, timestamp_type(timezone))))
    present = pc.fill_null(pc.greater(pc.binary_length(text), 0), False)
    bad = pc.and_(present, pc.is_null(instants))
    return instants, local, pc.or_(bad, in_gap)


def _cast_or_python(text: pa.Array, target: pa.DataType, timezone: str | None) -> pa.Array:
    """Vectorised cast; values the cast refuses (e.g. 2025-02-30) become null one by one."""
    try:
        return pc.cast(text, target)
    except pa.ArrowInvalid:
        pass
    pieces = []
    for start in range(0, len(text), CAST_SLICE):
        piece = text.slice(start, CAST_SLICE)
        try:
            pieces.append(pc.cast(piece, target))
        except pa.ArrowInvalid:
            pieces.append(pa.array([_python_timestamp(value, timezone) for value in piece.to_pylist()], target))
    return pa.concat_arrays(pieces) if pieces else pa.array([], target)


def _python_timestamp(value: str | None, timezone: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone is None:
        return parsed.replace(tzinfo=None) if parsed.tzinfo is None else None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    except OverflowError:  # an instant whose UTC or local date leaves years 1-9999 (9999-12-31T23:59:59-10:00)
        return None
