"""A file's header against the columns its layout needs: which are missing or doubled (one line
naming them, what was found, and the fix), and the file's own columns renamed where the pipeline
adds one of that name."""
from __future__ import annotations

from orders_assets.core import schema
from orders_assets.core.errors import shown
from orders_assets.core.read.layout.model import CANONICAL_LAYOUT, Layout
from orders_assets.core.read.layout.apply import loose_name
from orders_assets.core.read.validate import LOCAL_TIME

SOURCE_LINE = "source_line"
SOURCE_FILE = "source_file"
"""The source file of each row in the filtered order sets (added by the assembly)."""
ADDED_COLUMNS = (SOURCE_LINE, SOURCE_FILE, LOCAL_TIME, schema.TRADE_DATE, schema.HOUR)
"""Columns the pipeline adds to each kept row (parse, validate, filter, assembly): a file's own
column of one of these names would collide with them."""


def renamed_extras(header: list[str], needed: list[str]) -> dict[str, str]:
    """A file's pass-through columns named like a column the pipeline adds, each renamed to
    `<name>_extra` (`_extra2`, ... if that name is taken too), so that both are kept."""
    taken = set(header) | set(ADDED_COLUMNS)
    renamed = {}
    for name in header:
        if name in ADDED_COLUMNS and name not in needed:
            candidate, number = f"{name}_extra", 1
            while candidate in taken:
                number += 1
                candidate = f"{name}_extra{number}"
            taken.add(candidate)
            renamed[name] = candidate
    return renamed


def header_matched(header: list[str], needed: list[str]) -> list[str]:
    """The file's column names with each needed column that the file writes in another case or
    spelling of its separators (`ORDER_ID`, `Order ID`, `orderid` for order_id) renamed to the
    needed name: vendors' headers differ in case, and a column the file names once is that column.
    A name matched by two of the file's columns is left alone (header_problem then names it)."""
    written: dict[str, list[str]] = {}
    for name in header:
        written.setdefault(loose_name(name), []).append(name)
    renamed = {}
    for column in needed:
        found = written.get(loose_name(column), [])
        if column not in header and len(found) == 1 and found[0] not in needed:
            renamed[found[0]] = column
    return [renamed.get(name, name) for name in header]


FOUND_NAMES = 20
"""Column names a refusal lists of what it found (a binary "header" can have thousands)."""


def header_problem(header: list[str], needed: list[str], layout: Layout = CANONICAL_LAYOUT) -> str | None:
    """Why a file with these column names cannot be read under `layout` (with the fix), or None.

    Columns without a name are said by position: a header line ending in commas gives several,
    which would otherwise be reported as a duplicate name that is empty. One alone is a column
    like any other (a trailing comma on every line), kept under the empty name as before."""
    missing = [column for column in needed if column not in header]
    if missing:
        fix = ("Rename the columns or use a layout that maps them." if layout.is_canonical
               else f"Check that the file is in layout {layout.name}'s format ({layout.source}).")
        return f"missing required column(s) {', '.join(missing)}; found {_found(header)}. {fix}"
    unnamed = [position for position, name in enumerate(header, start=1) if not name]
    if len(unnamed) > 1:
        return (f"columns {_positions(unnamed)} of {len(header)} have no name (commas at the end of the header "
                "line?); name them, or remove the extra commas")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        where = "; ".join(f"{shown(name)} at columns {_positions(_positions_of(header, name))}" for name in duplicated)
        return (f"duplicate column name(s) {', '.join(shown(name) for name in duplicated)} ({where}); "
                "rename all but one of each")
    return None


def _found(header: list[str]) -> str:
    names = ", ".join(shown(name) for name in header[:FOUND_NAMES])
    return names + (f", ... ({len(header) - FOUND_NAMES} more)" if len(header) > FOUND_NAMES else "")


def _positions_of(header: list[str], name: str) -> list[int]:
    return [position for position, given in enumerate(header, start=1) if given == name]


def _positions(positions: list[int]) -> str:
    return ", ".join(map(str, positions[:-1])) + f" and {positions[-1]}" if len(positions) > 1 else str(positions[0])
