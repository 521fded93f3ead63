"""Canonical order columns, their Arrow types and the report catalogue (contract sections 1 and 4).

Everything else in the engine refers to these names instead of spelling strings, so a
renamed column or a new report is one edit here.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

ORDER_ID = "order_id"
TIMESTAMP = "timestamp"
SECURITY_CODE = "security_code"
PARTICIPANT_ID = "participant_id"
SIDE = "side"
ORDER_TYPE = "order_type"
PRICE = "price"
QUANTITY = "quantity"

TRADE_DATE = "trade_date"
HOUR = "hour"
VALUE = "value"
SIZE_BUCKET = "size_bucket"

CANONICAL_COLUMNS: tuple[str, ...] = (
    ORDER_ID,
    TIMESTAMP,
    SECURITY_CODE,
    PARTICIPANT_ID,
    SIDE,
    ORDER_TYPE,
    PRICE,
    QUANTITY,
)
"""Required input columns, in the contract's order."""

PRICE_SCALE = 4
"""Prices carry at most 4 decimal places (contract section 1)."""

PRICE_TYPE = pa.decimal128(18, PRICE_SCALE)
"""Exact price type: money is never a binary float (up to 99,999,999,999,999.9999)."""

VALUE_TYPE = pa.decimal128(38, PRICE_SCALE)
"""Exact type for price x quantity and its sums: one value has at most 32 digits, a sum that passes
38 is widened to decimal256(76, 4) (core/assemble/sums.py), never wrapped."""

QUANTITY_TYPE = pa.int64()
"""Quantity of the contract: whole units."""
MAX_QUANTITY_DECIMALS = 8
"""A run may allow fractional quantities (crypto, FX) with up to this many decimal places."""


def quantity_type(decimals: int = 0) -> pa.DataType:
    """int64 for whole units (the contract's default); decimal128(19, d) when a run allows d decimals.

    19 digits keep price (18, 4) x quantity within decimal128's 38 digits.
    """
    return QUANTITY_TYPE if decimals == 0 else pa.decimal128(19, decimals)


def quantity_sum_type(decimals: int = 0) -> pa.DataType:
    """Type of a sum of quantities inside the engine (partial aggregates, the catalog):
    decimal128(38, d), whole units included. Eighteen-digit quantities are valid one by one, and
    ten of them already pass int64, whose sums wrap silently; 38 digits hold 10^20 of them."""
    return pa.decimal128(38, decimals)


INT64_LIMIT = 2 ** 63
"""Whole-unit sums below this fit the contract's int64 report column."""


def report_quantity_type(sums: pa.Array | pa.ChunkedArray) -> pa.DataType:
    """Type of a report's quantity column holding these exact sums: int64 for whole units when
    every sum fits (the contract's type, which real volumes never leave), else decimal128(38, 0),
    so a sum past int64 is shown exactly instead of wrapping; decimal128(38, d) for d places."""
    decimals = quantity_decimals_of(sums.type)
    if decimals:
        return quantity_sum_type(decimals)
    largest = pc.max(sums).as_py() if len(sums) else None
    return QUANTITY_TYPE if largest is None or largest < INT64_LIMIT else quantity_sum_type(0)


def whole_units(amount):
    """A whole-unit sum as a Python int (the Decimal of a scale-0 column), others unchanged."""
    if isinstance(amount, Decimal) and amount.as_tuple().exponent == 0:
        return int(amount)
    return amount


def value_type(decimals: int = 0) -> pa.DataType:
    """Exact type of price x quantity: 4 decimal places of price plus the quantity's."""
    return pa.decimal128(38, PRICE_SCALE + decimals)


def report_value_type(sums: pa.Array | pa.ChunkedArray, decimals: int = 0) -> pa.DataType:
    """Type of a report's value column holding these exact sums: value_type(decimals), or
    decimal256(76, 4 + d) when a sum passes its 38 digits (core/assemble/sums.py) rather than wrap."""
    if pa.types.is_decimal256(sums.type):
        return pa.decimal256(76, PRICE_SCALE + decimals)
    return value_type(decimals)


def quantity_decimals_of(data_type: pa.DataType) -> int:
    """The decimals of a quantity column's type (0 for integers)."""
    return data_type.scale if pa.types.is_decimal(data_type) else 0


VALID_SIDES: tuple[str, ...] = ("B", "S")
UNKNOWN_SIDE = "N"
"""Side of a row whose vendor does not say (trade prints without an aggressor); layouts only."""

DEFAULT_TIMEZONE = "Australia/Sydney"
DEFAULT_ORDER_TYPES: tuple[str, ...] = ("CENTRE_POINT", "CENTRE_POINT_BLOCK")
DEFAULT_SESSION_START = "10:00:00"
DEFAULT_SESSION_END = "16:00:00"

DEFAULT_SIZE_EDGES: tuple[int, ...] = (10_000, 50_000, 200_000, 1_000_000)
"""Order-value edges of the size buckets (contract section 4)."""
MAX_SIZE_EDGES = 100
"""At most this many edges (101 buckets, each a row of by_order_size and a bar of its plot)."""

METRIC_COLUMNS: tuple[str, ...] = ("orders", "quantity", "value", "avg_quantity", "avg_value")

@dataclass(frozen=True)
class ReportSpec:
    """One built-in report, declared once: its name, the columns it groups and sorts by (ascending),
    the extra columns that count a column's distinct values, and the description the UI shows. Its
    metrics are METRIC_COLUMNS; its plot, if any, is core/report/plots.PLOTS' (a drawing concern)."""

    name: str
    keys: tuple[str, ...]
    description: str
    distinct: tuple[tuple[str, str], ...] = ()
    """(extra column, the column whose distinct values it counts)."""


CONTRACT_REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec("by_security", (SECURITY_CODE,), "Orders, quantity and value per security, with distinct participants.",
               (("participants", PARTICIPANT_ID),)),
    ReportSpec("by_date", (TRADE_DATE,), "Per trade date, with distinct securities and participants.",
               (("securities", SECURITY_CODE), ("participants", PARTICIPANT_ID))),
    ReportSpec("by_participant", (PARTICIPANT_ID,), "Per participant (broker), with distinct securities.",
               (("securities", SECURITY_CODE),)),
    ReportSpec("by_time_of_day", (HOUR,), "Per local hour of the day."),
    ReportSpec("by_order_size", (SIZE_BUCKET,), "Per order-value bucket; every bucket has a row."),
    ReportSpec("timeseries_hourly", (TRADE_DATE, HOUR), "Per trade date and local hour."),
    ReportSpec("timeseries_daily", (TRADE_DATE, SECURITY_CODE), "Per trade date and security."),
)
"""The contract's seven reports (contract section 4), in its order: the one place each is declared."""

REPORT_KEYS: dict[str, tuple[str, ...]] = {report.name: report.keys for report in CONTRACT_REPORTS}
"""Report name -> key columns, sorted ascending by them."""
REPORT_DISTINCT_COUNTS: dict[str, dict[str, str]] = {report.name: dict(report.distinct)
                                                     for report in CONTRACT_REPORTS if report.distinct}
"""Report name -> {extra column: the column whose distinct values it counts}."""
REPORT_DESCRIPTIONS: dict[str, str] = {report.name: report.description for report in CONTRACT_REPORTS}
REPORT_NAMES: tuple[str, ...] = tuple(REPORT_KEYS)
MARKET_SHARE = "market_share"
"""The built-in report beside the contract's: the filtered set's share of the market (core/report/market_share.py)."""


def size_edges_problem(edges) -> str | None:
    """Why these order-value edges cannot make size buckets (None when they can): each bucket's
    label names the values between two edges, so the edges must be whole amounts above 0, strictly
    ascending, at least one and at most MAX_SIZE_EDGES."""
    if not isinstance(edges, (list, tuple)) or not edges:
        return f"size_edges is {edges!r}: give at least one order value, e.g. {list(DEFAULT_SIZE_EDGES)}"
    wrong = [edge for edge in edges if isinstance(edge, bool) or not isinstance(edge, int) or edge <= 0]
    if wrong:
        return f"size_edges holds {wrong[0]!r}: each edge is a whole order value above 0"
    if len(edges) > MAX_SIZE_EDGES:
        return f"size_edges has {len(edges)} edges: at most {MAX_SIZE_EDGES} (one report row a bucket)"
    if any(low >= high for low, high in zip(edges, edges[1:])):
        return (f"size_edges {list(edges)} are not strictly ascending, so the buckets' labels would not describe "
                f"their orders: write {sorted(set(edges))}")
    return None


def size_bucket_labels(edges: tuple[int, ...] = DEFAULT_SIZE_EDGES) -> list[str]:
    """Labels such as `<10k`, `10k-50k`, ..., `>=1m` for the given value edges."""
    names = [_short_amount(edge) for edge in edges]
    labels = [f"<{names[0]}"]
    labels += [f"{low}-{high}" for low, high in zip(names, names[1:])]
    labels.append(f">={names[-1]}")
    return labels


def _short_amount(amount: int) -> str:
    """10_000 -> '10k', 1_000_000 -> '1m', 2_500 -> '2500'."""
    for divisor, suffix in ((1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")):
        if amount % divisor == 0:
            return f"{amount // divisor}{suffix}"
    return str(amount)


PARTIALS_VERSION = 1
"""What a partial aggregate holds (its grouping sets and columns): raise it with any change to them.
Every aggregate file is stamped with it (core/assemble/aggregate_files.VERSION_KEY); a file of another version is
rebuilt from its date's published order set (never a source file) before a report reads it, and the
reports' inputs signature names versions past 1, so a store written before the change rebuilds its
reports once."""
