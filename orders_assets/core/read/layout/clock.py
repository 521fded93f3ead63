"""Times of day as exchanges write them, beside a date column or the file name's date.

Order logs and trade files give the clock apart from the date: `08:30:01.100000` (a strptime
format), `090000004` (B3's HHMMSSmmm), `093000` with the nanoseconds in a column of their own.
Each becomes microseconds after midnight here, the unit the engine keeps (digits past the
microsecond are truncated, as for times after midnight); the layout's apply step adds the
date. A value that is not such a time is flagged with its column and reason, never raised.
A strptime format with a date in it (`%d/%m/%Y %H:%M:%S`) gives whole date-times instead.
"""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.read.arrays import present_but

DIGIT_CLOCK = re.compile(r"hhmmss(f{0,9})")
"""Named encodings: hhmmss, then as many f as the fraction has digits (hhmmssfff: milliseconds)."""
DATE_DIRECTIVES = re.compile(r"%[YymdjbBaAUWGuVcxD]")
"""strptime directives that carry a date: a format with one reads whole date-times."""
FRACTION_END = re.compile(r"(?P<separator>[.,])%f$")
"""A format's fraction of a second: `%f` at its end after a point or comma (Arrow's strptime has no %f)."""
MICROS = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000}
NANOSECONDS_PATTERN = r"^[0-9]{1,9}$"
EPOCH_OF_1900 = -2_208_988_800_000_000
"""Microseconds from 1970-01-01 to 1900-01-01, the day strptime gives a time without a date."""
Check = tuple[pa.Array, str]


def is_clock_format(time_format: str) -> bool:
    """A time of day: it needs a date from a column or the file name."""
    return bool(DIGIT_CLOCK.fullmatch(time_format)) or ("%" in time_format and not has_date(time_format))


def has_date(time_format: str) -> bool:
    return "%" in time_format and bool(DATE_DIRECTIVES.search(time_format))


def strptime_problem(time_format: str) -> str | None:
    """Why a strptime format cannot be read (None if it can)."""
    if "%f" in time_format and not FRACTION_END.search(time_format):
        return (f"'{time_format}': %f (the fraction of a second) must end the format, after a point or a comma, "
                "e.g. '%H:%M:%S.%f'")
    return None


def clock_micros(time_format: str, column: pa.ChunkedArray) -> tuple[pa.Array, list[Check]]:
    """Microseconds after midnight of each time of day written in `time_format`."""
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    digits = DIGIT_CLOCK.fullmatch(time_format)
    if digits:
        micros, well_formed = _digit_clock(text, len(digits.group(1)))
    else:
        micros, well_formed = _strptime_clock(text, time_format)
    return micros, [(present_but(text, well_formed), f"timestamp: not a time of day in the layout's format "
                                                     f"{time_format}")]


def date_times(time_format: str, column: pa.ChunkedArray) -> tuple[pa.Array, list[Check]]:
    """Naive timestamps of date-times written in a strptime format with a date."""
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    whole, fraction_ns, has_fraction = _split_fraction(text, time_format)
    prefix = FRACTION_END.sub("", time_format)
    parsed = pc.strptime(whole, format=prefix, unit="us", error_is_null=True)
    micros = pc.add(pc.cast(parsed, pa.int64()), pc.divide(fraction_ns, 1000))
    well_formed = pc.and_(pc.is_valid(parsed), has_fraction)
    return (pc.cast(pc.if_else(well_formed, micros, pa.scalar(None, pa.int64())), pa.timestamp("us")),
            [(present_but(text, well_formed), f"timestamp: not a date-time in the layout's format {time_format}")])


def nanosecond_micros(column: pa.ChunkedArray, name: str) -> tuple[pa.Array, list[Check]]:
    """Microseconds (truncated) of a column of nanoseconds within the second, 0 to 999999999."""
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    well_formed = pc.fill_null(pc.match_substring_regex(text, NANOSECONDS_PATTERN), False)
    nanos = pc.cast(pc.if_else(well_formed, text, pa.scalar(None, pa.string())), pa.int64())
    return pc.divide(nanos, 1000), [(present_but(text, well_formed),
                                     f"{name}: not a number of nanoseconds within the second (0 to 999999999)")]


def _digit_clock(text: pa.Array, fraction_digits: int) -> tuple[pa.Array, pa.Array]:
    """hhmmss[f...] as digits; leading zeros may be missing (a number column written as such: 90000004)."""
    width = 6 + fraction_digits
    well_formed = pc.fill_null(pc.match_substring_regex(text, rf"^[0-9]{{1,{width}}}$"), False)
    padded = pc.utf8_lpad(pc.if_else(well_formed, text, "0"), width, "0")

    def part(start: int, stop: int) -> pa.Array:
        return pc.cast(pc.utf8_slice_codeunits(padded, start, stop), pa.int64())

    hour, minute, second = part(0, 2), part(2, 4), part(4, 6)
    in_range = pc.and_(pc.and_(pc.less(hour, 24), pc.less(minute, 60)), pc.less(second, 60))
    well_formed = pc.and_(well_formed, in_range)
    micros = pc.add(pc.add(pc.multiply(hour, MICROS["hour"]), pc.multiply(minute, MICROS["minute"])),
                    pc.multiply(second, MICROS["second"]))
    if fraction_digits:
        fraction = part(6, width)
        scaled = (pc.multiply(fraction, 10 ** (6 - fraction_digits)) if fraction_digits <= 6
                  else pc.divide(fraction, 10 ** (fraction_digits - 6)))  # truncated to the microsecond
        micros = pc.add(micros, scaled)
    return pc.if_else(well_formed, micros, pa.scalar(None, pa.int64())), well_formed


def _strptime_clock(text: pa.Array, time_format: str) -> tuple[pa.Array, pa.Array]:
    whole, fraction_ns, has_fraction = _split_fraction(text, time_format)
    parsed = pc.strptime(whole, format=FRACTION_END.sub("", time_format), unit="us", error_is_null=True)
    micros = pc.add(pc.subtract(pc.cast(parsed, pa.int64()), EPOCH_OF_1900), pc.divide(fraction_ns, 1000))
    well_formed = pc.and_(pc.is_valid(parsed), has_fraction)
    return pc.if_else(well_formed, micros, pa.scalar(None, pa.int64())), well_formed


def _split_fraction(text: pa.Array, time_format: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(the text without its fraction, the fraction in nanoseconds, whether the fraction is readable)
    for a format ending in `.%f`; a value may leave the fraction out (08:30:01 is 08:30:01.0)."""
    found = FRACTION_END.search(time_format)
    if found is None:
        return text, pa.repeat(pa.scalar(0, pa.int64()), len(text)), pa.repeat(pa.scalar(True), len(text))
    separator = re.escape(found.group("separator"))
    fraction = pc.extract_regex(text, rf"{separator}(?P<digits>[0-9]*)$")
    digits = pc.struct_field(fraction, "digits")
    readable = pc.or_kleene(pc.is_null(digits), pc.match_substring_regex(digits, r"^[0-9]{1,9}$"))
    whole = pc.replace_substring_regex(text, rf"{separator}[0-9]*$", "")
    nanos = pc.cast(pc.utf8_rpad(pc.if_else(pc.fill_null(readable, False), pc.fill_null(digits, "0"), "0"), 9, "0"),
                    pa.int64())
    return whole, nanos, pc.fill_null(readable, False)
