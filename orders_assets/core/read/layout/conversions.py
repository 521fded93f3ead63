"""How a layout converts the vendor's times and numbers: the `time` settings and the scales.

Apart from the column sources because these keys change values, not names: a time format, unit
and zone turn the vendor's time into the contract's, and a scale shifts a price's or quantity's
decimal point. A scale must be an exact power of ten so the shift never rounds.
"""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orders_assets.core.read.layout.model import TIME_UNITS

TIME_FORMATS = ("iso", "epoch", "after_midnight")
SCALE_EXPONENTS = range(-12, 19)
"""A scale is a power of ten, from 10^-12 to 10^18."""


def time_settings(value, problems: list[str]) -> tuple[str, str, str | None, str | None]:
    if not isinstance(value, dict):
        problems.append("time: a mapping with format, unit, timezone")
        return "iso", "ns", None, None
    unknown = sorted(set(value) - {"format", "unit", "timezone", "date_column"})
    if unknown:
        problems.append(f"time: unknown key(s) {', '.join(unknown)}; known: format, unit, timezone, date_column")
    time_format = value.get("format", "iso")
    if time_format not in TIME_FORMATS:
        problems.append(f"time.format: '{time_format}' is not one of {', '.join(TIME_FORMATS)}")
    unit = value.get("unit", "ns" if time_format == "epoch" else "s")
    if unit not in TIME_UNITS:
        problems.append(f"time.unit: '{unit}' is not one of {', '.join(TIME_UNITS)}")
    zone = value.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"time.timezone: '{zone}' is not an IANA time zone (e.g. UTC, Europe/Berlin)")
    date_column = value.get("date_column")
    return time_format, unit, None if zone is None else str(zone), date_column


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
