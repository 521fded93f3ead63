"""Row rules of contract section 2, applied to whole columns at once.

Input is a table whose canonical columns are strings (or already typed, from Parquet); output
is the valid rows and, for every invalid row, the first rule it breaks. Rules are checked in a
fixed order so a row always gets the same reason.

Every row is checked, but work that only kept rows need is left for later: prices are checked
against the grammar here and converted to exact decimals by `decimal_prices` after the filter,
and the exchange-local time of each row is computed once (LOCAL_TIME) for the filter to reuse.
Kernels are chosen by measurement: comparing strings with "" costs ~300 ms per million rows in
Arrow 26, their byte length ~1 ms; a digit test ~20 ms where a regex costs ~90 ms.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema

TIMESTAMP_UNIT = "us"
LOCAL_TIME = "local_time"
"""Exchange-local wall-clock time of each valid row (naive timestamp); dropped before staging."""
REQUIRED_TEXT = (schema.ORDER_ID, schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.SIDE, schema.ORDER_TYPE)
PRICE_PATTERN = r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$"
"""decimal128(18, 4): at most 14 digits before the point and 4 after (a larger price is an error)."""
PRICE_INTEGER_DIGITS = 14
PRICE_LIMIT = 10 ** PRICE_INTEGER_DIGITS
"""Prices must be below this (14 digits before the point)."""
QUANTITY_PATTERN = r"^\+?0*[0-9]{1,18}$"
"""A whole quantity: an optional `+`, any leading zeros, at most 18 significant digits (int64)."""
MAX_QUANTITY = 10 ** 18
"""The smallest whole quantity QUANTITY_PATTERN refuses: every path keeps exactly those below it."""
NAIVE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?$"
OFFSET_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-5][0-9])$"
NEGATIVE_ZERO_PATTERN = r"^-[0.]+$"
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


@dataclass(frozen=True)
class Validated:
    """Valid rows and the reasons of the rest."""

    rows: pa.Table
    """Typed timestamp and quantity, price still as checked text, LOCAL_TIME appended, extras as given."""
    reasons: pa.Array
    """One entry per input row: null when valid, else '<column>: <what is wrong>'."""


def timestamp_type(timezone: str) -> pa.DataType:
    return pa.timestamp(TIMESTAMP_UNIT, timezone)


def validate(table: pa.Table, timezone: str, naive_timezone: str | None = None,
             prior: Iterable[tuple[pa.Array, str]] = (), sides: tuple[str, ...] = schema.VALID_SIDES,
             quantity_decimals: int = 0) -> Validated:
    """Check every row of `table` against the contract's rules.

    `timezone` is the exchange's (trade dates, hours); naive times are in `naive_timezone`
    (default: the exchange's). `prior` checks, from a vendor layout's conversions, come first.
    """
    checks: list[tuple[pa.Array, str]] = list(prior)
    for column in REQUIRED_TEXT:
        checks.append((_missing(table[column]), f"{column}: missing"))
    naive_zone = naive_timezone or timezone
    instants, local, timestamp_problem = parse_timestamps(table[schema.TIMESTAMP], timezone, naive_zone)
    checks.append((_missing(table[schema.TIMESTAMP]), "timestamp: missing"))
    checks.append((timestamp_problem, "timestamp: not an ISO-8601 date-time that exists in " + naive_zone))
    price_bad, price_negative = check_prices(table[schema.PRICE])
    checks.append((_missing(table[schema.PRICE]), "price: missing"))
    checks.append((price_bad, "price: not a decimal number with at most 14 digits before the point and 4 after"))
    checks.append((price_negative, "price: negative"))
    quantities, quantity_bad = parse_quantities(table[schema.QUANTITY], quantity_decimals)
    checks.append((_missing(table[schema.QUANTITY]), "quantity: missing"))
    checks.append((quantity_bad, quantity_problem(quantity_decimals)))
    checks.append((pc.fill_null(pc.less_equal(quantities, 0), False), "quantity: not greater than 0"))
    side_ok = pc.is_in(table[schema.SIDE], value_set=pa.array(sides))
    checks.append((pc.invert(pc.fill_null(side_ok, False)), f"side: not {' or '.join(sides)}"))

    reasons = _first_reasons(checks, table.num_rows)
    typed = _with_columns(table, {schema.TIMESTAMP: instants, schema.QUANTITY: quantities})
    typed = typed.append_column(LOCAL_TIME, local)
    if reasons.null_count == len(reasons):
        return Validated(rows=typed, reasons=reasons)
    return Validated(rows=typed.filter(pc.is_null(reasons)), reasons=reasons)


def _missing(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.fill_null(pc.equal(pc.binary_length(column), 0), True)
    return pc.is_null(column)


def _first_reasons(checks: list[tuple[pa.Array, str]], rows: int) -> pa.Array:
    """Per row, the message of the first failing check (null when none fails)."""
    reasons = pa.nulls(rows, pa.string())
    for failed, message in reversed(checks):
        failed = pc.fill_null(failed, False)
        if pc.any(failed).as_py():
            reasons = pc.if_else(failed, pa.scalar(message), reasons)
    return reasons


def _with_columns(table: pa.Table, replacements: dict[str, pa.Array]) -> pa.Table:
    for name, column in replacements.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def _all_false(length: int) -> pa.Array:
    return pa.array(np.zeros(length, dtype=bool))


def check_prices(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(present but not a decimal with at most 4 places, negative) for each price."""
    if pa.types.is_decimal(column.type) or pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        # Zero in the column's own type: a bare 0 against decimal(38, s) asks Arrow for precision 38 + 1
        # (a vendor price_scale of 1e8 and more gives s = 20 and more).
        zero = pa.scalar(0, column.type) if pa.types.is_decimal(column.type) else 0
        negative = pc.fill_null(pc.less(column, zero), False)
        too_fine = _all_false(len(column))
        if pa.types.is_floating(column.type):
            too_fine = _unfit_float_prices(column)
        if pa.types.is_decimal(column.type):
            if column.type.precision - column.type.scale > PRICE_INTEGER_DIGITS:
                too_fine = pc.fill_null(pc.greater_equal(pc.abs(column), pa.scalar(PRICE_LIMIT, column.type)), False)
            if column.type.scale > schema.PRICE_SCALE:
                rounded = pc.cast(pc.round(column, schema.PRICE_SCALE), column.type)
                too_fine = pc.or_(too_fine, pc.fill_null(pc.not_equal(rounded, column), False))
        return too_fine, negative
    text = pc.cast(column, pa.string())
    well_formed = pc.match_substring_regex(text, PRICE_PATTERN)
    starts_negative = pc.fill_null(pc.starts_with(text, "-"), False)
    negative = starts_negative
    if pc.any(starts_negative).as_py():
        negative = pc.and_(starts_negative, pc.invert(pc.fill_null(pc.match_substring_regex(text, NEGATIVE_ZERO_PATTERN), False)))
    return present_but(text, well_formed), pc.and_(negative, pc.fill_null(well_formed, False))


FLOAT_PRICE_TOLERANCE = 1e-6
"""Distance (1% of the 4th place) within which a binary float is taken as the 4-place decimal it
was written as. From 2^33 (about 8.6e9) a float's own spacing exceeds it, so only whole prices pass there."""
FLOAT_PRICE_FINE_LIMIT = float(2 ** 33)


def _unfit_float_prices(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Binary-float prices that no decimal(18, 4) price holds: inf, NaN, 10^14 or more, or more than
    4 places (12.34567: rounding it would change the money silently; the same text in a CSV is
    quarantined). A float within FLOAT_PRICE_TOLERANCE of 4 places (12.34, stored as
    12.339999...) is that decimal."""
    values = pc.cast(column, pa.float64())
    finite = pc.fill_null(pc.is_finite(values), True)
    safe = pc.if_else(finite, values, 0.0)
    rounded = pc.round(safe, schema.PRICE_SCALE)
    off = pc.greater(pc.abs(pc.subtract(safe, rounded)), FLOAT_PRICE_TOLERANCE)
    too_large = pc.greater_equal(pc.abs(safe), float(PRICE_LIMIT))
    too_coarse = pc.and_(pc.greater_equal(pc.abs(safe), FLOAT_PRICE_FINE_LIMIT), pc.not_equal(safe, pc.floor(safe)))
    return pc.fill_null(pc.or_(pc.or_(pc.invert(finite), off), pc.or_(too_large, too_coarse)), False)


def decimal_prices(rows: pa.Table) -> pa.Table:
    """Convert the (already checked) price column to exact decimal128(18, 4)."""
    column = rows[schema.PRICE]
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        column = pc.round(pc.cast(column, pa.float64()), schema.PRICE_SCALE)
    return _with_columns(rows, {schema.PRICE: pc.cast(column, schema.PRICE_TYPE)})


def parse_quantities(column: pa.ChunkedArray, decimals: int = 0) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Quantities as schema.quantity_type(decimals); a second array flags present values that do not fit.

    Whole numbers by default; a run that allows `decimals` places takes up to that many. Binary
    floats (Parquet) cannot hold a decimal exactly, so they are rounded to those places.
    """
    if decimals == 0 and pa.types.is_integer(column.type):
        try:
            return pc.cast(column, schema.QUANTITY_TYPE), _all_false(len(column))
        except pa.ArrowInvalid:  # uint64 values from 2^63: flagged one by one below
            return _typed_quantities(column, decimals)
    if pa.types.is_integer(column.type) or pa.types.is_decimal(column.type) or pa.types.is_floating(column.type):
        return _typed_quantities(column, decimals)
    text = pc.cast(column, pa.string())
    if decimals:
        return _decimal_quantities(text, decimals)
    digits = pc.utf8_is_digit(text)
    empty = pc.equal(pc.binary_length(text), 0)
    if pc.all(pc.fill_null(pc.or_(digits, empty), True)).as_py():
        try:
            whole = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), text), schema.QUANTITY_TYPE)
        except pa.ArrowInvalid:
            whole = None
        # The cast takes 19 digits up to 2^63; the pattern below, at most 18 significant ones.
        if whole is not None and (pc.max(whole).as_py() or 0) < MAX_QUANTITY:
            return whole, _all_false(len(column))
    well_formed = pc.match_substring_regex(text, QUANTITY_PATTERN)
    # Arrow's integer cast takes neither a leading + nor more than 19 characters of leading zeros.
    usable = pc.replace_substring_regex(pc.if_else(well_formed, text, pa.scalar(None, pa.string())), r"^\+?0*(.)", r"\1")
    return pc.cast(usable, schema.QUANTITY_TYPE), present_but(text, well_formed)


def quantity_problem(decimals: int) -> str:
    if decimals == 0:
        return "quantity: not a whole number"
    return f"quantity: not a number with at most {decimals} decimal places (the run's quantity_decimals)"


def _decimal_quantities(text: pa.ChunkedArray, decimals: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    pattern = rf"^\+?[0-9]{{1,{19 - decimals}}}(\.[0-9]{{1,{decimals}}})?$"
    well_formed = pc.match_substring_regex(text, pattern)
    usable = pc.if_else(well_formed, pc.replace_substring(text, "+", ""), pa.scalar(None, pa.string()))
    return pc.cast(usable, schema.quantity_type(decimals)), present_but(text, well_formed)


def _typed_quantities(column: pa.ChunkedArray, decimals: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Numbers already typed (Parquet, or a layout's rescaled decimals): those that fit, and a flag for the rest."""
    limit = 2 ** 63 if decimals == 0 else 10 ** (19 - decimals)  # int64, or decimal(19, d)
    if pa.types.is_floating(column.type):
        rounded = pc.round(column, decimals)
        fits = pc.less(pc.abs(rounded), float(limit))
        if decimals == 0:
            fits = pc.and_(fits, pc.equal(rounded, column))
        column = rounded
    else:
        if pa.types.is_integer(column.type):
            column = pc.cast(column, pa.decimal128(38, 0))
        rounded = pc.round(column, decimals)
        fits = pc.equal(pc.cast(rounded, column.type), column)
        if column.type.precision - column.type.scale >= len(str(limit)):  # else no value reaches the limit
            fits = pc.and_(fits, pc.less(pc.abs(column), pa.scalar(limit, column.type)))
        column = rounded
    fits = pc.fill_null(fits, False)
    usable = pc.if_else(fits, column, pa.scalar(None, column.type))
    target = schema.quantity_type(decimals)
    return pc.cast(usable, target), pc.and_(pc.is_valid(column), pc.invert(fits))


def present_but(text: pa.ChunkedArray, well_formed: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a value is present (non-empty) but not well formed."""
    present = pc.fill_null(pc.greater(pc.binary_length(text), 0), False)
    return pc.and_(present, pc.invert(pc.fill_null(well_formed, False)))


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
        return instants, pc.local_timestamp(instants), outside if outside is not None else _all_false(len(column))
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


def as_array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


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
        return pc.cast(instants, timestamp_type(timezone)), naive, _all_false(len(naive))
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
    beyond = _all_false(len(utc))
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
