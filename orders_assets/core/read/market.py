"""The market around the filter: per (trade date, security, order type), the orders, quantity and
exact value of every valid row of a file, kept by the filter or not.

The filter keeps one part of the market (Centre Point under the default filter); what share of
the market that part is needs the whole: so the ingest, which judges every row anyway, totals the
valid rows (not the rejected ones, nor a layout's rows that are not orders) by these keys as it
reads each block, on the compiled pass and on the exact path alike, and keeps one small table a
file (`market.parquet` beside its staged slices). The market_share report sums the current files'
tables; no order set or source file is read again for it.

Exact: a value is price (decimal 18, 4) x quantity, summed in decimal256 (76 digits, past any sum
of a file's rows), narrowed back to decimal128 when every sum fits.
"""
from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema

KEYS = (schema.TRADE_DATE, schema.SECURITY_CODE, schema.ORDER_TYPE)
MARKET_FILE = "market.parquet"
COMPACT_ROWS = 1 << 18
"""Rows of gathered block totals past which they are summed down to one row a key; past a first
summing, twice the rows it left (a year's file has some 450,000 keys: summing them again at every
block took 8.7 of a 10 M-row ingest's 20 s)."""


def market_schema(decimals: int = 0, wide_values: bool = False) -> pa.Schema:
    """A file's market totals for quantities with `decimals` places: decimal256 values when a sum
    passes 38 digits."""
    value = pa.decimal256(76, schema.PRICE_SCALE + decimals) if wide_values else \
        pa.decimal128(38, schema.PRICE_SCALE + decimals)
    return pa.schema([(schema.TRADE_DATE, pa.date32()), (schema.SECURITY_CODE, pa.string()),
                      (schema.ORDER_TYPE, pa.string()), ("orders", pa.int64()),
                      ("quantity", schema.quantity_sum_type(decimals)), ("value", value)])


def block_totals(trade_dates, securities, order_types, prices, quantities) -> pa.Table:
    """Totals by KEYS of one block's valid rows, given as columns: trade_date (date32), security and
    order type (text), price (decimal128(18, 4)) and quantity (int64, or decimal128(19, d))."""
    decimals = schema.quantity_decimals_of(quantities.type)
    quantity = pc.cast(quantities, pa.decimal128(19, decimals))
    value = pc.cast(pc.multiply(pc.cast(prices, schema.PRICE_TYPE), quantity), pa.decimal256(76, schema.PRICE_SCALE + decimals))
    rows = pa.table({schema.TRADE_DATE: trade_dates, schema.SECURITY_CODE: securities, schema.ORDER_TYPE: order_types,
                     "quantity": pc.cast(quantity, pa.decimal256(76, decimals)), "value": value})
    return _summed(rows, counted=True)


def _summed(rows: pa.Table, counted: bool) -> pa.Table:
    """Sums by KEYS in decimal256 (`counted`: rows are single orders, count them; else sum `orders`)."""
    aggregations = [("quantity", "count"), ("quantity", "sum"), ("value", "sum")] if counted else \
        [("orders", "sum"), ("quantity", "sum"), ("value", "sum")]
    grouped = rows.group_by(list(KEYS), use_threads=False).aggregate(aggregations)
    names = {"quantity_count": "orders", "orders_sum": "orders", "quantity_sum": "quantity", "value_sum": "value"}
    grouped = grouped.rename_columns([names.get(name, name) for name in grouped.column_names])
    return grouped.select([*KEYS, "orders", "quantity", "value"])


class MarketTotals:
    """A file's (or a piece's) market totals gathered block by block, in bounded memory."""

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []
        self.rows = 0
        self.compact_at = COMPACT_ROWS

    def add(self, totals: pa.Table | None) -> None:
        if totals is None or not totals.num_rows:
            return
        self.parts.append(_wide(totals, totals.schema.field("quantity").type.scale))
        self.rows += totals.num_rows
        if self.rows > self.compact_at:
            self.parts = [_summed(pa.concat_tables(self.parts), counted=False)]
            self.rows = self.parts[0].num_rows
            self.compact_at = max(COMPACT_ROWS, 2 * self.rows)  # summed as often as the rows double

    def table(self) -> pa.Table:
        """The totals, one row a key, sorted by KEYS, in market_schema (decimal128 where every sum fits)."""
        if not self.parts:
            return market_schema().empty_table()
        summed = _summed(pa.concat_tables(self.parts), counted=False).sort_by([(key, "ascending") for key in KEYS])
        return narrowed(summed)


def _wide(totals: pa.Table, decimals: int) -> pa.Table:
    """Totals with decimal256 quantity and value at `decimals` quantity places, the form they gather in
    (a block's totals from the compiled pass already are: not cast again, on the ingest's main thread)."""
    wide = _wide_schema(decimals)
    return totals if totals.schema.equals(wide, check_metadata=False) else totals.cast(wide)


@functools.lru_cache(maxsize=16)
def _wide_schema(decimals: int) -> pa.Schema:
    return pa.schema([*market_schema(decimals).remove(5).remove(4), ("quantity", pa.decimal256(76, decimals)),
                      ("value", pa.decimal256(76, schema.PRICE_SCALE + decimals))])


def narrowed(totals: pa.Table) -> pa.Table:
    """Totals in market_schema: quantity decimal128(38, d); value decimal128(38, 4 + d) when every sum
    fits, else decimal256. A cast that does not fit raises, so nothing is cut silently."""
    decimals = totals.schema.field("quantity").type.scale
    for wide in (False, True):
        try:
            return totals.cast(market_schema(decimals, wide_values=wide))
        except pa.ArrowInvalid:
            continue
    raise ArithmeticError("market totals past decimal256: a quantity sum passes 38 digits")


def combined(tables: list[pa.Table]) -> pa.Table:
    """Several files' market totals as one, summed by KEYS (any quantity decimals among them: the most)."""
    gathered = MarketTotals()
    decimals = max((table.schema.field("quantity").type.scale for table in tables), default=0)
    for table in tables:
        gathered.add(_wide(table, decimals))
    return gathered.table()
