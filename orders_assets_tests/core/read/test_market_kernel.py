"""The compiled grouping of the market's totals: exact integer sums of products near 2^120, groups
past the first table's size, fields past the words kept beside a group, and its plain-Python
reference (group_rows.py_func) alike."""
import random

import numpy as np
import pyarrow as pa

from orders_assets.core.read import market_kernel
from orders_assets.core.read.row_kernel import MICROS_PER_DAY


def block(rows: list[tuple[int, bytes, bytes, int, int]]):
    """(data, inputs of grouped) for rows of (day, security, order type, price x 10^4, quantity)."""
    data, security_starts, security_stops, type_starts, type_stops = bytearray(), [], [], [], []
    for _day, security, kind, _price, _quantity in rows:
        security_starts.append(len(data))
        data += security
        security_stops.append(len(data))
        data += b","
        type_starts.append(len(data))
        data += kind
        type_stops.append(len(data))
        data += b"\n"
    as_int = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
    return (np.frombuffer(bytes(data), dtype=np.uint8), np.ones(len(rows), dtype=bool),
            as_int([day * MICROS_PER_DAY + 36_000_000_000 for day, *_ in rows]), as_int([row[3] for row in rows]),
            as_int([row[4] for row in rows]), as_int(security_starts), as_int(security_stops), as_int(type_starts),
            as_int(type_stops))


def expected(rows) -> dict:
    sums: dict = {}
    for day, security, kind, price, quantity in rows:
        totals = sums.setdefault((day, security, kind), [0, 0, 0])
        totals[0] += 1
        totals[1] += quantity
        totals[2] += price * quantity
    return sums


def keyed(inputs, grouped) -> dict:
    data, _valid, _walls, _prices, _quantities, security_starts, security_stops, type_starts, type_stops = inputs
    first, days, orders, quantity_words, value_words = grouped
    raw = data.tobytes()
    as_ints = lambda words: pa.Array.from_buffers(pa.decimal256(76, 0), len(first), [None, pa.py_buffer(words)])  # noqa
    quantities, values = as_ints(quantity_words).to_pylist(), as_ints(value_words).to_pylist()
    return {(int(days[group]), raw[security_starts[row]:security_stops[row]], raw[type_starts[row]:type_stops[row]]):
            [int(orders[group]), int(quantities[group]), int(values[group])] for group, row in enumerate(first)}


def test_sums_are_exact_at_the_largest_prices_and_quantities_and_groups_grow_the_table():
    chooser = random.Random(46)
    securities = [f"S{number}".encode() for number in range(1_500)] + [b"X" * 40, b"X" * 41]
    kinds = [b"LIMIT", b"CENTRE_POINT_BLOCK", b"A_VERY_LONG_ORDER_TYPE_NAME_PAST_24_BYTES", b""]
    top = 999_999_999_999_999_999  # 18 digits: the largest quantity, and price x 10^4 below 10^18
    rows = [(chooser.choice((20_000, 20_001)), chooser.choice(securities), chooser.choice(kinds),
             chooser.choice((top, 1, 123_456_789)), chooser.choice((top, 7, 1_000_000))) for _ in range(20_000)]
    inputs = block(rows)
    compiled = keyed(inputs, market_kernel.grouped(*inputs))
    assert compiled == {key: value for key, value in expected(rows).items()}
    assert len(compiled) > 2_048  # past the first table (4,096 slots, half of them usable)


def test_the_kernel_equals_its_plain_python_reference():
    rows = [(20_000 + number % 3, b"BHP" if number % 2 else b"CBA", b"LIMIT" if number % 5 else b"CENTRE_POINT",
             10_000 * number, number + 1) for number in range(300)]
    inputs = block(rows)
    capacity = 1 << 12
    outputs = []
    for group_rows in (market_kernel.group_rows, market_kernel.group_rows.py_func):
        arrays = (np.empty(capacity // 2, dtype=np.int64), np.empty(capacity // 2, dtype=np.int64),
                  np.empty(capacity // 2, dtype=np.int64), np.zeros((capacity // 2, 4), dtype=np.uint64),
                  np.zeros((capacity // 2, 4), dtype=np.uint64))
        with np.errstate(over="ignore"):  # the hash multiplies modulo 2^64, as the compiled kernel does
            groups = group_rows(inputs[0], market_kernel.shifted_words(inputs[0]), *inputs[1:], capacity, *arrays)
        outputs.append((groups, *(array[:groups] for array in arrays)))
    assert outputs[0][0] == outputs[1][0] == len(expected(rows))
    for ours, theirs in zip(outputs[0][1:], outputs[1][1:]):
        assert np.array_equal(ours, theirs)
    assert keyed(inputs, outputs[0][1:]) == expected(rows)


def test_fields_read_as_words_at_every_offset_and_up_to_the_last_byte_of_the_block():
    """A field is read eight bytes a load at any byte offset; its bytes past the last whole word of
    the block one by one, alike (the last row's key is also the first's): fields of 1 to 30 bytes, at
    each offset mod 8, the last one ending the block."""
    for length in range(1, 31):
        for shift in range(8):
            rows = [(20_001, b"BHP", b"X" * length, 17, 19), (20_000, b"P" * shift, b"LIMIT", 1, 1),
                    (20_000, b"S" * length, b"T" * (31 - length), 2, 3),
                    (20_000, b"S" * length, b"T" * (31 - length), 5, 7), (20_001, b"BHP", b"X" * length, 11, 13)]
            data, *rest = block(rows)
            inputs = (data[:-1], *rest)  # no line end after the last field: it ends the block
            assert keyed(inputs, market_kernel.grouped(*inputs)) == expected(rows), (length, shift)
