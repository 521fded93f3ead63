"""How each plot is drawn on a matplotlib figure: the house look, axes, labels and bars.

The functions take a figure and the plot's series (plot_data.PlotData) and draw with matplotlib's
object API; matplotlib's helpers are imported inside them, so importing this module loads no
matplotlib. Rendering (canvas, style reset, PNG encoding) is plots.py's.
"""
from __future__ import annotations

import math
from datetime import date

from orders_assets.core.report.plot_data import PlotData

MAX_DATE_LABELS = 14
"""More bars than this: only every n-th is labelled, so labels never overlap."""
MAX_UPRIGHT_DATES = 8
"""More trade dates than this: their labels are slanted to fit."""

ORDERS_COLOUR = "#3465a4"
VALUE_COLOUR = "#e08a1e"
TEXT_COLOUR = "#2e3436"
MUTED_COLOUR = "#6b7280"
GRID_COLOUR = "#d9dde3"

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.edgecolor": "#9aa1ab",
    "axes.labelcolor": TEXT_COLOUR,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": TEXT_COLOUR,
    "ytick.color": TEXT_COLOUR,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 10,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}
"""Applied on top of matplotlib's defaults for every render."""

VALUE_NOTE = "value = price × quantity"


def draw_heading(figure, title: str, data: PlotData) -> None:
    """The plot's title and, under it, the report's orders and value."""
    figure.text(0.012, 0.975, title, fontsize=15, fontweight="bold", color=TEXT_COLOUR, va="top")
    figure.text(0.012, 0.915, _subtitle(data), fontsize=10.5, color=MUTED_COLOUR, va="top")


def _subtitle(data: PlotData) -> str:
    return f"{data.total_orders:,} orders, value {_amount(data.total_value)} ({VALUE_NOTE})"


def draw_no_orders(figure) -> None:
    figure.text(0.5, 0.5, "No orders in the filtered order set", ha="center", va="center", fontsize=16,
                color=MUTED_COLOUR)
    figure.text(0.5, 0.42, "Nothing was kept by the filter, or no source file has been ingested.",
                ha="center", va="center", fontsize=11, color=MUTED_COLOUR)


def _amount(amount: float) -> str:
    """1234567.8 -> '1.23 million'; below a million with thousands separators."""
    for divisor, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(amount) >= divisor:
            return f"{amount / divisor:,.2f} {word}"
    return f"{amount:,.0f}"


def _value_scale(values: tuple[float, ...]) -> tuple[float, str]:
    """Divisor and axis unit for a value axis, so tick labels stay short."""
    largest = max((abs(value) for value in values), default=0.0)
    for divisor, unit in ((1e12, "trillions"), (1e9, "billions"), (1e6, "millions"), (1e3, "thousands")):
        if largest >= divisor:
            return divisor, unit
    return 1.0, ""


def _thousands(decimals: int = 0):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda number, _position: f"{number:,.{decimals}f}")


def _scaled_value_formatter(scaled: list[float]):
    largest = max((abs(value) for value in scaled), default=0.0)
    return _thousands(0 if largest >= 20 else 1 if largest >= 2 else 2)


def _style_axes(axes, grid_axis: str = "y") -> None:
    axes.grid(axis=grid_axis, color=GRID_COLOUR, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(length=0 if grid_axis == "y" else 3, axis="x")
    axes.tick_params(length=0 if grid_axis == "x" else 3, axis="y")


def _orders_and_value_panels(figure, data: PlotData, x_label: str, date_labels: bool = False) -> None:
    """Two panels sharing the x axis: orders on top, value below."""
    from matplotlib.ticker import MaxNLocator

    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"hspace": 0.12})
    slanted = date_labels and len(data.labels) > MAX_UPRIGHT_DATES
    figure.subplots_adjust(left=0.09, right=0.985, top=0.84, bottom=0.17 if slanted else 0.12)
    positions = calendar_positions(data.labels) if date_labels else list(range(len(data.labels)))
    divisor, unit = _value_scale(data.value)
    scaled = [value / divisor for value in data.value]
    span = positions[-1] - positions[0] + 1 if positions else 0
    width = 0.8 if span < 120 else 1.0
    top.bar(positions, data.orders, width=width, color=ORDERS_COLOUR)
    bottom.bar(positions, scaled, width=width, color=VALUE_COLOUR)
    top.set_ylabel("Orders")
    bottom.set_ylabel(f"Value ({unit})" if unit else "Value")
    top.yaxis.set_major_formatter(_thousands())
    top.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    bottom.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    bottom.yaxis.set_major_formatter(_scaled_value_formatter(scaled))
    for axes in (top, bottom):
        _style_axes(axes)
        axes.margins(x=0.01)
    step = max(1, math.ceil(len(data.labels) / MAX_DATE_LABELS))
    shown = list(range(len(data.labels)))[::step]
    bottom.set_xticks([positions[index] for index in shown], [data.labels[index] for index in shown],
                      rotation=30 if slanted else 0, ha="right" if slanted else "center")
    bottom.set_xlabel(x_label)


def calendar_positions(labels: tuple[str, ...]) -> list[int]:
    """Days from the first trade date: the bars stand on a calendar, so weekends, holidays and
    missing days show as gaps instead of being closed up."""
    if not labels:
        return []
    first = date.fromisoformat(labels[0])
    return [(date.fromisoformat(label) - first).days for label in labels]


def draw_time_of_day(figure, data: PlotData) -> None:
    _orders_and_value_panels(figure, data, "Hour of the day, exchange-local time (hour starting)")


def draw_daily(figure, data: PlotData) -> None:
    _orders_and_value_panels(figure, data, "Trade date (exchange-local)", date_labels=True)


def draw_order_size(figure, data: PlotData) -> None:
    axes = figure.subplots()
    figure.subplots_adjust(left=0.08, right=0.985, top=0.8, bottom=0.13)
    positions = range(len(data.labels))
    width = 0.38
    orders_share, value_share = data.orders_share(), data.value_share()
    orders_bars = axes.bar([p - width / 2 for p in positions], orders_share, width, color=ORDERS_COLOUR,
                           label="Share of orders")
    value_bars = axes.bar([p + width / 2 for p in positions], value_share, width, color=VALUE_COLOUR,
                          label="Share of value")
    for bars, shares in ((orders_bars, orders_share), (value_bars, value_share)):
        axes.bar_label(bars, labels=[f"{share:.1f}%" for share in shares], padding=2, fontsize=9.5,
                       color=TEXT_COLOUR)
    axes.set_xticks(list(positions), list(data.labels))
    axes.set_xlabel("Order value bucket (price × quantity)")
    axes.set_ylabel("Share of total (%)")
    axes.set_ylim(0, max(max(orders_share), max(value_share)) * 1.15 + 1)
    axes.yaxis.set_major_formatter(_thousands())
    axes.legend(loc="upper right", ncols=2, bbox_to_anchor=(1.0, 1.1))
    _style_axes(axes)


def draw_top_participants(figure, data: PlotData) -> None:
    axes = figure.subplots()
    figure.subplots_adjust(left=0.1, right=0.975, top=0.8, bottom=0.11)
    divisor, unit = _value_scale(data.value)
    scaled = [value / divisor for value in data.value]
    positions = list(range(len(data.labels)))
    bars = axes.barh(positions, scaled, height=0.7, color=VALUE_COLOUR)
    shares = data.value_share()
    axes.bar_label(bars, labels=[f"{share:.1f}%  ({orders:,} orders)" for share, orders in zip(shares, data.orders)],
                   padding=4, fontsize=9, color=TEXT_COLOUR)
    axes.set_yticks(positions, list(data.labels))
    axes.invert_yaxis()
    axes.set_xlabel(f"Value ({unit})" if unit else "Value")
    axes.xaxis.set_major_formatter(_scaled_value_formatter(scaled))
    axes.set_ylabel("Participant")
    axes.set_xlim(0, max(scaled) * 1.22)  # room for the labels at the ends of the bars
    axes.margins(y=0.01)
    _style_axes(axes, grid_axis="x")
    shown = sum(shares)
    axes.set_title(f"The {len(data.labels)} shown hold {shown:.1f}% of the total value. "
                   "Bar labels: share of the total value (orders).", loc="left", fontsize=10, color=MUTED_COLOUR,
                   pad=10)
