"""market_share: the filtered order set's share of the whole market, per trade date and security.

Centre Point's share under the default filter: the figure regulators watch. The numerators are the
filtered set's orders, quantity and value per (trade_date, security_code), as timeseries_daily
has them (from the partial aggregates); the denominators are the market's, every valid row of the
current files kept or not, from the totals each file's ingest kept (core/read/market.py). Money is
exact in both; the two shares are ratios (float64), as the averages are.

A file ingested before the market's totals were kept has none: its rows are not in the
denominators, the report's rows it touches say so (market columns empty), and the report names
such files (`files_without_market_totals`). Under an overlap rule other than union, the order set
counts a re-sent row once while the market counts it in every current file; the report says that
too (`market_counts_every_file`).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate_files import build_reports
from orders_assets.core.assemble.sums import exact_total
from orders_assets.core.read.market import combined
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.overlap_rule import UNION

NAME = schema.MARKET_SHARE
KEYS = [schema.TRADE_DATE, schema.SECURITY_CODE]
DAILY = "timeseries_daily"
"""The contract's report of the filtered set per (trade date, security): the numerators."""
DESCRIPTION = ("The filtered set's share of the market per trade date and security: its orders and exact value "
               "against every valid row of the files (Centre Point's share under the default filter).")


@dataclass(frozen=True)
class MarketShare:
    """The report and what it could not count."""

    table: pa.Table
    files_without_market_totals: tuple[str, ...]
    market_counts_every_file: bool
    """The overlap rule is not union: the market counts a re-sent row in every current file."""

    def totals(self) -> dict:
        """Orders and value of the filtered set and of the market over every row, and the two shares."""
        sums = {name: exact_total(self.table[name]) or 0 for name in ("orders", "market_orders", "value", "market_value")}
        sums["orders_share"] = sums["orders"] / sums["market_orders"] if sums["market_orders"] else None
        sums["value_share"] = float(sums["value"] / sums["market_value"]) if sums["market_value"] else None
        return sums


def build_market_share(store: OrderStore, daily: pa.Table | None = None) -> MarketShare:
    """market_share over the store's current files and partial aggregates; `daily`: timeseries_daily
    when the caller has built it already (the reports step), else built here."""
    manifests = store.manifests()
    tables = [store.market_totals(manifest) for manifest in manifests]
    missing = tuple(sorted(manifest.source_key for manifest, table in zip(manifests, tables) if table is None))
    market = _by_date_and_security(combined([table for table in tables if table is not None]))
    if daily is None:
        daily = build_reports(store, [DAILY], store.size_edges)[DAILY]
    filtered = daily.select([*KEYS, "orders", "quantity", "value"])
    joined = market.join(filtered, keys=KEYS, join_type="full outer").sort_by([(key, "ascending") for key in KEYS])
    return MarketShare(_columns(joined), missing, store.overlap.kind != UNION)


def _by_date_and_security(market: pa.Table) -> pa.Table:
    summed = market.group_by(KEYS, use_threads=False).aggregate(
        [("orders", "sum"), ("quantity", "sum"), ("value", "sum")])
    return summed.rename_columns([*KEYS, "market_orders", "market_quantity", "market_value"])


def _columns(joined: pa.Table) -> pa.Table:
    """The report's columns: the filtered set's figures (0 where it has no row), the market's (empty
    where no current file kept totals for the key), the two shares."""
    orders = pc.fill_null(joined["orders"], 0)
    quantity = pc.fill_null(joined["quantity"], pa.scalar(0, joined["quantity"].type))
    value = pc.fill_null(joined["value"], pa.scalar(0, joined["value"].type))
    return pa.table({
        schema.TRADE_DATE: joined[schema.TRADE_DATE],
        schema.SECURITY_CODE: joined[schema.SECURITY_CODE],
        "orders": orders,
        "market_orders": joined["market_orders"],
        "orders_share": _ratio(orders, joined["market_orders"]),
        "quantity": quantity,
        "market_quantity": joined["market_quantity"],
        "value": value,
        "market_value": joined["market_value"],
        "value_share": _ratio(value, joined["market_value"]),
    })


def _ratio(part, whole) -> pa.ChunkedArray:
    """part / whole as float64 (null where the whole is unknown or zero)."""
    whole_float = pc.cast(whole, pa.float64())
    usable = pc.if_else(pc.equal(whole_float, 0.0), pa.scalar(None, pa.float64()), whole_float)
    return pc.divide(pc.cast(part, pa.float64()), usable)
