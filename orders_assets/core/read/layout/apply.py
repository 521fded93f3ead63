"""A vendor table (one block of a file, columns as the vendor named them) into canonical columns.

The result goes through the same row rules as the contract's own files (`validate`): the
layout only renames, maps, rescales and re-encodes, and every value it cannot convert becomes a
row check with the column and the reason, so a bad vendor value is quarantined with its line
like any other. Rows that the layout's `orders` rule says are not orders (a cancel message in
a market-by-order feed) are counted as filtered out before validation: they are read and
accounted for, but they are not orders, so their empty prices are not errors. A header line in
a file whose layout says it has none is quarantined as such, never counted as "not an order".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.read.layout.clock import clock_micros, date_times, has_date, nanosecond_micros
from orders_assets.core.read.layout.model import TEXT_CASES, TIME_UNITS, Layout, OrderCondition
from orders_assets.core.read.layout.rounding import rounded_numbers
from orders_assets.core.read.arrays import as_array, present_but

Check = tuple[pa.Array, str]
RESERVED_NAMES = frozenset(schema.CANONICAL_COLUMNS + (schema.TRADE_DATE, schema.HOUR, "source_line", "source_file",
                                                       "local_time"))
"""Names the engine gives meaning to: a vendor column with one of them is kept as source_<name>."""
NUMBER_PATTERN = r"^[-+]?[0-9]{1,24}(\.[0-9]{1,12})?$"
NUMBER_TYPE = pa.decimal128(38, 12)
"""Vendor numbers are read exactly with up to 24 digits before the point and 12 after."""
TIME_NUMBER_PATTERN = r"^[0-9]{1,19}(\.[0-9]{1,12})?$"
FRACTION_DIGITS = 9
MAX_MICROS = 2 ** 63 - 1
HEADER_LINE = ("header: a header line, but layout {name} reads files without one (header: false); remove the "
               "line, or use a layout that extends {name} with column_names: null")


@dataclass(frozen=True)
class CanonicalRows:
    table: pa.Table
    """Canonical columns (text, or typed where the layout converted them) and the kept vendor extras."""
    positions: np.ndarray | None
    """Row of the vendor table each row came from (None: the same rows in the same order)."""
    not_orders: int
    """Rows the layout's orders rule left out (counted as filtered out)."""
    checks: list[Check]
    """(failed mask, '<column>: reason') over the rows of `table`, checked before the contract's rules."""
    rounded: np.ndarray | None = None
    """Rows of `table` whose price or quantity the layout's rounding changed (None: it has none)."""


def vendor_columns_needed(layout: Layout) -> list[str]:
    """Vendor columns a file must have for this layout."""
    needed = list(layout.columns.values()) + [condition.column for condition in layout.orders]
    needed += [name for name in (layout.date_column, layout.nanoseconds_column) if name]
    return list(dict.fromkeys(needed))


def to_canonical(layout: Layout, table: pa.Table, file_fields: dict[str, str]) -> CanonicalRows:
    """Apply `layout` to a vendor table whose columns are the file's (text from CSV, typed from Parquet)."""
    if layout.is_canonical:
        return CanonicalRows(table, None, 0, [])
    checks: list[Check] = []
    is_order, condition_checks = _order_mask(layout.orders, table)
    header_lines = _header_lines(layout, table)
    if header_lines is not None:
        is_order = None if is_order is None else is_order | header_lines  # kept, to be quarantined
        condition_checks.insert(0, (pa.array(header_lines), HEADER_LINE.format(name=layout.name)))
    positions = None
    not_orders = 0
    if is_order is not None:
        positions = np.flatnonzero(is_order)
        not_orders = table.num_rows - len(positions)
        table = table.take(pa.array(positions))
        condition_checks = [(pc.take(mask, pa.array(positions)), message) for mask, message in condition_checks]
    checks += condition_checks
    columns: dict[str, pa.Array] = {}
    for canonical in schema.CANONICAL_COLUMNS:
        if canonical in layout.columns:
            columns[canonical] = _vendor_values(layout, canonical, table[layout.columns[canonical]])
        elif canonical in layout.constants:
            columns[canonical] = pa.repeat(pa.scalar(layout.constants[canonical]), table.num_rows)
        else:
            columns[canonical] = pa.repeat(pa.scalar(file_fields[canonical]), table.num_rows)
    rounded = None
    for name, exponent in ((schema.PRICE, layout.price_exponent), (schema.QUANTITY, layout.quantity_exponent)):
        if name in layout.roundings:
            columns[name], changed, number_checks = rounded_numbers(columns[name], layout.roundings[name], exponent,
                                                                   name)
            rounded = changed if rounded is None else rounded | changed
        else:
            columns[name], number_checks = scaled_numbers(columns[name], exponent, name)
        checks += number_checks
    columns[schema.TIMESTAMP], time_checks = _times(layout, table, columns[schema.TIMESTAMP], file_fields)
    checks += time_checks
    used = set(layout.columns.values())
    for name in table.column_names:
        if name not in used:
            columns[f"source_{name}" if name in RESERVED_NAMES else name] = table[name]
    return CanonicalRows(pa.table(columns), positions, not_orders, checks, rounded)


def _vendor_values(layout: Layout, canonical: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column as text with the layout's value map applied (unlisted values unchanged)."""
    if canonical in (schema.TIMESTAMP, schema.PRICE, schema.QUANTITY):
        return column
    text = _as_text(column)
    if canonical in layout.cases:
        text = TEXT_CASES[layout.cases[canonical]](text)
    mapping = layout.values.get(canonical)
    if not mapping:
        return text
    keys, targets = pa.array(list(mapping)), pa.array(list(mapping.values()))
    index = pc.index_in(text, value_set=keys)
    return pc.coalesce(pc.take(targets, index), text)


def loose_name(name: str) -> str:
    """A column name without case, spaces, underscores or hyphens: how header names are matched."""
    return "".join(character for character in name.lower() if character not in " _-")


def first_line_is_header(layout: Layout, table: pa.Table) -> bool:
    """Whether the first row of `table` (a file's first line) is a header line of headerless `layout`."""
    return _header_lines(layout, table.slice(0, 1)) is not None


def _header_lines(layout: Layout, table: pa.Table) -> np.ndarray | None:
    """Rows that repeat a headerless layout's column names, in any case and spelling of their
    separators (None if there is none): a header line the layout does not expect. Read as a row,
    it would fail the orders rule and be counted as not an order without notice."""
    if layout.header or table.num_columns != len(layout.column_names) or table.num_rows == 0:
        return None
    found = np.ones(table.num_rows, dtype=bool)
    for index, name in enumerate(layout.column_names):
        loose = pc.utf8_lower(pc.replace_substring_regex(_as_text(table.column(index)), r"[ _\-]", ""))
        equal = pc.fill_null(pc.equal(loose, loose_name(name)), False)
        found &= np.asarray(equal.to_numpy(zero_copy_only=False), dtype=bool)
        if not found.any():
            return None
    return found


def _order_mask(conditions: tuple[OrderCondition, ...], table: pa.Table) -> tuple[np.ndarray | None, list[Check]]:
    """Rows that count as orders; a value a bit test cannot read keeps its row, flagged for quarantine."""
    if not conditions:
        return None, []
    mask = np.ones(table.num_rows, dtype=bool)
    checks = []
    for condition in conditions:
        column = table[condition.column]
        if condition.kind in ("in", "not_in"):
            found = pc.fill_null(pc.is_in(_as_text(column), value_set=pa.array(condition.values)), False)
            passed = found if condition.kind == "in" else pc.invert(found)
            mask &= np.asarray(passed.to_numpy(zero_copy_only=False), dtype=bool)
            continue
        numbers, unreadable = _integers(column)
        masked = np.bitwise_and(numbers, condition.bits)
        passed = masked == condition.bits if condition.kind == "bits_set" else masked == 0
        mask &= passed | unreadable
        if unreadable.any():
            message = f"{condition.column}: not a whole number (the layout's orders rule tests its bits)"
            checks.append((unreadable, message))
    return mask, [(pa.array(failed), message) for failed, message in checks] if checks else []


def _integers(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values with 0 where unreadable, unreadable flags) of an integer column given as text or numbers."""
    if pa.types.is_integer(column.type):
        values = pc.fill_null(pc.cast(column, pa.int64()), 0)
        missing = pc.is_null(column).to_numpy(zero_copy_only=False)
        return np.asarray(values.to_numpy(zero_copy_only=False)), np.asarray(missing)
    text = _as_text(column)
    readable = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{1,18}$"), False)
    values = pc.cast(pc.if_else(readable, text, "0"), pa.int64())
    return np.asarray(values.to_numpy(zero_copy_only=False)), ~np.asarray(readable.to_numpy(zero_copy_only=False))


def scaled_numbers(column: pa.ChunkedArray, exponent: int, name: str) -> tuple[pa.Array, list[Check]]:
    """Exact decimals of a vendor number column, divided by 10^exponent.

    Text is read as written (never through a binary float) and integers are exact. Binary
    floats (Parquet) stay floats: the contract's rules round them to the places a price or a
    quantity may have, since a float holds no exact decimal to keep.
    """
    if pa.types.is_floating(column.type):
        return (pc.divide(column, float(10 ** exponent)) if exponent else column), []
    if exponent == 0 and (pa.types.is_integer(column.type) or pa.types.is_decimal(column.type)):
        return column, []
    if exponent == 0 and pa.types.is_string(column.type) and name == schema.PRICE:
        return column, []
    text = _as_text(column)
    well_formed = pc.fill_null(pc.match_substring_regex(text, NUMBER_PATTERN), False)
    readable = pc.if_else(well_formed, pc.replace_substring(text, "+", ""), pa.scalar(None, pa.string()))
    numbers = pc.cast(readable, NUMBER_TYPE)
    if exponent:
        numbers = as_array(numbers).view(pa.decimal128(38, NUMBER_TYPE.scale + exponent))
    return numbers, [(present_but(text, well_formed), f"{name}: not a number")]


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


def _times(layout: Layout, table: pa.Table, column: pa.ChunkedArray,
           file_fields: dict[str, str]) -> tuple[pa.Array, list[Check]]:
    """ISO times pass to the contract's parser; numeric times, date-times in a strptime format and
    times of day (with their date) become timestamps here."""
    if layout.time_format == "iso":
        return column, []
    if has_date(layout.time_format):
        return date_times(layout.time_format, column)
    if layout.time_format == "epoch":
        micros, bad = _micros(column, TIME_UNITS[layout.time_unit])
        instants = pc.cast(micros, pa.timestamp("us", "UTC"))
        return instants, [(bad, f"timestamp: not a number of {layout.time_unit} since the epoch")]
    micros, checks = _time_of_day(layout, table, column)
    days, bad_dates = _dates(layout, table, file_fields)
    naive = pc.cast(pc.add(days, micros), pa.timestamp("us"))
    if bad_dates is not None:
        date_format = layout.date_column_format or layout.date_format
        checks.append((bad_dates, f"{layout.date_column}: not a date in the layout's date_format {date_format}"))
    return naive, checks


def _time_of_day(layout: Layout, table: pa.Table, column: pa.ChunkedArray) -> tuple[pa.Array, list[Check]]:
    """Microseconds after midnight: a number of units, or a clock in a named or strptime format (and
    the nanoseconds of a column of their own)."""
    if layout.time_format == "after_midnight":
        micros, bad = _micros(column, TIME_UNITS[layout.time_unit])
        return micros, [(bad, f"timestamp: not a number of {layout.time_unit} after midnight")]
    micros, checks = clock_micros(layout.time_format, column)
    if layout.nanoseconds_column is not None:
        fraction, fraction_checks = nanosecond_micros(table[layout.nanoseconds_column], layout.nanoseconds_column)
        micros = pc.add(micros, fraction)
        checks += fraction_checks
    return micros, checks


def _micros(column: pa.ChunkedArray, unit_ns: int) -> tuple[pa.Array, pa.Array]:
    """Microseconds of a count of units (fractions allowed, e.g. LOBSTER's 34200.004241176 s)."""
    if pa.types.is_integer(column.type):
        return _whole_micros(pc.cast(column, pa.int64()), unit_ns)
    text = _as_text(column)
    try:
        return _whole_micros(pc.cast(text, pa.int64()), unit_ns)  # the norm: whole numbers only
    except pa.ArrowInvalid:
        pass
    well_formed = pc.fill_null(pc.match_substring_regex(text, TIME_NUMBER_PATTERN), False)
    parts = pc.split_pattern(pc.if_else(well_formed, text, "0"), ".", max_splits=1)
    whole = pc.cast(pc.list_element(parts, 0), pa.int64())
    fraction_text = _fraction_parts(parts)
    digits = pc.utf8_slice_codeunits(pc.utf8_rpad(fraction_text, FRACTION_DIGITS, "0"), 0, FRACTION_DIGITS)
    fraction_ns = pc.cast(digits, pa.int64())
    if unit_ns >= 1000:
        well_formed = pc.and_(well_formed, pc.less_equal(whole, MAX_MICROS // (unit_ns // 1000)))
        whole = pc.if_else(well_formed, whole, 0)
        micros = pc.add(pc.multiply(whole, unit_ns // 1000), pc.divide(pc.multiply(fraction_ns, unit_ns), 10 ** 12))
    else:
        micros = pc.divide(whole, 1000 // unit_ns)
    return pc.if_else(well_formed, micros, pa.scalar(None, pa.int64())), present_but(text, well_formed)


def _whole_micros(values: pa.Array, unit_ns: int) -> tuple[pa.Array, pa.Array]:
    """Microseconds of whole counts of a unit; a count too large for a timestamp is flagged."""
    if unit_ns < 1000:
        fits = pc.fill_null(pc.greater_equal(values, 0), True)
        return pc.divide(pc.if_else(fits, values, pa.scalar(None, pa.int64())), 1000 // unit_ns), pc.invert(fits)
    fits = pc.fill_null(pc.and_(pc.greater_equal(values, 0), pc.less_equal(values, MAX_MICROS // (unit_ns // 1000))),
                        True)
    micros = pc.multiply(pc.if_else(fits, values, pa.scalar(None, pa.int64())), unit_ns // 1000)
    return micros, pc.invert(fits)


def _fraction_parts(parts: pa.Array) -> pa.Array:
    """The digits after the point of each split number ('' where there is none)."""
    has_fraction = pc.greater(pc.list_value_length(parts), 1)
    padded = pc.if_else(has_fraction, parts, pa.scalar(["", ""], parts.type))
    return pc.list_element(padded, 1)


def _dates(layout: Layout, table: pa.Table, file_fields: dict[str, str]) -> tuple[pa.Array, pa.Array | None]:
    """Microseconds from the epoch to the midnight of each row's date (file name or date column)."""
    if layout.date_column is None:
        day = np.datetime64(file_fields[schema.TRADE_DATE], "us").astype(np.int64)
        return pa.repeat(pa.scalar(int(day), pa.int64()), table.num_rows), None
    column = table[layout.date_column]
    if pa.types.is_date(column.type) or pa.types.is_timestamp(column.type):
        dates = pc.cast(pc.cast(column, pa.date32()), pa.timestamp("us"))
        return pc.cast(dates, pa.int64()), pc.is_null(column)
    parsed = pc.strptime(pc.cast(column, pa.string()), format=layout.date_column_format or layout.date_format,
                         unit="us", error_is_null=True)
    return pc.cast(parsed, pa.int64()), pc.is_null(parsed)
