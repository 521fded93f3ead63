"""Text cells of the CSV files written for people (reports, quarantines), safe to open in a spreadsheet.

A spreadsheet evaluates a cell that begins with `=`, `+`, `-` or `@` as a formula, and some take a
leading TAB or CR the same way, so a security code `=HYPERLINK("http://x","y")` or a file named
`=1+2.csv` would run when an analyst opens the file. OWASP's rule ("CSV injection") is applied to
every text column: such a cell is written with a leading apostrophe, which spreadsheets read as
"this is text". A cell that already begins with an apostrophe gets one too, so the rule has an
exact inverse: a written cell that begins with an apostrophe loses its first character, and the
store reads its own files back to the values it wrote. Numbers, dates and the Parquet files are
data, written as they are.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

APOSTROPHE = "'"
FORMULA_STARTS = "=+-@\t\r"
"""First characters a spreadsheet may take for a formula (OWASP's list)."""
ESCAPED_STARTS = FORMULA_STARTS + APOSTROPHE
_ESCAPED_START = "^([" + "".join(f"\\x{ord(character):02x}" for character in ESCAPED_STARTS) + "])"


def formulas_escaped(table: pa.Table) -> pa.Table:
    """The table with every text cell that a spreadsheet could evaluate (or that begins with an
    apostrophe) prefixed with an apostrophe; other columns as they are."""
    return _each_text_column(table, _escaped)


def formulas_unescaped(table: pa.Table) -> pa.Table:
    """The inverse of formulas_escaped: the values as they were before they were written."""
    return _each_text_column(table, _unescaped)


def _escaped(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column without a cell to escape (the norm) is returned as it is, not copied."""
    first = pc.utf8_slice_codeunits(column, 0, 1)
    if not pc.any(pc.is_in(first, value_set=pa.array(list(ESCAPED_STARTS), column.type))).as_py():
        return column
    return pc.replace_substring_regex(column, _ESCAPED_START, APOSTROPHE + r"\1")


def _unescaped(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pc.any(pc.starts_with(column, APOSTROPHE)).as_py():
        return column
    return pc.replace_substring_regex(column, "^" + APOSTROPHE, "")


def _each_text_column(table: pa.Table, change) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(index, field, change(table.column(index)))
    return table
