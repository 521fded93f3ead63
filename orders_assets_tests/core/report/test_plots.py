"""The reports' pictures: valid small PNGs, the same bytes for the same table, whatever the user's
matplotlib settings (the series they draw: test_plot_data.py)."""
import datetime
import struct
import subprocess
import sys
import zlib
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orders_assets.core.report import plot_data, plots
from orders_assets.core.assemble.aggregate import PARTIAL_SCHEMA, exact_totals
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.assemble.aggregate_files import load_partials
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.report.files import write_report
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.report.summary import write_summary
from orders_assets.core.report.summary_build import build_summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PICTURE_SIZE = (1000, 540)
MAX_PNG_BYTES = 80_000
CONTRACT_BUCKETS = ["<10k", "10k-50k", "50k-200k", "200k-1m", ">=1m"]
EXPECTED_PLOTS = {"by_time_of_day", "timeseries_daily", "by_order_size", "by_participant"}


def build_sample_reports(root: Path, rows: int = 30_000, participants: int = 40) -> OrderStore:
    """Generated orders ingested and assembled by the engine, every report and summary.json written."""
    landing, store = root / "landing", OrderStore(root / "data")
    generate_orders(landing / "orders.csv", rows=rows, days=4, securities=8, participants=participants, seed=11,
                    bad_rows=0.002)
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    for name in REPORT_NAMES:
        write_report(build_report(name, partials), store.reports, name)
    write_summary(build_summary(store, exact_totals(partials)), store.reports)
    return store


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory) -> Path:
    return build_sample_reports(tmp_path_factory.mktemp("plots")).reports


def report_table(reports_dir: Path, name: str) -> pa.Table:
    return pq.read_table(reports_dir / f"{name}.parquet")


def report_csv(reports_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(reports_dir / f"{name}.csv", dtype={"participant_id": str, "trade_date": str,
                                                          "size_bucket": str})


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk, each CRC checked."""
    assert data[:8] == PNG_SIGNATURE
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind, payload = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert zlib.crc32(kind + payload) == crc, kind
        chunks.append((kind, payload))
        offset += 12 + length
    return chunks


def png_size(data: bytes) -> tuple[int, int]:
    kind, payload = png_chunks(data)[0]
    assert kind == b"IHDR"
    return struct.unpack(">II", payload[:8])


def test_the_four_plotted_reports():
    assert set(plots.PLOTS) == EXPECTED_PLOTS


@pytest.mark.parametrize("name", sorted(EXPECTED_PLOTS))
def test_each_plot_is_a_valid_small_png_with_no_varying_text(reports_dir, name):
    png = plots.render_png(name, report_table(reports_dir, name))
    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == PICTURE_SIZE
    chunks = png_chunks(png)
    assert chunks[-1][0] == b"IEND"
    kinds = {kind for kind, _ in chunks}
    assert not kinds & {b"tEXt", b"iTXt", b"zTXt", b"tIME"}  # no software version, no date
    assert 5_000 < len(png) < MAX_PNG_BYTES


@pytest.mark.parametrize("name", sorted(EXPECTED_PLOTS))
def test_the_same_table_gives_the_same_bytes_and_another_table_other_bytes(reports_dir, name):
    table = report_table(reports_dir, name)
    first = plots.render_png(name, table)
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=2), table.schema)
    assert plots.render_png(name, rechunked) == first
    halved = table.set_column(table.schema.get_field_index("orders"), "orders",
                              pa.array([count // 2 for count in table["orders"].to_pylist()], pa.int64()))
    assert plots.render_png(name, halved) != first


def test_a_users_matplotlib_settings_do_not_change_the_bytes(reports_dir, tmp_path):
    config = tmp_path / "mplconfig"
    config.mkdir()
    (config / "matplotlibrc").write_text("font.size: 20\naxes.facecolor: black\nsavefig.dpi: 37\n"
                                         "axes.prop_cycle: cycler('color', ['red'])\n")
    parquet = reports_dir / "by_time_of_day.parquet"
    script = ("import sys, pyarrow.parquet as pq\nfrom orders_assets.core.report import plots\n"
              f"sys.stdout.buffer.write(plots.render_png('by_time_of_day', pq.read_table({str(parquet)!r})))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                            env={"MPLCONFIGDIR": str(config), "PATH": "/usr/bin:/bin"})
    assert result.stdout == plots.render_png("by_time_of_day", pq.read_table(parquet))


def test_importing_the_plots_module_does_not_load_matplotlib():
    code = "import sys, orders_assets.core.report.plots\nprint('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(EXPECTED_PLOTS))
def test_a_report_without_orders_renders_a_readable_no_orders_figure(reports_dir, name):
    empty = build_report(name, PARTIAL_SCHEMA.empty_table())
    data = plots.PLOTS[name].extract(empty)
    assert data.empty and data.total_orders == 0
    png = plots.render_png(name, empty)
    assert png_size(png) == PICTURE_SIZE
    assert png != plots.render_png(name, report_table(reports_dir, name))
    if name == "by_order_size":
        assert empty.num_rows == 5  # every bucket has a row, all zero: still "no orders"


def test_fractional_quantities_and_their_wider_values_plot():
    table = pa.table({"trade_date": pa.array([datetime.date(2025, 3, 3)] * 2, pa.date32()),
                      "security_code": ["BTC", "ETH"], "orders": [2, 1],
                      "quantity": pa.array([Decimal("0.00000003"), Decimal("1.5")], pa.decimal128(38, 8)),
                      "value": pa.array([Decimal("0.001234567891"), Decimal("3000.5")], pa.decimal128(38, 12))})
    data = plot_data.daily_data(table)
    assert data.labels == ("2025-03-03",)
    assert data.value == pytest.approx((3000.501234567891,))
    assert png_size(plots.render_png("timeseries_daily", table)) == PICTURE_SIZE


def test_the_daily_series_stands_on_a_calendar_so_missing_days_show_as_gaps():
    from matplotlib.figure import Figure

    from orders_assets.core.report import drawing

    days = [datetime.date(2025, 3, 3), datetime.date(2025, 3, 4), datetime.date(2025, 3, 10)]  # a week missing
    table = pa.table({"trade_date": pa.array(days, pa.date32()), "security_code": ["BHP"] * 3, "orders": [5, 7, 2],
                      "quantity": [50, 70, 20], "value": pa.array([Decimal("1.5"), Decimal("2"), Decimal("3")],
                                                                  pa.decimal128(38, 4))})
    data = plot_data.daily_data(table)
    figure = Figure()
    drawing.draw_daily(figure, data)
    orders_panel = figure.axes[0]
    assert [round(bar.get_x() + bar.get_width() / 2) for bar in orders_panel.patches] == [0, 1, 7]
    assert [bar.get_height() for bar in orders_panel.patches] == [5, 7, 2]
    assert [label.get_text() for label in figure.axes[1].get_xticklabels()] == [str(day) for day in days]
    assert png_size(plots.render_png("timeseries_daily", table)) == PICTURE_SIZE
