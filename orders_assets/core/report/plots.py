"""Pictures of the reports, as PNG bytes for the Dagster UI and the HTML summary page.

Each plot is two steps: a small function that extracts from a report table the series the plot
draws (`PlotData`, checked by tests against the report files), and a drawing function. The
drawing uses matplotlib's object API on the Agg canvas (no pyplot, so no global figure state and
no display backend); matplotlib is imported on first render only, so loading the code location
does not pay for it.

Same table, same bytes: fixed size and dpi, matplotlib's default style reset for every render
(a user's matplotlibrc changes nothing), and the PNG is encoded by Pillow with no text chunk (no
Software or date), so a rerun with nothing new rewrites no file with other bytes. A report with
no orders renders a "no orders" figure.
"""
from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema

TOP_PARTICIPANTS = 15
FIGURE_INCHES = (10.0, 5.4)
DPI = 100
"""1000 x 540 pixels: readable in the Dagster UI's markdown dialog and on the summary page."""

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


@dataclass(frozen=True)
class Plot:
    title: str
    extract: Callable[[pa.Table], PlotData]
    draw: Callable  # (figure, PlotData) -> None


def render_png(report: str, table: pa.Table) -> bytes:
    """The PNG of a plotted report (see PLOTS) from its table."""
    plot = PLOTS[report]
    return _render(plot, plot.extract(table))


_RENDER_LOCK = threading.Lock()
"""matplotlib's style parameters are process-wide: one render at a time."""


def _render(plot: Plot, data: PlotData) -> bytes:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _RENDER_LOCK, matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
        canvas = FigureCanvasAgg(figure)
        figure.text(0.012, 0.975, plot.title, fontsize=15, fontweight="bold", color=TEXT_COLOUR, va="top")
        figure.text(0.012, 0.915, _subtitle(data), fontsize=10.5, color=MUTED_COLOUR, va="top")
        if data.empty:
            _draw_no_orders(figure)
        else:
            plot.draw(figure, data)
        canvas.draw()
        return _palette_png(canvas.buffer_rgba())


def _palette_png(rgba) -> bytes:
    """The picture as an 8-bit palette PNG. These flat-coloured charts hold a few hundred colours
    (anti-aliased edges); 256 of them reproduce every pixel within 1 of 255 per channel, and the file
    is about 40% of matplotlib's RGBA PNG (28 KB instead of 79 for the participants), which matters
    as the UI's copy lives base64 in Dagster's event log. No text chunk: no version, no date."""
    import numpy
    from PIL import Image

    image = Image.fromarray(numpy.asarray(rgba)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _subtitle(data: PlotData) -> str:
    return f"{data.total_orders:,} orders, value {_amount(data.total_value)} ({VALUE_NOTE})"


def _draw_no_orders(figure) -> None:
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
    positions = range(len(data.labels))
    divisor, unit = _value_scale(data.value)
    scaled = [value / divisor for value in data.value]
    width = 0.8 if len(positions) < 120 else 1.0
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
    ticks = list(positions)[::step]
    slanted = date_labels and len(data.labels) > MAX_UPRIGHT_DATES
    bottom.set_xticks(ticks, [data.labels[index] for index in ticks],
                      rotation=30 if slanted else 0, ha="right" if slanted else "center")
    bottom.set_xlabel(x_label)


def _draw_time_of_day(figure, data: PlotData) -> None:
    _orders_and_value_panels(figure, data, "Hour of the day, exchange-local time (hour starting)")


def _draw_daily(figure, data: PlotData) -> None:
    _orders_and_value_panels(figure, data, "Trade date (exchange-local)", date_labels=True)


def _draw_order_size(figure, data: PlotData) -> None:
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


def _draw_top_participants(figure, data: PlotData) -> None:
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


PLOTS: dict[str, Plot] = {
    "timeseries_daily": Plot("Orders and value per trade date", daily_data, _draw_daily),
    "by_time_of_day": Plot("Orders and value by hour of the day", time_of_day_data, _draw_time_of_day),
    "by_order_size": Plot("Order size distribution", order_size_data, _draw_order_size),
    "by_participant": Plot(f"Top {TOP_PARTICIPANTS} participants by value", top_participants_data,
                           _draw_top_participants),
}
"""Report name -> its plot (the PNG is reports/plots/<report name>.png), in the summary page's order."""

PLOTTED_REPORTS: tuple[str, ...] = tuple(PLOTS)
