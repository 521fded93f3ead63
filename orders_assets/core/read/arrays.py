"""Arrow array helpers the row rules share (`validate`, `timestamps`, `amounts`, `layout.apply`).

Kept apart so each rule module needs only these, not one another: a column of no failures, the
"present but malformed" test every text grammar ends with, and swapping typed columns into a table.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def all_false(length: int) -> pa.Array:
    return pa.array(np.zeros(length, dtype=bool))


def present_but(text: pa.ChunkedArray, well_formed: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a value is present (non-empty) but not well formed."""
    present = pc.fill_null(pc.greater(pc.binary_length(text), 0), False)
    return pc.and_(present, pc.invert(pc.fill_null(well_formed, False)))


def as_array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def with_columns(table: pa.Table, replacements: dict[str, pa.Array]) -> pa.Table:
    for name, column in replacements.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table
