"""Vendor layouts: how a file that nobody designed for us maps onto the contract's columns.

A layout is a small YAML document (built-in ones live in orders_assets/layouts/). It says where
each canonical column comes from (a vendor column, a constant, or the file name), how values
translate (value maps, price and quantity scales, the time's encoding and zone), and which rows
count as orders. Loading validates the whole document and lists every problem at once, each with
the fix, so a layout author never meets a half-applied layout at ingest time.

This module defines layouts and which file uses which; `layout_load` reads and validates their
documents; `layout_apply` turns a vendor table into canonical columns with them.
"""
from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.errors import InputError, shown
from orders_assets.core import schema
from orders_assets.core.read.digests import short_digest
from orders_assets.core.read.layout.name_pattern import compiled_name_pattern
from orders_assets.core.read.sources import zip_parts

CANONICAL = "canonical"
TIME_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
"""Nanoseconds per unit of a numeric time."""
FILE_NAME_FIELDS = (schema.SECURITY_CODE, schema.TRADE_DATE)
NAME_TARGET, PATH_TARGET = "name", "path"
PATTERN_TARGETS = (NAME_TARGET, PATH_TARGET)
"""What `file_name.pattern` is searched in (`file_name.match_on`): the file's name (a zip member's, for
a zip of several) or its path in the landing folder (`aig/20131007_trade.zip`, `day.zip!aig.csv`)."""
TEXT_CASES = {"upper": pc.utf8_upper, "lower": pc.utf8_lower}
"""A layout's `case` rules: one Arrow function for a column and for a file name's text, so both agree."""


class LayoutError(InputError):
    """A layout document that cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class OrderCondition:
    """One test on a vendor column that a row must pass to count as an order."""

    column: str
    kind: str
    """One of CONDITIONS."""
    values: tuple[str, ...] = ()
    bits: int = 0


@dataclass(frozen=True)
class Rounding:
    """A price or quantity the vendor wrote through a binary float (`23.400000000000002`): read
    exactly, taken as the nearest multiple of `step` when within the tolerance, else rejected."""

    step: str
    """The tick as decimal text (`0.01`, `0.25`): values are multiples of it."""
    tolerance: str | None = None
    """Largest distance from the multiple, as decimal text; None: ROUNDING_RELATIVE_TOLERANCE of the value."""


@dataclass(frozen=True)
class Layout:
    """A validated layout. `canonical` layouts read the contract's own files unchanged."""

    name: str
    description: str = ""
    header: bool = True
    column_names: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    """Canonical column -> vendor column."""
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Canonical column -> {vendor value: canonical value}; values not listed pass unchanged."""
    cases: dict[str, str] = field(default_factory=dict)
    """Canonical column -> a TEXT_CASES name, applied to the vendor's text before the value map."""
    price_exponent: int = 0
    """The file's price is the price x 10^price_exponent."""
    quantity_exponent: int = 0
    time_format: str = "iso"
    time_unit: str = "ns"
    time_zone: str | None = None
    """Zone of naive times (ISO without offset, times after midnight); None: the run's zone."""
    date_column: str | None = None
    """Vendor column holding the date of times after midnight (else the file name's trade_date)."""
    date_column_format: str | None = None
    """strptime format of date_column (None: date_format, the file name's)."""
    nanoseconds_column: str | None = None
    """Vendor column of the nanoseconds within the second of an hhmmss time."""
    file_pattern: str | None = None
    file_pattern_on: str = NAME_TARGET
    """One of PATTERN_TARGETS."""
    date_format: str = "%Y-%m-%d"
    orders: tuple[OrderCondition, ...] = ()
    roundings: dict[str, Rounding] = field(default_factory=dict)
    """price and/or quantity -> how the vendor's float-written values are rounded; none: never rounded."""
    source: str = ""
    """Where the layout was defined (a file path or 'built-in')."""

    @property
    def is_canonical(self) -> bool:
        return self.name == CANONICAL

    @property
    def fingerprint(self) -> str:
        """Changes whenever the layout's meaning changes: files ingested under another are stale."""
        if self.is_canonical:
            return CANONICAL
        described = {key: value for key, value in self.__dict__.items() if key not in ("description", "source")}
        if not self.cases:
            del described["cases"]  # layouts without case rules keep the fingerprint they had before them
        if not self.roundings:
            del described["roundings"]  # so do layouts without rounding
        for key in ("date_column_format", "nanoseconds_column"):
            if described[key] is None:
                del described[key]  # and those without the time keys that came with them
        if self.file_pattern_on == NAME_TARGET:
            del described["file_pattern_on"]  # as do patterns searched in the name, as all were before
        text = json.dumps(described, sort_keys=True, default=lambda value: value.__dict__)
        return f"{self.name}:{short_digest(text, length=12)}"

    def file_fields(self, source_key: str) -> dict[str, str]:
        """security_code and/or trade_date (YYYY-MM-DD) taken from the file's name, or its path in the
        landing folder (`file_pattern_on`), by the layout's pattern."""
        if self.file_pattern is None:
            return {}
        on_path = self.file_pattern_on == PATH_TARGET
        searched = source_key if on_path else own_name(source_key)
        found = compiled_name_pattern(self.file_pattern).search(searched)  # RE2: linear in the name, whatever it is
        if found is None:
            raise LayoutError(f"{source_key}: the file's {'path' if on_path else 'name'} does not match layout "
                              f"{self.name}'s file_name pattern {self.file_pattern!r}; rename the file or choose "
                              "another layout for it" + ("" if on_path else " (or match the pattern on the "
                                                                            "file's path: file_name.match_on: path)"))
        fields = {key: value for key, value in found.groupdict().items() if value is not None}
        if schema.TRADE_DATE in fields:
            fields[schema.TRADE_DATE] = _iso_date(fields[schema.TRADE_DATE], self.date_format, source_key, self.name)
        if schema.SECURITY_CODE in fields:
            fields[schema.SECURITY_CODE] = self.translated(schema.SECURITY_CODE, fields[schema.SECURITY_CODE])
        return fields

    def translated(self, canonical: str, text: str) -> str:
        """One vendor text as the layout's case rule, then its value map, make it. A file name's
        security goes through the same steps as a column's values, so `bhp_...` can give BHP."""
        rule = self.cases.get(canonical)
        if rule is not None:
            text = TEXT_CASES[rule](pa.scalar(text, pa.string())).as_py()
        return self.values.get(canonical, {}).get(text, text)


def own_name(source_key: str) -> str:
    """A source's own name: its file's, or for a zip of several order files, its member's (no folders)."""
    parts = zip_parts(source_key)
    return PurePosixPath(parts[1] if parts else source_key).name


CANONICAL_LAYOUT = Layout(name=CANONICAL, description="The contract's own columns (contract section 1).",
                          columns={column: column for column in schema.CANONICAL_COLUMNS}, source="built-in")


def _iso_date(text: str, date_format: str, source_key: str, layout: str) -> str:
    try:
        return datetime.strptime(text, date_format).date().isoformat()
    except ValueError:
        raise LayoutError(f"{source_key}: '{shown(text)}' in the file name is not a date in layout {layout}'s "
                          f"date_format {date_format!r}") from None


@dataclass(frozen=True)
class LayoutRule:
    """Files under `folder` (a landing sub-folder) or whose key matches `match` (a glob) use `layout`;
    a member of a zip of several matches as its own key and name, and as its zip's."""

    layout: Layout
    folder: str | None = None
    match: str | None = None

    def applies_to(self, source_key: str) -> bool:
        if self.folder is not None:
            return source_key.startswith(self.folder.strip("/") + "/")
        archive = (zip_parts(source_key) or ("",))[0]
        return any(fnmatch.fnmatchcase(text, self.match) for text in (source_key, own_name(source_key), archive,
                                                                      PurePosixPath(archive).name) if text)

    @property
    def written(self) -> str:
        """The rule as a config file writes it, to name it in a message."""
        where = f"folder: {self.folder}" if self.folder is not None else f"match: '{self.match}'"
        return f"{{layout: {self.layout.name}, {where}}}"


@dataclass(frozen=True)
class LayoutChoice:
    """The rules of a run, first match wins; files no rule matches use the canonical layout."""

    rules: tuple[LayoutRule, ...] = ()

    def layout_for(self, source_key: str) -> Layout:
        for rule in self.rules:
            if rule.applies_to(source_key):
                return rule.layout
        return CANONICAL_LAYOUT

    def name_fields(self, source_key: str) -> dict:
        """What a file's name gives its rows under its layout (security, date). Two files of one
        content are copies only if this is equal too; a name its layout cannot read (a rule
        changed since) is its own identity, so such a file is never taken as a copy."""
        try:
            return self.layout_for(source_key).file_fields(source_key)
        except LayoutError:
            return {"source": source_key}

    @property
    def describes(self) -> list[dict]:
        return [{"layout": rule.layout.name, "folder": rule.folder, "match": rule.match} for rule in self.rules]


def rules_reading_no_file(choice: LayoutChoice, source_keys: Iterable[str]) -> list[str]:
    """A message for each rule of `choice` that reads none of `source_keys` (the landing folder's
    order files): a rule that matches no file, or whose every file an earlier rule takes (the
    first match wins). Such a rule is most often a typo in a folder or a pattern, and nothing else
    says so: its files are quietly read with another layout, or refused as canonical files."""
    keys = list(source_keys)
    messages = []
    for index, rule in enumerate(choice.rules):
        matched = [key for key in keys if rule.applies_to(key)]
        if not matched:
            messages.append(f"layouts[{index}] {rule.written} matches no file in the landing folder "
                            f"({len(keys)} order file(s)): {_where_to_look(rule, keys)}")
            continue
        takers = sorted({_first_rule(choice, key) for key in matched})
        if index not in takers:
            earlier = ", ".join(f"layouts[{taker}] {choice.rules[taker].written}" for taker in takers)
            messages.append(f"layouts[{index}] {rule.written} reads no file: the {len(matched)} file(s) it matches "
                            f"are taken by the earlier {earlier} (the first matching rule wins); reorder the rules "
                            "or narrow the earlier one")
    return messages


def _first_rule(choice: LayoutChoice, source_key: str) -> int:
    return next(index for index, rule in enumerate(choice.rules) if rule.applies_to(source_key))


def _where_to_look(rule: LayoutRule, keys: list[str]) -> str:
    """The fix for a rule that matches nothing, with the sub-folders there are for a folder rule."""
    if rule.match is not None:
        return (f"check the pattern '{rule.match}' (a glob tried on each file's path in the landing folder and on "
                "its name; it is case-sensitive)")
    folders = sorted({key.split("/", 1)[0] for key in keys if "/" in key})
    found = (f"the sub-folders with order files are {', '.join(folders)}" if folders
             else "no order file is in a sub-folder")
    return f"no order file is under {rule.folder.strip('/')}/ ({found}); check the folder"
