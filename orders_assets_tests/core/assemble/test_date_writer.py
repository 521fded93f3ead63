"""A date file's row order: the sort is skipped only where the rows already are in it."""
import random

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.assemble.date_writer import already_sorted, in_file_order
from orders_assets.core.store import date_files


def _sorted(rows: pa.Table) -> pa.Table:
    return rows.take(pc.sort_indices(rows, [(column, "ascending") for column in date_files.SORT_COLUMNS]))


def _rows(count: int, seed: int) -> pa.Table:
    chooser = random.Random(seed)
    return pa.table({column: [chooser.choice("ABC") + str(chooser.randint(0, 3)) for _ in range(count)]
                     for column in date_files.SORT_COLUMNS})


def test_in_file_order_equals_a_full_sort_whatever_the_rows():
    for seed in range(200):
        rows = _rows(random.Random(seed).randint(0, 12), seed)
        assert in_file_order(rows).equals(_sorted(rows)), seed
        assert in_file_order(_sorted(rows)).equals(_sorted(rows)), seed


def test_sorted_rows_are_recognised_and_a_later_column_decides_ties():
    first, second = date_files.SORT_COLUMNS[0], date_files.SORT_COLUMNS[1]
    others = {column: ["x", "x", "x"] for column in date_files.SORT_COLUMNS[2:]}
    assert already_sorted(pa.table({first: ["a", "a", "b"], second: ["1", "2", "0"], **others}),
                          date_files.SORT_COLUMNS)
    assert not already_sorted(pa.table({first: ["a", "a", "b"], second: ["2", "1", "0"], **others}),
                              date_files.SORT_COLUMNS)


def test_a_null_is_never_taken_for_order():
    first = date_files.SORT_COLUMNS[0]
    others = {column: ["x", "x"] for column in date_files.SORT_COLUMNS[1:]}
    assert not already_sorted(pa.table({first: pa.array([None, "a"], pa.string()), **others}),
                              date_files.SORT_COLUMNS)
