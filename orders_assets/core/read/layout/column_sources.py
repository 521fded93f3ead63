"""Where each canonical column of a layout comes from, and how its vendor text is mapped.

A column is read from a vendor column, set as a constant, or taken from the file name (a
`file_name` pattern's named group), from exactly one of them; text columns read from the file
or its name may have value maps and case rules. Kept together because these rules decide one
thing, a canonical column's text, and each depends on which columns are read.
"""
from __future__ import annotations

from orders_assets.core import schema
from orders_assets.core.read.layout.model import FILE_NAME_FIELDS, NAME_TARGET, PATTERN_TARGETS, TEXT_CASES
from orders_assets.core.read.layout.name_pattern import name_pattern_problem

CONVERTED = (schema.TIMESTAMP, schema.PRICE, schema.QUANTITY)
"""Columns that scales and `time` convert: no value map or case rule applies to them."""


def string_mapping(value, key: str, problems: list[str]) -> dict[str, str]:
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


def check_sources(columns: dict, constants: dict, from_file: set, problems: list[str]) -> None:
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


def value_maps(value, read: set[str], problems: list[str]) -> dict[str, dict[str, str]]:
    """Value maps of the text columns read from the file or its name (`read`)."""
    if not isinstance(value, dict):
        problems.append("values: a mapping of canonical column: {vendor value: canonical value}")
        return {}
    maps = {}
    for canonical, mapping in _translatable_entries(value, read, "values", "a value map", problems):
        if not isinstance(mapping, dict) or not mapping:
            problems.append(f"values.{canonical}: a mapping of vendor value: canonical value")
        else:
            maps[canonical] = {vendor_text(key): vendor_text(target) for key, target in mapping.items()}
    return maps


def case_rules(value, read: set[str], problems: list[str]) -> dict[str, str]:
    """Case rules (`case: {security_code: upper}`) of the text columns read from the file or its name."""
    if not isinstance(value, dict):
        problems.append(f"case: a mapping of canonical column: {' or '.join(TEXT_CASES)}")
        return {}
    cases = {}
    for canonical, rule in _translatable_entries(value, read, "case", "a case rule", problems):
        if rule not in TEXT_CASES:
            problems.append(f"case.{canonical}: {rule!r} is not one of {', '.join(TEXT_CASES)}")
        else:
            cases[canonical] = rule
    return cases


def _translatable_entries(value: dict, read: set[str], key: str, what: str, problems: list[str]):
    """The entries of the `key` mapping (values, case) whose column can have `what`, in order. An
    entry that cannot adds its problem as it is reached, so the problems keep the document's order."""
    for canonical, given in value.items():
        problem = _not_translatable(canonical, read, what)
        if problem:
            problems.append(f"{key}.{canonical}: {problem}")
        else:
            yield canonical, given


def _not_translatable(canonical, read: set[str], what: str) -> str | None:
    """Why `canonical` cannot have a value map or case rule (`what`), or None if it can."""
    if canonical == schema.TRADE_DATE and canonical in read:
        return f"the file name's date is read with file_name.date_format, not {what}"
    if canonical not in read:
        return f"only columns taken from the file or its name (file_name.pattern) can have {what}"
    if canonical in CONVERTED:
        return f"numbers and times are converted by scales and time, not {what}"
    return None


def vendor_text(value) -> str:
    """YAML reads 1 as an int and True as a bool; a vendor's value is text in the file."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def file_name_settings(value, problems: list[str]) -> tuple[str | None, str]:
    if value is None:
        return None, "%Y-%m-%d"
    if not isinstance(value, dict) or "pattern" not in value:
        problems.append("file_name: a mapping with pattern (a regular expression with named groups) and date_format")
        return None, "%Y-%m-%d"
    unknown = sorted(set(value) - {"pattern", "date_format", "match_on"})
    if unknown:
        problems.append(f"file_name: unknown key(s) {', '.join(unknown)}; known: pattern, date_format, match_on")
    problem = name_pattern_problem(value["pattern"])
    if problem:
        problems.append(f"file_name.pattern: {problem}")
        return None, "%Y-%m-%d"
    return value["pattern"], str(value.get("date_format", "%Y-%m-%d"))


def file_name_target(value, problems: list[str]) -> str:
    """What a `file_name.pattern` is searched in (`match_on`): the file's name, or its path in the
    landing folder, whose folders can name the security or the date (model.PATTERN_TARGETS)."""
    target = value.get("match_on", NAME_TARGET) if isinstance(value, dict) else NAME_TARGET
    if target not in PATTERN_TARGETS:
        problems.append(f"file_name.match_on: {target!r} is not one of {', '.join(PATTERN_TARGETS)} (name: the "
                        "file's name; path: its path in the landing folder, e.g. aig/20131007_trade.zip)")
        return NAME_TARGET
    return target
