"""Pictures of the reports, as PNG bytes for the Dagster UI and the HTML summary page.

Owns which reports have a plot (`PLOTS`) and rendering one to PNG. Each plot is two steps: a
small function that extracts from a report table the series the plot draws (plot_data.py,
checked by tests against the report files), and a drawing function (drawing.py). The drawing uses matplotlib's object API on the Agg canvas (no pyplot, so no global figure state and
no display backend); matplotlib is imported on first render only, so loading the code location
does not pay for it.

Same table, same bytes: fixed size and dpi, matplotlib's default style reset for every render
(a user's matplotlibrc changes nothing), and the PNG is encoded by Pillow with no text chunk (no
Software or date), so a rerun with nothing new rewrites no file with other bytes. A report with
no orders renders a "no orders" figure.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from orders_assets.core.report import drawing
from orders_assets.core.report.plot_data import (
    TOP_PARTICIPANTS,
    PlotData,
    daily_data,
    order_size_data,
    time_of_day_data,
    top_participants_data,
)

FIGURE_INCHES = (10.0, 5.4)
DPI = 100
"""1000 x 540 pixels: readable in the Dagster UI's markdown dialog and on the summary page."""


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
        matplotlib.rcParams.update(drawing.STYLE)
        figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
        canvas = FigureCanvasAgg(figure)
        drawing.draw_heading(figure, plot.title, data)
        if data.empty:
            drawing.draw_no_orders(figure)
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


PLOTS: dict[str, Plot] = {
    "timeseries_daily": Plot("Orders and value per trade date", daily_data, drawing.draw_daily),
    "by_time_of_day": Plot("Orders and value by hour of the day", time_of_day_data, drawing.draw_time_of_day),
    "by_order_size": Plot("Order size distribution", order_size_data, drawing.draw_order_size),
    "by_participant": Plot(f"Top {TOP_PARTICIPANTS} participants by value", top_participants_data,
                           drawing.draw_top_participants),
}
"""Report name -> its plot (the PNG is reports/plots/<report name>.png), in the summary page's order."""

PLOTTED_REPORTS: tuple[str, ...] = tuple(PLOTS)
