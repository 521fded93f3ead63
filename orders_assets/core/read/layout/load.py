"""Reading and validating layout documents (YAML): built-in ones by name, others by path, with
`extends`; every problem of a document is listed with its fix at once."""
from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from orders_assets.core import schema
from orders_assets.core.read.layout.yaml_text import load_yaml
from orders_assets.core.read.layout.model import (
    CANONICAL,
    CANONICAL_LAYOUT,
    FILE_NAME_FIELDS,
    TEXT_CASES,
    TIME_UNITS,
    Layout,
    LayoutChoice,
    LayoutError,
    LayoutRule,
    OrderCondition,
)

BUILT_IN_FOLDER = Path(__file__).resolve().parents[3] / "layouts"
TIME_FORMATS = ("iso", "epoch", "after_midnight")
CONDITIONS = ("in", "not_in", "bits_set", "bits_clear")
SCALE_EXPONENTS = range(-12, 19)
"""A scale is a power of ten, from 10^-12 to 10^18."""
TOP_LEVEL_KEYS = ("name", "description", "extends", "header", "column_names", "columns", "constants", "values",
                  "case", "price_scale", "quantity_scale", "time", "file_name", "orders")
CONVERTED = (schema.TIMESTAMP, schema.PRICE, schema.QUANTITY)
"""Columns that scales and `time` convert: no value map or case rule applies to them."""


def built_in_names() -> list[str]:
    return sorted([CANONICAL] + [path.stem for path in BUILT_IN_FOLDER.glob("*.yaml")])


def load_layout(reference: str, relative_to: Path | None = None) -> Layout:
    """A layout by built-in name or by path to a YAML file (relative paths from `relative_to`)."""
    if reference == CANONICAL:
        return CANONICAL_LAYOUT
    document, source = _read_document(reference, relative_to)
    return layout_from_document(document, source)


def _read_document(reference: str, relative_to: Path | None) -> tuple[dict, str]:
    built_in = BUILT_IN_FOLDER / f"{reference}.yaml"
    if "/" not in reference and not reference.endswith((".yaml", ".yml")):
        if not built_in.is_file():
            raise LayoutError(f"unknown layout '{reference}': built-in layouts are {', '.join(built_in_names())}; "
                              "or give the path of a layout file (ending in .yaml)")
        path = built_in
    else:
        path = Path(reference)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
    try:
        document = load_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise LayoutError(f"{path}: cannot read the layout: {error}") from error
    if not isinstance(document, dict):
        raise LayoutError(f"{path}: a layout is a mapping of keys such as columns, constants, time")
    base = document.get("extends")
    if base is not None:
        if not isinstance(base, str):
            raise LayoutError(f"{path}: extends: give one layout name or path")
        parent, _ = _read_document(base, path.parent)
        document = _merged(parent, document)
    return document, str(path)


def _merged(parent: dict, child: dict) -> dict:
    """The child's keys win; mappings (columns, constants, values, case, time, file_name) merge one
    level, and a key set to null (`columns: {side: null}`) removes the parent's entry.

    `column_names: null` makes a headerless parent's child read files with a header line, so it
    drops the parent's `header: false` too (unless the child sets `header` itself). Value maps and
    case rules of a column the child no longer reads from the file or its name are dropped with it.
    """
    merged = {key: value for key, value in parent.items() if key not in ("name", "description")}
    for key, value in child.items():
        if key == "extends":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            combined = {**merged[key], **value}
            merged[key] = {name: given for name, given in combined.items() if given is not None}
        else:
            merged[key] = value
    if "column_names" in child and child["column_names"] is None and "header" not in child:
        merged.pop("header", None)
    if isinstance(merged.get("columns"), dict):
        read = set(merged["columns"]) | _file_name_groups(merged.get("file_name"))
        for key in ("values", "case"):
            if isinstance(merged.get(key), dict):
                merged[key] = {name: given for name, given in merged[key].items() if name in read}
    return merged


def _file_name_groups(file_name) -> set[str]:
    """The named groups of a file_name pattern (none if it is missing or broken: validation says why)."""
    try:
        return set(re.compile(file_name["pattern"]).groupindex)
    except (TypeError, KeyError, re.error):
        return set()


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
    columns = _string_mapping(document.get("columns", {}), "columns", problems)
    constants = _string_mapping(document.get("constants", {}), "constants", problems)
    file_pattern, date_format = _file_name(document.get("file_name"), problems)
    from_file = set(re.compile(file_pattern).groupindex) if file_pattern else set()
    _check_sources(columns, constants, from_file, problems)
    read = set(columns) | from_file
    values = _value_maps(document.get("values", {}), read, problems)
    cases = _cases(document.get("case", {}), read, problems)
    time_format, time_unit, time_zone, date_column = _time(document.get("time", {}), problems)
    if time_format == "after_midnight" and date_column is None and schema.TRADE_DATE not in from_file:
        problems.append("time: times after midnight need a date: a file_name pattern with a (?P<trade_date>...) "
                        "group, or time.date_column")
    price_exponent = _exponent(document.get("price_scale", 1), "price_scale", problems)
    quantity_exponent = _exponent(document.get("quantity_scale", 1), "quantity_scale", problems)
    orders = _conditions(document.get("orders", []), problems)
    if column_names:
        vendor = set(column_names)
        used = set(columns.values()) | {condition.column for condition in orders} | ({date_column} - {None})
        missing = sorted(used - vendor)
        if missing:
            problems.append(f"column(s) {', '.join(missing)} are used but not in column_names")
    if problems:
        where = f"{source}: " if source else ""
        raise LayoutError(f"{where}layout {name or '?'} has {len(problems)} problem(s):\n- " + "\n- ".join(problems))
    return Layout(name=name, description=str(document.get("description", "")), header=header,
                  column_names=tuple(column_names), columns=columns, constants=constants, values=values, cases=cases,
                  price_exponent=price_exponent, quantity_exponent=quantity_exponent, time_format=time_format,
                  time_unit=time_unit, time_zone=time_zone, date_column=date_column, file_pattern=file_pattern,
                  date_format=date_format, orders=orders, source=source)


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


def _string_mapping(value, key: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append(f"{key}: a mapping of canonical column: value")
        return {}
    mapping = {}
    for canonical, given in value.items():
        if canonical not in schema.CANONICAL_COLUMNS:
            known = ", ".join(schema.CANONICAL_COLUMNS)
            problems.append(f"{key}.{canonical}: not a canonical column; they are {known}")
        elif not isinstance(given, (str, int, float)) or isinstance(given, bool) or str(given) == "":
            problems.append(f"{key}.{canonical}: give a non-empty text value")
        else:
            mapping[canonical] = str(given)
    return mapping


def _check_sources(columns: dict, constants: dict, from_file: set, problems: list[str]) -> None:
    """Every canonical column comes from exactly one place."""
    for column in schema.CANONICAL_COLUMNS:
        places = [place for place, names in (("columns", columns), ("constants", constants), ("file_name", from_file))
                  if column in names]
        if not places:
            problems.append(f"{column}: say where it comes from: columns.{column}: <vendor column>, "
                            f"constants.{column}: <value>"
                            + (", or the file name" if column in FILE_NAME_FIELDS else ""))
        elif len(places) > 1:
            problems.append(f"{column}: comes from both {' and '.join(places)}; keep one")
    if schema.TIMESTAMP in constants:
        problems.append("constants.timestamp: the time must come from a column")
    unknown_groups = sorted(from_file - set(FILE_NAME_FIELDS))
    if unknown_groups:
        problems.append(f"file_name.pattern: unknown group(s) {', '.join(unknown_groups)}; "
                        f"use {', '.join(FILE_NAME_FIELDS)}")


def _value_maps(value, read: set[str], problems: list[str]) -> dict[str, dict[str, str]]:
    """Value maps of the text columns read from the file or its name (`read`)."""
    if not isinstance(value, dict):
        problems.append("values: a mapping of canonical column: {vendor value: canonical value}")
        return {}
    maps = {}
    for canonical, mapping in value.items():
        problem = _not_translatable(canonical, read, "a value map")
        if problem:
            problems.append(f"values.{canonical}: {problem}")
        elif not isinstance(mapping, dict) or not mapping:
            problems.append(f"values.{canonical}: a mapping of vendor value: canonical value")
        else:
            maps[canonical] = {_text(key): _text(target) for key, target in mapping.items()}
    return maps


def _cases(value, read: set[str], problems: list[str]) -> dict[str, str]:
    """Case rules (`case: {security_code: upper}`) of the text columns read from the file or its name."""
    if not isinstance(value, dict):
        problems.append(f"case: a mapping of canonical column: {' or '.join(TEXT_CASES)}")
        return {}
    cases = {}
    for canonical, rule in value.items():
        problem = _not_translatable(canonical, read, "a case rule")
        if problem:
            problems.append(f"case.{canonical}: {problem}")
        elif rule not in TEXT_CASES:
            problems.append(f"case.{canonical}: {rule!r} is not one of {', '.join(TEXT_CASES)}")
        else:
            cases[canonical] = rule
    return cases


def _not_translatable(canonical, read: set[str], what: str) -> str | None:
    """Why `canonical` cannot have a value map or case rule (`what`), or None if it can."""
    if canonical == schema.TRADE_DATE and canonical in read:
        return f"the file name's date is read with file_name.date_format, not {what}"
    if canonical not in read:
        return f"only columns taken from the file or its name (file_name.pattern) can have {what}"
    if canonical in CONVERTED:
        return f"numbers and times are converted by scales and time, not {what}"
    return None


def _text(value) -> str:
    """YAML reads 1 as an int and True as a bool; a vendor's value is text in the file."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _file_name(value, problems: list[str]) -> tuple[str | None, str]:
    if value is None:
        return None, "%Y-%m-%d"
    if not isinstance(value, dict) or "pattern" not in value:
        problems.append("file_name: a mapping with pattern (a regular expression with named groups) and date_format")
        return None, "%Y-%m-%d"
    unknown = sorted(set(value) - {"pattern", "date_format"})
    if unknown:
        problems.append(f"file_name: unknown key(s) {', '.join(unknown)}; known: pattern, date_format")
    try:
        re.compile(value["pattern"])
    except (re.error, TypeError) as error:
        problems.append(f"file_name.pattern: not a regular expression: {error}")
        return None, "%Y-%m-%d"
    return value["pattern"], str(value.get("date_format", "%Y-%m-%d"))


def _time(value, problems: list[str]) -> tuple[str, str, str | None, str | None]:
    if not isinstance(value, dict):
        problems.append("time: a mapping with format, unit, timezone")
        return "iso", "ns", None, None
    unknown = sorted(set(value) - {"format", "unit", "timezone", "date_column"})
    if unknown:
        problems.append(f"time: unknown key(s) {', '.join(unknown)}; known: format, unit, timezone, date_column")
    time_format = value.get("format", "iso")
    if time_format not in TIME_FORMATS:
        problems.append(f"time.format: '{time_format}' is not one of {', '.join(TIME_FORMATS)}")
    unit = value.get("unit", "ns" if time_format == "epoch" else "s")
    if unit not in TIME_UNITS:
        problems.append(f"time.unit: '{unit}' is not one of {', '.join(TIME_UNITS)}")
    zone = value.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"time.timezone: '{zone}' is not an IANA time zone (e.g. UTC, Europe/Berlin)")
    date_column = value.get("date_column")
    return time_format, unit, None if zone is None else str(zone), date_column


def _exponent(value, key: str, problems: list[str]) -> int:
    """10^k -> k; anything else is refused (a scale must shift the decimal point, never round)."""
    try:
        exponent = round(math.log10(float(value)))
        exact = float(value) > 0 and 10.0 ** exponent == float(value)
    except (TypeError, ValueError):
        exact = False
    if not exact or exponent not in SCALE_EXPONENTS:
        problems.append(f"{key}: {value!r} is not a power of ten between 1e-12 and 1e18 (the file's number is the "
                        "value times this scale, e.g. 10000 for prices given in ten-thousandths)")
        return 0
    return exponent


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
            conditions.append(OrderCondition(item["column"], kind, values=tuple(_text(v) for v in given)))
        elif not isinstance(given, int) or isinstance(given, bool) or given <= 0:
            problems.append(f"orders[{index}].{kind}: a positive integer bit mask, e.g. 32")
        else:
            conditions.append(OrderCondition(item["column"], kind, bits=given))
    return tuple(conditions)


RULE_KEYS = ("layout", "folder", "match")


def rule_problem(entry) -> str | None:
    """What is wrong with one layout rule, naming the key (and the closest known one for a typo)."""
    if not isinstance(entry, dict):
        return f"{entry!r} is not a mapping"
    unknown = sorted(set(map(str, entry)) - set(RULE_KEYS))
    if unknown:
        close = {key: difflib.get_close_matches(key, RULE_KEYS, n=1) for key in unknown}
        named = ", ".join(f"'{key}'" + (f" (did you mean '{close[key][0]}'?)" if close[key] else "") for key in unknown)
        return f"unknown key {named}"
    if "layout" not in entry:
        return "no 'layout'"
    chosen = [key for key in ("folder", "match") if key in entry]
    if len(chosen) != 1:
        return "both 'folder' and 'match'" if chosen else "neither 'folder' nor 'match'"
    return None


def layout_choice_from(entries: list[dict], relative_to: Path | None = None) -> LayoutChoice:
    """Rules from settings: [{layout: NAME_OR_PATH, folder: SUB_FOLDER} or {layout: ..., match: GLOB}]."""
    rules, problems = [], []
    for index, entry in enumerate(entries or []):
        problem = rule_problem(entry)
        if problem:
            problems.append(f"layouts[{index}]: {problem}; give layout and one of folder (a landing sub-folder) or "
                            "match (a file-name glob), e.g. {layout: databento_mbo, folder: cme}")
            continue
        try:
            layout = load_layout(str(entry["layout"]), relative_to)
        except LayoutError as error:
            problems.append(f"layouts[{index}]: {error}")
            continue
        rules.append(LayoutRule(layout=layout, folder=entry.get("folder"), match=entry.get("match")))
    if problems:
        raise LayoutError("\n".join(problems))
    return LayoutChoice(tuple(rules))
