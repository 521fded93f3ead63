"""Report metrics: the averages follow one rule, the float64 nearest the exact quotient."""
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa

from orders_assets.core.assemble.averages import exact_average


def test_an_average_is_the_exact_quotient_rounded_once_whatever_the_size_of_the_sum():
    """Each case is one where casting the sum to float first rounds twice and changes the last digit."""
    value = pa.array([Decimal("3748409251.5630")], pa.decimal128(38, 4))
    assert float(Decimal("3748409251.563")) / 740 != float(Fraction("3748409251.563") / 740)  # the case bites
    assert exact_average(value, pa.array([740])).to_pylist() == [float(Fraction("3748409251.563") / 740)]
    quantity = pa.array([2 ** 53 + 1], pa.int64())
    assert float(2 ** 53 + 1) / 3 != (2 ** 53 + 1) / 3
    assert exact_average(quantity, pa.array([3])).to_pylist() == [(2 ** 53 + 1) / 3]
    wide = pa.array([Decimal(10 ** 30 + 7)], pa.decimal128(38, 0))
    assert exact_average(wide, pa.array([7])).to_pylist() == [(10 ** 30 + 7) / 7]


def test_small_whole_sums_take_arrows_division_and_no_orders_give_no_average():
    averages = exact_average(pa.chunked_array([[10, 7, 0]], pa.int64()), pa.chunked_array([[4, 3, 0]], pa.int64()))
    assert averages.to_pylist() == [2.5, 7 / 3, None]
    values = exact_average(pa.array([Decimal("1.0000"), None], pa.decimal128(38, 4)), pa.array([3, 0]))
    assert values.to_pylist() == [float(Fraction(1, 3)), None]


def test_decimal_sums_read_from_their_storage_give_the_same_averages_as_exact_fractions():
    """The vectorised path (a decimal's unscaled int64 over orders x 10^scale) on random sums, a
    slice with an offset, and nulls: equal to Python's exact fractions, row by row."""
    import random

    draw = random.Random(5)
    sums = [Decimal(draw.randrange(-10 ** 15, 10 ** 15)).scaleb(-4) for _ in range(5_000)] + [None]
    orders = [draw.randrange(1, 100_000) for _ in range(5_000)] + [0]
    column, counts = pa.array(sums, pa.decimal128(38, 4)), pa.array(orders, pa.int64())
    expected = [float(Fraction(total) / count) for total, count in zip(sums[:-1], orders[:-1])] + [None]
    assert exact_average(column, counts).to_pylist() == expected
    sliced = exact_average(pa.chunked_array([column.slice(7, 300)]), pa.chunked_array([counts.slice(7, 300)]))
    assert sliced.to_pylist() == expected[7:307]
