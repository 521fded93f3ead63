"""The overlap rule: which current source files' rows a (date, security) partition holds when
several bring rows to it, and the order of files the rules go by.

A setting the store is kept under, as the filter is one its rows are read under: the store carries
it (OrderStore.overlap), so every decision that reads the store (what is pending, what a partition
holds, what the reports name) follows one rule. How a rule is applied to staged rows is
core/assemble/overlap.py's.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from orders_assets.core import schema

UNION, LATEST_PER_DATE, DEDUP = "union", "latest_per_date", "dedup"
RULES = (UNION, LATEST_PER_DATE, DEDUP)
CONTRACT_COLUMNS = (schema.ORDER_ID, schema.TIMESTAMP, schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.SIDE,
                    schema.ORDER_TYPE, schema.PRICE, schema.QUANTITY)
"""The contract's input columns: rows equal on all of them are the same order event."""


COUNTED_TWICE_FIX = ("if the files are re-sends, set overlap: latest_per_date or overlap: {dedup: [columns]} "
                     "in the config")
"""What to do about rows counted twice, as the check, `orders-assets run` and the report page say it."""

DUPLICATES_WARN, DUPLICATES_ERROR = "warn", "error"
"""What the check of rows counted twice does when it finds some: the config's `overlap: {..., duplicates: error}`."""


def duplicates_problem(duplicates: str) -> str | None:
    if duplicates not in (DUPLICATES_WARN, DUPLICATES_ERROR):
        return f"overlap duplicates {duplicates!r} is not warn or error"
    return None


@dataclass(frozen=True)
class OverlapRule:
    """The rule that decides which current files' rows a partition holds."""

    kind: str = UNION
    columns: tuple[str, ...] = ()
    """dedup only: the columns on which two rows are the same order event."""
    duplicates: str = DUPLICATES_WARN
    """What the check of rows counted twice does when it finds some: warn, or error."""

    def __post_init__(self) -> None:
        problem = rule_problem(self.kind, self.columns) or duplicates_problem(self.duplicates)
        if problem:
            raise ValueError(problem)

    @property
    def match_columns(self) -> tuple[str, ...]:
        """Columns on which rows of two files are the same: the dedup columns, else the contract's
        (always with the security: a partition is one security)."""
        chosen = self.columns if self.kind == DEDUP else CONTRACT_COLUMNS
        return tuple(dict.fromkeys((schema.SECURITY_CODE, *chosen)))

    @property
    def text(self) -> str:
        """'union', 'latest_per_date' or 'dedup: order_id, timestamp': as the summary and the UI show it."""
        return f"{DEDUP}: {', '.join(self.columns)}" if self.kind == DEDUP else self.kind

    def to_json(self) -> dict:
        return {"rule": self.kind, "columns": list(self.columns), "duplicates": self.duplicates}


def rule_problem(kind: str, columns: Iterable[str]) -> str | None:
    """Why (kind, columns) is not a rule, with the fix; None when it is one."""
    columns = tuple(columns)
    if kind not in RULES:
        return f"overlap rule {kind!r} is not one of {', '.join(RULES)}"
    if kind == DEDUP and not columns:
        return "overlap rule dedup needs its columns, e.g. {dedup: [order_id, timestamp, side]}"
    if kind != DEDUP and columns:
        return f"overlap rule {kind} takes no columns (only dedup does)"
    if len(set(columns)) != len(columns):
        return f"overlap dedup columns repeat a name: {', '.join(columns)}"
    return None


def file_order(source_key: str) -> tuple:
    """The documented order of files: by name with each run of digits compared as a number, so
    orders_20250303_v10.csv sorts after _v9, and orders_20250303_v2.csv after orders_20250303.csv
    ('_' after '.'); the text itself breaks ties."""
    parts = re.split(r"(\d+)", source_key)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part), source_key

