"""A layout's declared rounding of prices and quantities written through a binary float.

pandas and spreadsheets write the float nearest 23.4 as `23.400000000000002`: the text is exact,
but the number it renders is not the vendor's price, and the contract's grammar (4 places)
rejects it. A layout that says `rounding: {price: {decimals: 2}}` takes each such value as the
nearest multiple of the step, and only when the text is within the tolerance of it (by default
ROUNDING_RELATIVE_TOLERANCE of the value, far above a float's error of about 1e-16 and far
below any real price difference), so a value that is not a float's rendering of such a number
(`23.4051` with 2 decimals) is still rejected. Everything is Python's exact Decimal, one
computation per distinct value of a block (prices and quantities repeat), never a float.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.read.arrays import as_array
from orders_assets.core.read.layout.model import Rounding

ROUNDING_RELATIVE_TOLERANCE = Decimal("1e-9")
"""Default tolerance, relative to the value: a float's own error is about 1.1e-16 of it."""
NUMBER_TEXT = re.compile(r"[-+]?([0-9]{1,40}(\.[0-9]{0,40})?|\.[0-9]{1,40})([eE][-+]?[0-9]{1,2})?")
"""A number as a float is written: digits, a point, an exponent (`1e-05`); never `nan` or `1_000`."""
INTEGER_DIGITS = 24
"""As many digits before the point as a vendor number may have without rounding (apply.NUMBER_PATTERN)."""
EXACT_DIGITS = 100
"""Decimal precision of the computation: more than any number NUMBER_TEXT reads has, so nothing rounds
but the step."""
UNCHANGED, ROUNDED, OFF, UNREADABLE = range(4)


def step_places(rule: Rounding) -> int:
    """Decimal places of the rounded values: those of the step (0 for a step of 1 or more)."""
    return max(0, -Decimal(rule.step).as_tuple().exponent)


def rounded_numbers(column: pa.ChunkedArray, rule: Rounding, exponent: int,
                    name: str) -> tuple[pa.Array, np.ndarray, list[tuple[pa.Array, str]]]:
    """(values divided by 10^exponent and rounded by `rule` as decimal128(38, step places), which rows
    were rounded, row checks for values that are not numbers or not within the tolerance)."""
    encoded = pc.dictionary_encode(as_array(column))
    outcomes = [_outcome(value, rule, exponent) for value in encoded.dictionary.to_pylist()]
    places = step_places(rule)
    values = pa.array([value for value, _ in outcomes], pa.decimal128(38, places))
    statuses = np.array([status for _, status in outcomes] or [UNCHANGED], dtype=np.int8)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    present = ~np.asarray(pc.is_null(encoded.indices).to_numpy(zero_copy_only=False), dtype=bool)
    row_status = np.full(len(encoded), UNCHANGED, dtype=np.int8)
    row_status[present] = statuses[indices[present].astype(np.int64)]
    tolerance = rule.tolerance if rule.tolerance is not None else f"{ROUNDING_RELATIVE_TOLERANCE:e} of the value"
    checks = [(pa.array(row_status == UNREADABLE), f"{name}: not a number"),
              (pa.array(row_status == OFF), f"{name}: not within {tolerance} of a multiple of {rule.step} (the "
                                            "layout's rounding), so not a float's rendering of such a number")]
    return pc.take(values, encoded.indices), row_status == ROUNDED, checks


def _outcome(value, rule: Rounding, exponent: int) -> tuple[Decimal | None, int]:
    """(the rounded value or None, its status) of one distinct vendor value."""
    number = _exact(value)
    if number is None:
        return None, UNCHANGED if value is None or value == "" else UNREADABLE
    with localcontext(prec=EXACT_DIGITS):
        number = number.scaleb(-exponent)
        step = Decimal(rule.step)
        rounded = ((number / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step).quantize(
            Decimal(1).scaleb(-step_places(rule)))
        if rounded.adjusted() >= INTEGER_DIGITS:
            return None, UNREADABLE
        distance = abs(number - rounded)
        if distance == 0:
            return rounded, UNCHANGED
        allowed = Decimal(rule.tolerance) if rule.tolerance is not None else ROUNDING_RELATIVE_TOLERANCE * abs(number)
        return (rounded, ROUNDED) if distance <= allowed else (None, OFF)


def _exact(value) -> Decimal | None:
    """The exact number a vendor value writes: text as written, a binary float as its shortest
    rendering (what a CSV writer would have written), integers and decimals as they are."""
    if value is None:
        return None
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    if not NUMBER_TEXT.fullmatch(text):
        return None
    return Decimal(text)
