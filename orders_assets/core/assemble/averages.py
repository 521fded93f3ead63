"""The reports' averages (avg_quantity, avg_value): the float64 nearest the exact quotient.

A report's sums stay exact (int64, decimal) and its averages are float64 columns; this module
owns the one rule that turns the first into the second, so the last digit of an average never
depends on the size of its sum or on the path that divided it.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FLOAT_EXACT_INTEGERS = 2 ** 53
"""Integers up to this are exact in a float64."""


def exact_average(sums: pa.Array | pa.ChunkedArray, orders: pa.Array | pa.ChunkedArray) -> pa.Array:
    """sum / orders by one rule: the float64 nearest the exact quotient (rounded once), null for no orders.

    The sums stay exact (int64, decimal); the averages are float64 columns, and dividing a sum
    first cast to float rounds twice (a decimal's cast, a sum beyond 2^53's cast, then the
    division): the last digit would depend on the size of the sum. Whole sums that a float64
    holds exactly are divided by Arrow (one IEEE division: rounded once); the others, and every
    decimal sum, as Python's exact integer ratio, whose true division is correctly rounded.
    """
    numerators, denominators = _integer_ratio(sums, orders)
    if (numerators is not None and _within(numerators, FLOAT_EXACT_INTEGERS)
            and _within(denominators, FLOAT_EXACT_INTEGERS)):
        nonzero = pc.if_else(pc.equal(orders, 0), pa.scalar(None, denominators.type), denominators)
        return pc.divide(pc.cast(numerators, pa.float64()), pc.cast(nonzero, pa.float64()))
    averages = []
    for total, count in zip(sums.to_pylist(), orders.to_pylist()):
        if not count or total is None:
            averages.append(None)
            continue
        numerator, denominator = total.as_integer_ratio()
        averages.append(numerator / (denominator * count))
    return pa.array(averages, pa.float64())


def _integer_ratio(sums, orders) -> tuple[pa.Array | None, pa.Array | None]:
    """(numerator, denominator) int64 columns with sum / orders = numerator / denominator exactly
    (a decimal sum of scale s: its unscaled integer over orders x 10^s), or (None, None) when they
    do not fit in int64 (then the exact Python path divides)."""
    if pa.types.is_integer(sums.type):
        return sums, orders
    if pa.types.is_decimal256(sums.type):  # a sum past 38 digits: the exact Python path divides
        return None, None
    unscaled = _unscaled_int64(sums.combine_chunks() if isinstance(sums, pa.ChunkedArray) else sums)
    if unscaled is None:
        return None, None
    return unscaled, pc.multiply_checked(pc.cast(orders, pa.int64()), 10 ** sums.type.scale)


def _unscaled_int64(decimals: pa.Array) -> pa.Array | None:
    """A decimal128 column's unscaled integers as int64, read from its 16-byte little-endian
    storage (Arrow has no exact cast for it), or None if one needs more than 64 bits."""
    words = np.frombuffer(decimals.buffers()[1], dtype=np.int64)[2 * decimals.offset:2 * (decimals.offset + len(decimals))]
    low, high = words[0::2], words[1::2]
    valid = np.ones(len(decimals), dtype=bool) if decimals.null_count == 0 else \
        np.asarray(decimals.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not np.array_equal(high[valid], low[valid] >> 63):
        return None
    return pa.array(low, pa.int64(), mask=~valid)


def _within(numbers: pa.Array | pa.ChunkedArray, bound: int) -> bool:
    largest = pc.max(pc.abs(numbers)).as_py()
    return largest is None or largest <= bound
