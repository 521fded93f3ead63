"""The contract's timestamp grammar and time zones: text or typed values to instants and
exchange-local wall times, with a flag for each present value that is not a valid date-time.

Apart from the other row rules because time zones bring their own hazards (DST gaps, repeated
hours, offsets that carry a date past year 9999) and their own fast and slow paths: a column of
plain local date-times takes one vectorised cast, and only slices of CAST_SLICE rows holding an
offset or a bad value are parsed shape by shape.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.read.arrays import all_false, as_array

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
"""Timestamps cast together when a column is not all plain local date-times: only the slices with
an offset or a bad value take the slow paths (a 230k-row block with a dozen bad values: 60 ms
instead of 400)."""


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
    if naive is None:
        return _parse_by_slices(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text, timezone)
    return _assume_local(naive, timezone)


def _plain_local(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """The values as naive timestamps when every one is a plain local date-time with seconds (one
    vectorised cast), else None: then the patterns judge each value, whatever its neighbours."""
    try:
        naive = pc.cast(text, pa.timestamp(TIMESTAMP_UNIT))
    except pa.ArrowInvalid:
        return None
    shortest = pc.min(pc.binary_length(text)).as_py()
    return naive if shortest is None or shortest >= SECONDS_LENGTH else None


def _parse_by_slices(text: pa.Array, timezone: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray, pa.ChunkedArray]:
    """A column that is not all plain local date-times: slices that are take the fast path, and
    only the slices holding an offset or a bad value take the slow one."""
    parts = []
    for start in range(0, len(text), CAST_SLICE):
        piece = text.slice(start, CAST_SLICE)
        naive = _plain_local(piece)
        parts.append(_parse_mixed_timestamps(piece, timezone) if naive is None else _assume_local(naive, timezone))
    if not parts:
        return _parse_mixed_timestamps(text, timezone)
    return tuple(pa.chunked_array([as_array(part[index]) for part in parts]) for index in range(3))


def _assume_local(naive: pa.ChunkedArray, timezone: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Wall times in `timezone` as instants; those in a DST gap, or whose instant leaves years
    1-9999 (0001-01-01 00:00 in Sydney), are null and flagged."""
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
