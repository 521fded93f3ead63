"""How a layout converts the vendor's times and numbers: the `time` settings and the scales.

Apart from the column sources because these keys change values, not names: a time format, unit
and zone turn the vendor's time into the contract's, and a scale shifts a price's or quantity's
decimal point. A scale must be an exact power of ten so the shift never rounds. Rounding is the
one conversion that changes a value, so it is only ever what the layout states: a step (decimals
or a tick) and a tolerance that keeps it to the noise of a binary float.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orders_assets.core import schema
from orders_assets.core.read.layout.clock import DIGIT_CLOCK, strptime_problem
from orders_assets.core.read.layout.model import TIME_UNITS, Rounding

TIME_FORMATS = ("iso", "epoch", "after_midnight")
SCALE_EXPONENTS = range(-12, 19)
"""A scale is a power of ten, from 10^-12 to 10^18."""


TIME_KEYS = ("format", "unit", "timezone", "date_column", "date_format", "nanoseconds_column")


@dataclass(frozen=True)
class TimeSettings:
    """The `time` mapping of a layout document, checked."""

    format: str = "iso"
    unit: str = "ns"
    zone: str | None = None
    date_column: str | None = None
    date_format: str | None = None
    """The date column's strptime format (None: the file name's date_format)."""
    nanoseconds_column: str | None = None


def time_settings(value, problems: list[str]) -> TimeSettings:
    if not isinstance(value, dict):
        problems.append("time: a mapping with format, unit, timezone")
        return TimeSettings()
    unknown = sorted(set(value) - set(TIME_KEYS))
    if unknown:
        problems.append(f"time: unknown key(s) {', '.join(unknown)}; known: {', '.join(TIME_KEYS)}")
    time_format = str(value.get("format", "iso"))
    problem = _time_format_problem(time_format)
    if problem:
        problems.append(f"time.format: {problem}")
    unit = value.get("unit", "ns" if time_format == "epoch" else "s")
    if unit not in TIME_UNITS:
        problems.append(f"time.unit: '{unit}' is not one of {', '.join(TIME_UNITS)}")
    zone = value.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"time.timezone: '{zone}' is not an IANA time zone (e.g. UTC, Europe/Berlin)")
    settings = TimeSettings(time_format, unit, None if zone is None else str(zone), value.get("date_column"),
                            value.get("date_format"), value.get("nanoseconds_column"))
    _check_clock_keys(settings, problems)
    return settings


def _time_format_problem(time_format: str) -> str | None:
    if time_format in TIME_FORMATS or DIGIT_CLOCK.fullmatch(time_format):
        return None
    if "%" in time_format:
        return strptime_problem(time_format)
    return (f"'{time_format}' is not one of {', '.join(TIME_FORMATS)}, a named time of day (hhmmss, hhmmssfff: one "
            "f a digit of the fraction) or a strptime format such as '%H:%M:%S.%f'")


def _check_clock_keys(settings: TimeSettings, problems: list[str]) -> None:
    """date_format goes with a date column; a nanoseconds column with a time of day in whole seconds."""
    if settings.date_format is not None and settings.date_column is None:
        problems.append("time.date_format: the format of time.date_column; give the date column too (the file "
                        "name's date has file_name.date_format)")
    if settings.nanoseconds_column is not None and settings.format != "hhmmss":
        problems.append("time.nanoseconds_column: only with format hhmmss (whole seconds; the column gives the "
                        "nanoseconds within the second)")


def scale_exponent(value, key: str, problems: list[str]) -> int:
    """10^k -> k; anything else is refused (a scale must shift the decimal point, never round)."""
    try:
        exponent = round(math.log10(float(value)))
        exact = float(value) > 0 and 10.0 ** exponent == float(value)
    except (TypeError, ValueError):
        exact = False
    if not exact or exponent not in SCALE_EXPONENTS:
        problems.append(f"{key}: {value!r} is not a power of ten between 1e-12 and 1e18 (the file's number is the "
                        "value times this scale, e.g. 10000 for prices given in ten-thousandths)")
        return 0
    return exponent


ROUNDED_COLUMNS = {schema.PRICE: schema.PRICE_SCALE, schema.QUANTITY: 8}
"""Columns a layout may round, and the most decimals their step may have (the contract's price
places; the largest quantity_decimals)."""
ROUNDING_KEYS = ("decimals", "tick", "tolerance")


def rounding_settings(value, problems: list[str]) -> dict[str, Rounding]:
    """`rounding: {price: {decimals: 2}, quantity: {tick: 0.5, tolerance: 0.000001}}`."""
    if not isinstance(value, dict):
        problems.append("rounding: a mapping of price and/or quantity: {decimals: N} or {tick: T}")
        return {}
    roundings = {}
    for column, rule in value.items():
        if column not in ROUNDED_COLUMNS:
            problems.append(f"rounding.{column}: only {' and '.join(ROUNDED_COLUMNS)} can be rounded")
            continue
        rounding = _rounding(rule, f"rounding.{column}", ROUNDED_COLUMNS[column], problems)
        if rounding is not None:
            roundings[column] = rounding
    return roundings


def _rounding(rule, key: str, most_decimals: int, problems: list[str]) -> Rounding | None:
    steps = [name for name in ("decimals", "tick") if isinstance(rule, dict) and name in rule]
    if not isinstance(rule, dict) or len(steps) != 1 or set(rule) - set(ROUNDING_KEYS):
        problems.append(f"{key}: give one of decimals (e.g. 2) or tick (e.g. 0.25), and optionally tolerance")
        return None
    step = _step(rule, key, most_decimals, problems)
    tolerance = None
    if "tolerance" in rule:
        tolerance = _decimal(rule["tolerance"])
        if tolerance is None or tolerance < 0:
            problems.append(f"{key}.tolerance: {rule['tolerance']!r} is not a number >= 0 (the largest distance "
                            "from the rounded value, e.g. 0.000001)")
            return None
        if step is not None and tolerance * 2 >= step:
            problems.append(f"{key}.tolerance: {rule['tolerance']} is half the step ({step}) or more, so any value "
                            "would be rounded; give a tolerance well below it (a float's error, e.g. 0.000001)")
            return None
    if step is None:
        return None
    return Rounding(step=f"{step:f}", tolerance=None if tolerance is None else f"{tolerance:f}")


def _step(rule: dict, key: str, most_decimals: int, problems: list[str]) -> Decimal | None:
    """The multiple values are rounded to: 10^-decimals, or the tick."""
    if "decimals" in rule:
        decimals = rule["decimals"]
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= most_decimals:
            problems.append(f"{key}.decimals: {decimals!r} is not a whole number from 0 to {most_decimals}")
            return None
        return Decimal(1).scaleb(-decimals)
    tick = _decimal(rule["tick"])
    if tick is None or tick <= 0 or tick.as_tuple().exponent < -most_decimals:
        problems.append(f"{key}.tick: {rule['tick']!r} is not a number > 0 with at most {most_decimals} decimals "
                        "(e.g. 0.25)")
        return None
    return tick


def _decimal(value) -> Decimal | None:
    """A YAML number (1e-9 is text to YAML, 0.25 a float whose str is its shortest rendering) as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
