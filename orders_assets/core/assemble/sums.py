"""Exact sums that never wrap: the one rule for every sum of quantities and values in the engine.

Arrow sums an int64 column into an int64 and a decimal128 column into a decimal128(38, s), and
either wraps silently when the sum passes the type: ten valid 18-digit quantities pass int64, and
a hundred rows at the contract's own limits (a 14-digit price times an 18-digit quantity is a
32-digit value) pass decimal128(38, 4). So before a sum, `summable` widens a column whose sum
could pass its type (by a bound read from its largest value, one min and one max: real volumes
never take the wide path), and after it `narrowest` gives a value sum back its usual type
wherever every sum fits. A sum that does not fit decimal128 stays decimal256(76, s): 72 digits
hold any count of rows the engine can read. Nothing is ever rounded or refused.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Context, Decimal

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema

DECIMAL128_DIGITS = 38
DECIMAL256_DIGITS = 76
EXACT = Context(prec=2 * DECIMAL256_DIGITS)
"""Python's default decimal context keeps 28 digits and rounds past them: every sum and product of
amounts in Python goes through this one, which holds any decimal256 sum exactly."""


def summable(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The column, or the same numbers in a wider type, such that Arrow's sum of all of it (and so
    of any group of its rows) is exact: int64 stays while even its largest value times the row
    count stays below 2^63, else decimal128(38, 0); decimal128(p, s) stays while its largest
    unscaled value times the row count has at most 38 digits, else decimal256(76, s)."""
    if not len(column):
        return column
    largest = _largest_magnitude(column)
    if pa.types.is_integer(column.type):
        if largest * len(column) < schema.INT64_LIMIT:
            return column
        return pc.cast(column, schema.quantity_sum_type(0))
    if pa.types.is_decimal128(column.type):
        if _unscaled(largest, column.type.scale) * len(column) < 10 ** DECIMAL128_DIGITS:
            return column
        return pc.cast(column, pa.decimal256(DECIMAL256_DIGITS, column.type.scale))
    return column


def narrowest(sums: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Decimal sums in decimal128(38, s) when every one fits, as the contract's reports have them;
    a decimal256 column with a sum past 38 digits stays as it is. Other columns are unchanged."""
    if not pa.types.is_decimal256(sums.type):
        return sums
    narrow = pa.decimal128(DECIMAL128_DIGITS, sums.type.scale)
    if not len(sums) or _unscaled(_largest_magnitude(sums), sums.type.scale) < 10 ** DECIMAL128_DIGITS:
        return pc.cast(sums, narrow)
    return sums


def widest_decimal(types: list[pa.DataType], scale: int) -> pa.DataType:
    """decimal256(76, scale) if any of the types is a decimal256, else decimal128(38, scale): the
    one type that holds every column of these types exactly."""
    if any(pa.types.is_decimal256(data_type) for data_type in types):
        return pa.decimal256(DECIMAL256_DIGITS, scale)
    return pa.decimal128(DECIMAL128_DIGITS, scale)


def exact_total(column: pa.Array | pa.ChunkedArray) -> int | Decimal | None:
    """The sum of a whole column as a Python number, exact whatever its size (None for no rows)."""
    return pc.sum(summable(column)).as_py()


def exact_decimal_sum(amounts: Iterable[Decimal | int | str]) -> Decimal:
    """The exact sum of amounts (Decimals, ints, or decimal texts as the catalog holds them)."""
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, Decimal(amount))
    return total


def _unscaled(amount: int | Decimal, scale: int) -> int:
    """The integer an amount is at `scale` places (its digits as a decimal of that scale stores them)."""
    return int(EXACT.scaleb(Decimal(amount), scale))


def _largest_magnitude(column: pa.Array | pa.ChunkedArray) -> int | Decimal:
    """max(|min|, |max|) of the column (0 for all nulls)."""
    extremes = pc.min_max(column)
    found = [abs(value) for value in (extremes["min"].as_py(), extremes["max"].as_py()) if value is not None]
    return max(found, default=0)
