"""Checking a layout document: what each key may hold, and the Layout it describes.

Every problem of a document is listed with its fix at once, so a user fixes a layout in one
round. This module checks the document as a whole (its keys, header and column names, the
`orders` rule) and leaves each group of keys to its own module: where each canonical column
comes from and how its text is mapped (`column_sources`), how times and numbers are converted
(`conversions`).
"""
from __future__ import annotations

from pathlib import Path

from orders_assets.core import schema
from orders_assets.core.read.layout.column_sources import (
    case_rules,
    check_sources,
    file_name_settings,
    file_name_target,
    string_mapping,
    value_maps,
    vendor_text,
)
from orders_assets.core.read.layout.clock import is_clock_format
from orders_assets.core.read.layout.conversions import rounding_settings, scale_exponent, time_settings
from orders_assets.core.read.layout.model import Layout, LayoutError, OrderCondition
from orders_assets.core.read.layout.name_pattern import written_groups

CONDITIONS = ("in", "not_in", "bits_set", "bits_clear")
TOP_LEVEL_KEYS = ("name", "description", "extends", "header", "column_names", "columns", "constants", "values",
                  "case", "price_scale", "quantity_scale", "rounding", "time", "file_name", "orders")


def layout_from_document(document: dict, source: str = "") -> Layout:
    """Validate a layout document; LayoutError lists every problem with its fix."""
    problems: list[str] = []
    unknown = sorted(set(document) - set(TOP_LEVEL_KEYS))
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(TOP_LEVEL_KEYS)}")
    name = document.get("name") or (Path(source).stem if source else "")
    if not isinstance(name, str) or not name:
        problems.append("name: give the layout a name")
    header, column_names = _header(document, problems)
    columns = string_mapping(document.get("columns", {}), "columns", problems)
    constants = string_mapping(document.get("constants", {}), "constants", problems)
    file_pattern, date_format = file_name_settings(document.get("file_name"), problems)
    file_pattern_on = file_name_target(document.get("file_name"), problems)
    from_file = written_groups(document.get("file_name"))
    check_sources(columns, constants, from_file, problems)
    read = set(columns) | from_file
    values = value_maps(document.get("values", {}), read, problems)
    cases = case_rules(document.get("case", {}), read, problems)
    time = time_settings(document.get("time", {}), problems)
    if (time.format == "after_midnight" or is_clock_format(time.format)) and time.date_column is None \
            and schema.TRADE_DATE not in from_file:
        problems.append("time: times after midnight need a date: a file_name pattern with a (?P<trade_date>...) "
                        "group, or time.date_column")
    price_exponent = scale_exponent(document.get("price_scale", 1), "price_scale", problems)
    quantity_exponent = scale_exponent(document.get("quantity_scale", 1), "quantity_scale", problems)
    roundings = rounding_settings(document.get("rounding", {}), problems)
    orders = _conditions(document.get("orders", []), problems)
    if column_names:
        vendor = set(column_names)
        used = set(columns.values()) | {condition.column for condition in orders} | \
            ({time.date_column, time.nanoseconds_column} - {None})
        missing = sorted(used - vendor)
        if missing:
            problems.append(f"column(s) {', '.join(missing)} are used but not in column_names")
    if problems:
        where = f"{source}: " if source else ""
        raise LayoutError(f"{where}layout {name or '?'} has {len(problems)} problem(s):\n- " + "\n- ".join(problems))
    return Layout(name=name, description=str(document.get("description", "")), header=header,
                  column_names=tuple(column_names), columns=columns, constants=constants, values=values, cases=cases,
                  price_exponent=price_exponent, quantity_exponent=quantity_exponent, time_format=time.format,
                  time_unit=time.unit, time_zone=time.zone, date_column=time.date_column,
                  date_column_format=time.date_format, nanoseconds_column=time.nanoseconds_column,
                  file_pattern=file_pattern, file_pattern_on=file_pattern_on, date_format=date_format, orders=orders,
                  roundings=roundings, source=source)


def _header(document: dict, problems: list[str]) -> tuple[bool, list[str]]:
    """(header, column_names): a file has a header line, or the layout lists its columns in order.

    `column_names: null` says "this file has a header line": how a layout that extends a
    headerless one (lobster) reads the same vendor's files written with a header.
    """
    header = document.get("header", True)
    given = document.get("column_names", [])
    column_names = [] if given is None else _string_list(given, "column_names", problems)
    if not isinstance(header, bool):
        problems.append("header: true (the first line names the columns) or false")
    elif given is None and not header:
        problems.append("column_names: null means the file has a header line, but header is false; drop "
                        "header: false, or list the file's column names")
    elif not header and not column_names:
        problems.append("column_names: a file without a header needs the list of its column names")
    elif header and column_names:
        problems.append("column_names: only for files without a header (header: false); for a file with a header "
                        "line, set column_names: null (it also replaces an inherited header: false)")
    if len(set(column_names)) != len(column_names):
        problems.append("column_names: a name appears twice")
    return header is not False, column_names


def _string_list(value, key: str, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        problems.append(f"{key}: a list of non-empty names")
        return []
    return value



def _conditions(value, problems: list[str]) -> tuple[OrderCondition, ...]:
    if not isinstance(value, list):
        problems.append("orders: a list of conditions such as {column: action, in: [A]}")
        return ()
    conditions = []
    for index, item in enumerate(value):
        kinds = [kind for kind in CONDITIONS if isinstance(item, dict) and kind in item]
        if not isinstance(item, dict) or not isinstance(item.get("column"), str) or len(kinds) != 1 \
                or set(item) - {"column", *CONDITIONS}:
            problems.append(f"orders[{index}]: give a column and one of {', '.join(CONDITIONS)}")
            continue
        kind, given = kinds[0], item[kinds[0]]
        if kind in ("in", "not_in"):
            if not isinstance(given, list) or not given:
                problems.append(f"orders[{index}].{kind}: a non-empty list of values")
                continue
            conditions.append(OrderCondition(item["column"], kind, values=tuple(vendor_text(v) for v in given)))
        elif not isinstance(given, int) or isinstance(given, bool) or given <= 0:
            problems.append(f"orders[{index}].{kind}: a positive integer bit mask, e.g. 32")
        else:
            conditions.append(OrderCondition(item["column"], kind, bits=given))
    return tuple(conditions)
