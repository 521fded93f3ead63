"""Reports a user declares in the config file, beside the contract's seven: a name and the key
columns to group the filtered order set by, each with the contract's metrics (orders, quantity,
value, avg_quantity, avg_value).

    reports:
      - name: by_side_and_type
        keys: [side, order_type]
        description: Orders per side and order type.

A declaration that cannot work is refused, with the reason and the fix, when the settings load:
before any run. The name becomes a file name (`reports/<name>.csv`), so it is held to
[a-z][a-z0-9_]* and may not be a report or file the project writes itself; a key must be a column
the order set holds or derives (KEY_COLUMNS), or one the files keep beside them (EXTRA_COLUMN: a
report over a column no published file holds is refused when it is built, naming the ones they
keep); a column with about one value per order (the order's id, time, price, quantity or value)
would make about one group per order, past any report a person reads, and is refused as such, as
are more than MAX_KEYS keys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from orders_assets.core import schema
from orders_assets.core.errors import InputError

KEY_COLUMNS = (schema.TRADE_DATE, schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.SIDE, schema.ORDER_TYPE,
               schema.HOUR, schema.SIZE_BUCKET)
"""The columns a declared report may group by: the order set's own and the derived ones (the local
trade date and hour, the order-value bucket of size_edges)."""
PER_ORDER_COLUMNS = (schema.ORDER_ID, schema.TIMESTAMP, schema.PRICE, schema.QUANTITY, schema.VALUE, "source_line")
"""Columns with about one value per order: grouping by them explodes the report to the order set."""
MAX_KEYS = 4
"""More keys than this make groups of a handful of orders each: a listing of orders, not a report."""
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED_NAMES = frozenset(schema.REPORT_NAMES) | {"summary", "index", schema.MARKET_SHARE}
"""Names the project's own reports, summary and page take (market_share is kept for the built-in
share report)."""
FIELDS = ("name", "keys", "description")


class DeclarationError(InputError):
    """A `reports:` entry that cannot work; the message says which and the fix."""


@dataclass(frozen=True)
class ReportDeclaration:
    """One declared report: its name, the key columns it groups by and what the UI says of it."""

    name: str
    keys: tuple[str, ...]
    description: str = ""

    @property
    def summary_line(self) -> str:
        return self.description or f"Orders, quantity and value per {', '.join(self.keys)} (declared in the config file)."

    def to_json(self) -> dict:
        return {"name": self.name, "keys": list(self.keys), "description": self.description}


def declarations_from(entries) -> tuple[ReportDeclaration, ...]:
    """The declared reports of a config's `reports:` list (None: none), in the order given; raises
    DeclarationError naming the entry, the problem and the fix."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise DeclarationError(f"reports must be a list of {{name: NAME, keys: [COLUMN, ...]}}, not {entries!r}")
    declared: list[ReportDeclaration] = []
    for index, entry in enumerate(entries):
        declaration = _declaration(index, entry)
        if declaration.name in {seen.name for seen in declared}:
            raise DeclarationError(f"reports[{index}]: the name {declaration.name!r} is declared twice; give each "
                                   "report a name of its own")
        declared.append(declaration)
    return tuple(declared)


def _declaration(index: int, entry) -> ReportDeclaration:
    where = f"reports[{index}]"
    if not isinstance(entry, dict):
        raise DeclarationError(f"{where} is {entry!r}; write {{name: NAME, keys: [COLUMN, ...]}}")
    unknown = sorted(set(map(str, entry)) - set(FIELDS))
    if unknown:
        raise DeclarationError(f"{where}: unknown field {unknown[0]!r}; a report has {', '.join(FIELDS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DeclarationError(f"{where}: the name {name!r} is not a report name: lower-case letters, digits and _, "
                               "starting with a letter, at most 63 (it names the report's files and its asset)")
    where = f"reports[{index}] ({name})"
    if name in RESERVED_NAMES:
        raise DeclarationError(f"{where}: {name!r} is the name of a report orders_assets builds itself; choose another")
    keys = entry.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(key, str) for key in keys):
        raise DeclarationError(f"{where}: keys must be a non-empty list of columns, e.g. [side, order_type]; "
                               f"columns: {', '.join(KEY_COLUMNS)}")
    for key in keys:
        problem = _key_problem(key)
        if problem:
            raise DeclarationError(f"{where}: {problem}")
    if len(set(keys)) != len(keys):
        raise DeclarationError(f"{where}: a key is named twice in {keys}; name each column once")
    if len(keys) > MAX_KEYS:
        raise DeclarationError(f"{where}: {len(keys)} keys; at most {MAX_KEYS} make a report (more make groups of "
                               "a handful of orders): declare two reports instead")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise DeclarationError(f"{where}: description must be text")
    return ReportDeclaration(name, tuple(keys), description.strip())


EXTRA_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
"""A column the files keep beside the contract's (the generator's `event`, a layout's extra columns),
named as a column can be; whether the files hold it is checked when the report is built."""


def _key_problem(key: str) -> str | None:
    if key in KEY_COLUMNS:
        return None
    if key in PER_ORDER_COLUMNS:
        return (f"key {key!r} has about one value per order, so the report would have about one row per order "
                f"(past any report a person reads); group by {', '.join(KEY_COLUMNS)} or a column the files keep")
    close = [column for column in KEY_COLUMNS if key.lower().replace("-", "_").replace(" ", "_") == column]
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?); the columns a report may group by: {', '.join(KEY_COLUMNS)}"
    if EXTRA_COLUMN.fullmatch(key):
        return None  # a column the files keep beside the contract's: checked when the report is built
    return (f"unknown key {key!r}: not a column name; group by {', '.join(KEY_COLUMNS)} or a column the files "
            "keep beside them (as `event`)")
