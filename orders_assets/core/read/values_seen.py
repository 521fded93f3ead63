"""The values of the filter's columns a file holds: what tells a filter value that matches nothing
(`order_types: [CENTER_POINT]` for CENTRE_POINT) from a day without such orders, and lists the
values there are instead.

Counted where the filter tests the column: the order types of the valid rows, and, when the
filter names participants, the participants of the rows of its order types in its session (the
rows the participant rule decides). The filter's own values are counted exactly, every row. The
other values are listed, the most frequent first: the exact path counts them all; the compiled
pass names those of a sample of each block's rows (row_kernel.other_types), since counting every
row there cost the scan a tenth of its speed. A column lists at most LISTED values, so a file of a
million participants keeps a bounded record.
"""
from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.read.filters import OrderFilter

SeenValues = dict[str, dict[str, int]]
"""Column (order_type, participant_id) -> {value: rows}: exact for the filter's values, at least
that many for the others."""
LISTED = 1000
"""Values a column lists besides the filter's own."""


def filter_values(order_filter: OrderFilter) -> dict[str, tuple[str, ...]]:
    """The values the filter names, by column (a column it keeps every value of is left out)."""
    named = {schema.ORDER_TYPE: order_filter.order_types, schema.PARTICIPANT_ID: order_filter.participants}
    return {column: tuple(values) for column, values in named.items() if values}


def counted(column: str, values: pa.Array | pa.ChunkedArray) -> SeenValues:
    """{column: {value: rows}} of an Arrow column of text (nulls are not values)."""
    if len(values) == 0:
        return {column: {}}
    counts = pc.value_counts(values)
    return {column: {value: rows for value, rows in zip(counts.field("values").to_pylist(),
                                                         counts.field("counts").to_pylist()) if value is not None}}


def added(total: SeenValues, more: Mapping[str, Mapping[str, int]] | None,
          named: Mapping[str, tuple[str, ...]]) -> SeenValues:
    """`total` with the rows of `more` (a block's or a piece's values) added; a column past twice
    LISTED values is trimmed to the LISTED with the most rows and the filter's `named` values, so
    the record stays bounded as a file goes on (the filter's values stay exact)."""
    for column, counts in (more or {}).items():
        into = total.setdefault(column, {})
        for value, rows in counts.items():
            into[value] = into.get(value, 0) + rows
        if len(into) > 2 * LISTED:
            total[column] = _trimmed(into, named.get(column, ()))
    return total


def filter_value_rows(total: SeenValues, named: Mapping[str, tuple[str, ...]]) -> dict[str, dict[str, int]]:
    """The rows of each value the filter names, by column: 0 for a value no row has."""
    return {column: {value: total.get(column, {}).get(value, 0) for value in values}
            for column, values in sorted(named.items())}


def listed_values(total: SeenValues, named: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """The values seen, by column, the most rows first (at most LISTED besides the filter's own).
    Where the compiled pass counted the other order types in a sample only, the filter's own
    (counted every row) come first."""
    return {column: [value for value, rows in _trimmed(counts, named.get(column, ())).items() if rows]
            for column, counts in sorted(total.items())}


def _trimmed(counts: Mapping[str, int], kept: tuple[str, ...]) -> dict[str, int]:
    """The LISTED values with the most rows and the filter's `kept` values, most rows first."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    listed = dict(ranked[:LISTED])
    listed.update({value: counts[value] for value in kept if value in counts})
    return dict(sorted(listed.items(), key=lambda item: (-item[1], item[0])))
