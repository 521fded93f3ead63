"""The series each plot draws, extracted from a report table (`PlotData`).

Kept apart from the drawing so that tests check the figures a plot shows against the report
files without rendering a picture, and so that the series need no matplotlib.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema

TOP_PARTICIPANTS = 15


@dataclass(frozen=True)
class PlotData:
    """The series one plot draws: a label per bar, its orders and its value.

    total_orders and total_value cover the whole report (a top-15 plot shows part of it), for
    shares and subtitles.
    """
    labels: tuple[str, ...]
    orders: tuple[int, ...]
    value: tuple[float, ...]
    total_orders: int
    total_value: float

    @property
    def empty(self) -> bool:
        return self.total_orders == 0

    def orders_share(self) -> tuple[float, ...]:
        """Percent of all orders per label (zeros when there are no orders)."""
        return tuple(100.0 * count / self.total_orders if self.total_orders else 0.0 for count in self.orders)

    def value_share(self) -> tuple[float, ...]:
        """Percent of the total value per label (zeros when the total is zero)."""
        return tuple(100.0 * amount / self.total_value if self.total_value else 0.0 for amount in self.value)


def report_totals(table: pa.Table) -> tuple[int, float]:
    """Orders and value of a report table, summed over its rows (value as a float: for display)."""
    orders = pc.sum(table["orders"]).as_py() or 0
    value = pc.sum(pc.cast(table["value"], pa.float64())).as_py() or 0.0
    return int(orders), float(value)


def _column(table: pa.Table, name: str, cast: pa.DataType | None = None) -> list:
    column = table[name] if cast is None else pc.cast(table[name], cast)
    return column.to_pylist()


def _summed_by(table: pa.Table, key: str) -> tuple[list, list[int], list[float]]:
    """orders and value summed per distinct key, keys ascending."""
    metrics = table.select([key, "orders", "value"]).set_column(2, "value", pc.cast(table["value"], pa.float64()))
    grouped = metrics.group_by(key, use_threads=False).aggregate([("orders", "sum"), ("value", "sum")])
    grouped = grouped.sort_by(key)
    return grouped[key].to_pylist(), _column(grouped, "orders_sum"), _column(grouped, "value_sum")


def time_of_day_data(by_time_of_day: pa.Table) -> PlotData:
    """Orders and value per local hour, every hour from the first to the last with orders (an hour
    without orders inside the session is drawn as zero, not left out)."""
    orders_total, value_total = report_totals(by_time_of_day)
    hours, orders, value = _summed_by(by_time_of_day, schema.HOUR)
    if not hours:
        return PlotData((), (), (), orders_total, value_total)
    per_hour = {hour: (count, amount) for hour, count, amount in zip(hours, orders, value)}
    span = range(min(hours), max(hours) + 1)
    return PlotData(
        labels=tuple(f"{hour:02d}:00" for hour in span),
        orders=tuple(per_hour.get(hour, (0, 0.0))[0] for hour in span),
        value=tuple(per_hour.get(hour, (0, 0.0))[1] for hour in span),
        total_orders=orders_total,
        total_value=value_total,
    )


def daily_data(daily: pa.Table) -> PlotData:
    """Orders and value per trade date: timeseries_daily summed over securities (by_date gives the same)."""
    orders_total, value_total = report_totals(daily)
    dates, orders, value = _summed_by(daily, schema.TRADE_DATE)
    return PlotData(tuple(str(day) for day in dates), tuple(orders), tuple(value), orders_total, value_total)


def order_size_data(by_order_size: pa.Table) -> PlotData:
    """Orders and value per size bucket, in the report's (the contract's) bucket order."""
    orders_total, value_total = report_totals(by_order_size)
    return PlotData(tuple(_column(by_order_size, schema.SIZE_BUCKET)), tuple(_column(by_order_size, "orders")),
                    tuple(_column(by_order_size, "value", pa.float64())), orders_total, value_total)


def top_participants_data(by_participant: pa.Table, top: int = TOP_PARTICIPANTS) -> PlotData:
    """The `top` participants by value, largest first (ties by participant id), with their orders."""
    orders_total, value_total = report_totals(by_participant)
    ranked = sorted(zip(_column(by_participant, schema.PARTICIPANT_ID), _column(by_participant, "value"),
                        _column(by_participant, "orders")),
                    key=lambda row: (-row[1], row[0]))[:top]  # exact decimals rank the values
    return PlotData(tuple(row[0] for row in ranked), tuple(row[2] for row in ranked),
                    tuple(float(row[1]) for row in ranked), orders_total, value_total)
