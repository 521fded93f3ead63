"""Independent reference implementation of the orders_assets reports.

The test suite compares the product's reports and summary with the figures
computed here.  To be a meaningful cross-check this module deliberately shares
NO code with the ``orders_assets`` package (not even its schema): it is written
from ``contract.md`` plus the explicit rules below, using only the ``csv``
module, ``decimal``, ``datetime``/``zoneinfo`` and pandas (pandas only to shape
the final tables; all arithmetic is plain Python so that it is obviously exact).

Rules implemented (CSV input, plain or ``.csv.gz``)
---------------------------------------------------
* The first non-empty record is the header.  Required columns: order_id,
  timestamp, security_code, participant_id, side, order_type, price, quantity.
  Other columns are ignored.  A header lacking a required column is a
  whole-file error (``ValueError``), not a row rejection.
* Every other non-empty record is a data row (``rows_read``).  Completely empty
  lines are skipped and not counted.  Line numbers are 1-based physical line
  numbers of the line on which the record starts (header is line 1).
* A row is REJECTED (first failing rule wins, reason recorded) if:
  1. its field count differs from the header's;
  2. any required field is empty (the exact empty string; fields are never
     stripped, so ``" "`` is not empty and will fail a later rule if it
     matters);
  3. timestamp is not ``YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]``
     (checked with a regex, then parsed with ``datetime.fromisoformat`` which
     also rejects impossible dates such as month 13);
  4. price is not ``-?digits(.digits)?`` or has more than 4 decimal places, or
     is < 0;
  5. quantity is not ``[+-]?digits`` or is <= 0;
  6. side is not exactly ``B`` or ``S``.
* A timestamp without an offset is exchange-local wall time (taken as is); one
  with an offset is converted to the exchange time zone.  trade_date and hour
  are the local date and hour.
* A valid row is KEPT if order_type is in ``order_types`` (exact,
  case-sensitive) and ``session_start <= local time-of-day < session_end``;
  otherwise it is FILTERED OUT.
* value = price x quantity as an exact ``Decimal``.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

import pandas as pd

REQUIRED_COLUMNS = (
    "order_id",
    "timestamp",
    "security_code",
    "participant_id",
    "side",
    "order_type",
    "price",
    "quantity",
)

METRIC_COLUMNS = ["orders", "quantity", "value", "avg_quantity", "avg_value"]

# Exactly the accepted timestamp shapes.  datetime.fromisoformat (3.11) alone is
# far more lenient (date only, "+HHMM", ",5" fractions, basic format...), so the
# shape is pinned here and fromisoformat only validates the ranges.
_TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
)
_PRICE_RE = re.compile(r"^-?\d+(\.(\d+))?$")
_QUANTITY_RE = re.compile(r"^[+-]?\d+$")
_MAX_PRICE_DECIMALS = 4
# All Decimal work runs under this: huge precision and Inexact trapped, so a
# value or total that could not be held exactly raises instead of rounding.
_EXACT = {"prec": 100, "traps": [Inexact, InvalidOperation, DivisionByZero, Overflow]}


class RowRejected(Exception):
    """Raised by the row parser; its message is the rejection reason."""


@dataclass(frozen=True)
class OrderRow:
    """A parsed, valid order row with its exchange-local derived fields."""

    security_code: str
    participant_id: str
    order_type: str
    quantity: int
    value: Decimal
    trade_date: date
    hour: int
    local_time: time
    side: str = ""
    event: str | None = None


@dataclass
class FileCounts:
    """Per-file row accounting (the contract checks the identity per file)."""

    rows_read: int = 0
    rows_kept: int = 0
    rows_filtered_out: int = 0
    rows_rejected: int = 0


@dataclass
class Reference:
    """Everything the test suite compares against the product."""

    reports: dict[str, pd.DataFrame]
    rows_read: int
    rows_kept: int
    rows_filtered_out: int
    rows_rejected: int
    # source file name -> 1-based physical line numbers rejected (header = 1)
    rejected_lines: dict[str, set[int]]
    # distinct (security_code, trade_date) among kept rows
    partitions: int
    # orders (int), quantity (int), value (exact Decimal) over kept rows
    totals: dict
    # extras, not part of the brief's API but handy for debugging a mismatch
    per_file: dict[str, FileCounts] = field(default_factory=dict)
    rejected_reasons: dict[str, dict[int, str]] = field(default_factory=dict)
    # every kept row, to compare a partition's rows with
    kept: list[OrderRow] = field(default_factory=list)
    # every valid row, kept or filtered out: the market around the filter (market_share)
    valid: list[OrderRow] = field(default_factory=list)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _open_text(path: Path):
    """Open plain or gzip CSV as text; utf-8-sig so a BOM never pollutes the
    first header name; newline='' as the csv module requires."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return open(path, "r", newline="", encoding="utf-8-sig")


def _records_with_line_numbers(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (start line, fields) for every non-empty CSV record.

    csv.reader.line_num is the number of physical lines consumed so far, so the
    record's first line is the previous value + 1 (this stays right even when a
    quoted field spans lines).  Empty lines come back as [] and are skipped."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        consumed = 0
        for fields in reader:
            start_line = consumed + 1
            consumed = reader.line_num
            if not fields:
                continue
            yield start_line, fields


# --------------------------------------------------------------------------
# Parsing one row (the rejection rules)
# --------------------------------------------------------------------------


def _parse_local_timestamp(text: str, tz: ZoneInfo) -> datetime:
    """Return the exchange-local *naive* wall time of a timestamp.

    No offset: the text already is local wall time, used as is (so even a
    DST-gap time keeps its written clock value).  With an offset/Z: convert
    the instant to the exchange zone, then drop tzinfo."""
    if not _TIMESTAMP_RE.match(text):
        raise RowRejected(f"bad timestamp shape: {text!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RowRejected(f"bad timestamp: {text!r} ({exc})") from None
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(tz).replace(tzinfo=None)


_PRICE_LIMIT = Decimal(10) ** 14
"""Prices are stored as decimal(18, 4): 14 digits before the point (README, data rules)."""


def _parse_price(text: str) -> Decimal:
    """Plain decimal, at most 4 decimals, not negative ("-0" is 0, allowed)."""
    match = _PRICE_RE.match(text)
    if not match:
        raise RowRejected(f"bad price: {text!r}")
    decimals = match.group(2) or ""
    if len(decimals) > _MAX_PRICE_DECIMALS:
        raise RowRejected(f"price has more than 4 decimals: {text!r}")
    price = Decimal(text)
    if abs(price) >= _PRICE_LIMIT:
        raise RowRejected(f"price beyond the stored precision: {text!r}")
    if price < 0:
        raise RowRejected(f"negative price: {text!r}")
    return price


def _parse_quantity(text: str) -> int:
    """Integer with optional sign, strictly positive."""
    if not _QUANTITY_RE.match(text):
        raise RowRejected(f"bad quantity: {text!r}")
    quantity = int(text)
    if quantity <= 0:
        raise RowRejected(f"quantity <= 0: {text!r}")
    return quantity


def _parse_row(fields: list[str], header: list[str], tz: ZoneInfo) -> OrderRow:
    """Apply rejection rules 1-6 in order; return the parsed row."""
    if len(fields) != len(header):
        raise RowRejected(f"{len(fields)} fields, header has {len(header)}")
    record = dict(zip(header, fields))
    for column in REQUIRED_COLUMNS:
        if record[column] == "":
            raise RowRejected(f"empty required field {column}")
    local = _parse_local_timestamp(record["timestamp"], tz)
    price = _parse_price(record["price"])
    quantity = _parse_quantity(record["quantity"])
    if record["side"] not in ("B", "S"):
        raise RowRejected(f"bad side: {record['side']!r}")
    return OrderRow(
        security_code=record["security_code"],
        participant_id=record["participant_id"],
        order_type=record["order_type"],
        quantity=quantity,
        value=price * quantity,
        trade_date=local.date(),
        hour=local.hour,
        local_time=local.time(),
        side=record["side"],
        event=record.get("event"),
    )


# --------------------------------------------------------------------------
# Size buckets
# --------------------------------------------------------------------------


def _short_amount(amount: int) -> str:
    """10_000 -> '10k', 1_000_000 -> '1m', 2_500_000 -> '2.5m', 500 -> '500'."""
    for divisor, suffix in ((1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")):
        if amount >= divisor:
            scaled = Decimal(amount) / Decimal(divisor)
            text = format(scaled.normalize(), "f")
            return f"{text}{suffix}"
    return str(amount)


def size_bucket_labels(size_edges: Iterable[int]) -> list[str]:
    """Labels in bucket order, smallest first: '<e0', 'e0-e1', ..., '>=eN'."""
    edges = list(size_edges)
    names = [_short_amount(e) for e in edges]
    labels = [f"<{names[0]}"]
    labels += [f"{lo}-{hi}" for lo, hi in zip(names, names[1:])]
    labels.append(f">={names[-1]}")
    return labels


def _size_bucket(value: Decimal, edges: list[int], labels: list[str]) -> str:
    """Bucket i holds edges[i-1] <= value < edges[i] (lower edge inclusive)."""
    for edge, label in zip(edges, labels):
        if value < edge:
            return label
    return labels[-1]


# --------------------------------------------------------------------------
# Aggregation (plain Python, exact; pandas only builds the final frame)
# --------------------------------------------------------------------------


@dataclass
class _Group:
    orders: int = 0
    quantity: int = 0
    value: Decimal = Decimal(0)
    distinct: dict[str, set] = field(default_factory=dict)


def _aggregate(
    rows: list[OrderRow],
    key_columns: list[str],
    key_of: Callable[[OrderRow], tuple],
    distinct_of: dict[str, Callable[[OrderRow], object]],
    all_keys: list[tuple] | None = None,
    sort: bool = True,
) -> pd.DataFrame:
    """Group ``rows`` by ``key_of`` and build one report frame.

    ``distinct_of`` maps an extra column name to the attribute counted
    distinctly.  ``all_keys`` pre-creates groups (so empty ones get a row);
    with ``sort=False`` the groups keep the order of ``all_keys``."""
    groups: dict[tuple, _Group] = {}
    for key in all_keys or []:
        groups[key] = _Group(distinct={name: set() for name in distinct_of})
    for row in rows:
        key = key_of(row)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(distinct={name: set() for name in distinct_of})
        group.orders += 1
        group.quantity += row.quantity
        group.value += row.value
        for name, attribute in distinct_of.items():
            group.distinct[name].add(attribute(row))

    keys = sorted(groups) if sort else list(groups)
    records = []
    for key in keys:
        group = groups[key]
        record = dict(zip(key_columns, key))
        record["orders"] = group.orders
        record["quantity"] = group.quantity
        record["value"] = float(group.value)
        # empty group: averages are undefined -> NaN (never 0)
        record["avg_quantity"] = group.quantity / group.orders if group.orders else float("nan")
        # the float nearest the exact quotient (Fraction: no Decimal division, trapped by _EXACT)
        record["avg_value"] = float(Fraction(group.value) / group.orders) if group.orders else float("nan")
        for name in distinct_of:
            record[name] = len(group.distinct[name])
        records.append(record)

    columns = key_columns + METRIC_COLUMNS + list(distinct_of)
    frame = pd.DataFrame.from_records(records, columns=columns)
    # Sums past int64 stay exact Python ints (astype would wrap them); the product widens there too.
    wide = any(record["quantity"] >= 2 ** 63 for record in records)
    int_columns = ["orders"] + ([] if wide else ["quantity"]) + list(distinct_of)
    frame = frame.astype({c: "int64" for c in int_columns})
    if wide:
        frame["quantity"] = pd.Series([record["quantity"] for record in records], dtype=object)
    frame = frame.astype({c: "float64" for c in ("value", "avg_quantity", "avg_value")})
    # keys: hour is int64, the rest text; cast explicitly so an EMPTY report
    # has the same dtypes as a populated one (pandas' default "str" dtype).
    frame = frame.astype({c: ("int64" if c == "hour" else "str") for c in key_columns})
    return frame.reset_index(drop=True)


def _build_reports(rows: list[OrderRow], size_edges: list[int]) -> dict[str, pd.DataFrame]:
    """The seven reports of contract section 4, over kept rows."""
    labels = size_bucket_labels(size_edges)

    def iso_date(r: OrderRow) -> str:
        return r.trade_date.isoformat()

    return {
        "by_security": _aggregate(
            rows, ["security_code"], lambda r: (r.security_code,),
            {"participants": lambda r: r.participant_id},
        ),
        "by_date": _aggregate(
            rows, ["trade_date"], lambda r: (iso_date(r),),
            {"securities": lambda r: r.security_code,
             "participants": lambda r: r.participant_id},
        ),
        "by_participant": _aggregate(
            rows, ["participant_id"], lambda r: (r.participant_id,),
            {"securities": lambda r: r.security_code},
        ),
        "by_time_of_day": _aggregate(rows, ["hour"], lambda r: (r.hour,), {}),
        # Sorted by BUCKET ORDER (smallest values first), NOT alphabetically:
        # alphabetical would put '10k-50k' before '<10k'.  The product is
        # expected to use bucket order too.  All buckets are present; an empty
        # bucket has orders/quantity/value 0 and NaN averages.
        "by_order_size": _aggregate(
            rows, ["size_bucket"],
            lambda r: (_size_bucket(r.value, size_edges, labels),),
            {}, all_keys=[(label,) for label in labels], sort=False,
        ),
        "timeseries_hourly": _aggregate(
            rows, ["trade_date", "hour"], lambda r: (iso_date(r), r.hour), {},
        ),
        "timeseries_daily": _aggregate(
            rows, ["trade_date", "security_code"],
            lambda r: (iso_date(r), r.security_code), {},
        ),
    }


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def _read_file(
    path: Path,
    tz: ZoneInfo,
    order_types: frozenset[str],
    start: time,
    end: time,
    kept: list[OrderRow],
    counts: FileCounts,
    reasons: dict[int, str],
    valid: list[OrderRow] | None = None,
) -> None:
    """Classify every data row of one file as kept / filtered out / rejected."""
    header: list[str] | None = None
    for line_number, fields in _records_with_line_numbers(path):
        if header is None:
            header = fields
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise ValueError(f"{path}: header lacks required columns {missing}")
            continue
        counts.rows_read += 1
        try:
            row = _parse_row(fields, header, tz)
        except RowRejected as exc:
            counts.rows_rejected += 1
            reasons[line_number] = str(exc)
            continue
        if valid is not None:
            valid.append(row)
        if row.order_type in order_types and start <= row.local_time < end:
            counts.rows_kept += 1
            kept.append(row)
        else:
            counts.rows_filtered_out += 1


def reference_reports(
    csv_paths: list[Path],
    *,
    timezone: str = "Australia/Sydney",
    order_types=("CENTRE_POINT", "CENTRE_POINT_BLOCK"),
    session_start="10:00:00",
    session_end="16:00:00",
    size_edges=(10_000, 50_000, 200_000, 1_000_000),
) -> Reference:
    """Compute the reports, row accounting and totals for the given CSV files.

    Files are keyed by their base name in ``rejected_lines``/``per_file``; two
    inputs with the same base name are rejected (ValueError) rather than
    silently merged."""
    with localcontext(**_EXACT):
        return _reference_reports(
            csv_paths, timezone, order_types, session_start, session_end, size_edges
        )


def _reference_reports(
    csv_paths, timezone, order_types, session_start, session_end, size_edges
) -> Reference:
    """Body of reference_reports, run inside the exact Decimal context."""
    tz = ZoneInfo(timezone)
    types = frozenset(order_types)
    start, end = time.fromisoformat(session_start), time.fromisoformat(session_end)
    edges = list(size_edges)

    kept: list[OrderRow] = []
    valid: list[OrderRow] = []
    per_file: dict[str, FileCounts] = {}
    reasons: dict[str, dict[int, str]] = {}
    for path in map(Path, csv_paths):
        if path.name in per_file:
            raise ValueError(f"two inputs named {path.name!r}")
        per_file[path.name] = FileCounts()
        reasons[path.name] = {}
        _read_file(path, tz, types, start, end, kept, per_file[path.name], reasons[path.name], valid)

    totals = {
        "orders": len(kept),
        "quantity": sum(r.quantity for r in kept),
        "value": sum((r.value for r in kept), Decimal(0)),
    }
    return Reference(
        reports=_build_reports(kept, edges),
        rows_read=sum(c.rows_read for c in per_file.values()),
        rows_kept=sum(c.rows_kept for c in per_file.values()),
        rows_filtered_out=sum(c.rows_filtered_out for c in per_file.values()),
        rows_rejected=sum(c.rows_rejected for c in per_file.values()),
        rejected_lines={name: set(lines) for name, lines in reasons.items()},
        partitions=len({(r.security_code, r.trade_date) for r in kept}),
        totals=totals,
        per_file=per_file,
        rejected_reasons=reasons,
        kept=kept,
        valid=valid,
    )
