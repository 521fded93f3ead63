"""Canonical order columns, their Arrow types and the report catalogue (contract sections 1 and 4).

Everything else in the engine refers to these names instead of spelling strings, so a
renamed column or a new report is one edit here.
"""
from __future__ import annotations

import pyarrow as pa

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
"""Exact type for price x quantity and its sums; 38 digits cannot overflow in practice."""

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
    """Type of a sum of quantities: int64 for whole units (as the contract has always had it);
    decimal128(38, d) for quantities with d places, whose decimal128(19, d) values would overflow
    19 digits when summed."""
    return QUANTITY_TYPE if decimals == 0 else pa.decimal128(38, decimals)


def value_type(decimals: int = 0) -> pa.DataType:
    """Exact type of price x quantity: 4 decimal places of price plus the quantity's."""
    return pa.decimal128(38, PRICE_SCALE + decimals)


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

METRIC_COLUMNS: tuple[str, ...] = ("orders", "quantity", "value", "avg_quantity", "avg_value")

REPORT_KEYS: dict[str, tuple[str, ...]] = {
    "by_security": (SECURITY_CODE,),
    "by_date": (TRADE_DATE,),
    "by_participant": (PARTICIPANT_ID,),
    "by_time_of_day": (HOUR,),
    "by_order_size": (SIZE_BUCKET,),
    "timeseries_hourly": (TRADE_DATE, HOUR),
    "timeseries_daily": (TRADE_DATE, SECURITY_CODE),
}
"""Report name -> key columns, sorted ascending by them (contract section 4)."""

REPORT_DISTINCT_COUNTS: dict[str, dict[str, str]] = {
    "by_security": {"participants": PARTICIPANT_ID},
    "by_date": {"securities": SECURITY_CODE, "participants": PARTICIPANT_ID},
    "by_participant": {"securities": SECURITY_CODE},
}
"""Report name -> {extra column: the column whose distinct values it counts}."""

REPORT_NAMES: tuple[str, ...] = tuple(REPORT_KEYS)


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
