"""Report files: each report as CSV and Parquet, written whole (core/store/outputs.py), and whether
the set of them (plots, page and summary.json included) is complete and current."""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv

from orders_assets.core.store import outputs
from orders_assets.core.store.csv_cells import formulas_escaped
from orders_assets.core.store.outputs import OutputPath
from orders_assets.core.report.plots import PLOTTED_REPORTS
from orders_assets.core.report.markdown import markdown_table
from orders_assets.core.report.page import PAGE_NAME
from orders_assets.core.report.page_files import PLOTS_FOLDER
from orders_assets.core.report.summary import SUMMARY_NAME, read_summary
from orders_assets.core.schema import MARKET_SHARE, REPORT_NAMES
from orders_assets.core.store.order_store import OrderStore


def write_report(table: pa.Table, reports_dir: OutputPath, name: str) -> dict[str, OutputPath]:
    """<reports>/<name>.csv and <name>.parquet; returns both paths. The CSV file is for
    spreadsheets, so its text cells are written formula-safe (csv_cells); the Parquet file holds
    the values as they are."""
    csv_path, parquet_path = reports_dir / f"{name}.csv", reports_dir / f"{name}.parquet"
    options = pacsv.WriteOptions(quoting_style="needed")
    text = _plain_decimals(formulas_escaped(table))
    outputs.write_output(csv_path, lambda target: pacsv.write_csv(text, target, write_options=options))
    outputs.write_parquet(parquet_path, table)
    return {"csv": csv_path, "parquet": parquet_path}


ARROW_PLAIN_SCALE = 6
"""Arrow writes a decimal with more places than this in scientific notation when it is small
(0E-8, 5.2E-7); spreadsheets and people read plain notation."""


def _plain_decimals(table: pa.Table) -> pa.Table:
    """The table with its decimals of many places (fractional quantities) as plain-notation text."""
    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale > ARROW_PLAIN_SCALE:
            plain = pa.array([None if value is None else format(value, "f") for value in table[index].to_pylist()],
                             pa.string())
            table = table.set_column(index, field.name, plain)
    return table


def reports_complete(store: OrderStore) -> bool:
    """True when every report file (market_share and the declared reports too), plot, the HTML page
    and summary.json exist (one deleted by hand is rebuilt by the next run)."""
    reports = [*REPORT_NAMES, MARKET_SHARE, *(declared.name for declared in store.declared_reports)]
    names = [f"{name}.{suffix}" for name in reports for suffix in ("csv", "parquet")]
    names += [f"{PLOTS_FOLDER}/{name}.png" for name in PLOTTED_REPORTS] + [PAGE_NAME, SUMMARY_NAME]
    return all(outputs.exists(store.reports / name) for name in names)


def reports_current(store: OrderStore, manifests: list | None = None, catalog_table: pa.Table | None = None) -> bool:
    """True when the reports exist and were built from the store's current ingests and partitions
    (`manifests` and `catalog_table`: the store as a snapshot saw it; by default, as it is now).
    The inputs signature is worked out only when every report exists."""
    built_from = reports_built_from(store)
    return built_from is not None and built_from == store.inputs_signature(manifests, catalog_table)


def reports_built_from(store: OrderStore) -> str | None:
    """The inputs signature the reports were built from; None when any report file is missing
    ('' for a summary that did not record it, which is never current)."""
    if not reports_complete(store):
        return None
    return read_summary(store.reports).inputs_signature or ""


def markdown_preview(table: pa.Table, rows: int = 10) -> str:
    """The first rows as a markdown table, for the UI: every value shows as its own text
    (markdown.markdown_text), a security code `A|B` in one cell."""
    head = table.slice(0, rows).to_pylist()
    names = table.column_names
    preview = markdown_table(names, ([_cell(row[name]) for name in names] for row in head))
    if table.num_rows > rows:
        preview += f"\n\n{table.num_rows - rows} more rows"
    return preview


def _cell(value) -> str:
    """A figure with thousands separators, as the page writes them: averages (floats) to 2 places,
    exact amounts with every place they have, whole numbers as they are."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, Decimal):
        return format(value, ",f")  # str() would show a small fractional quantity as 1E-8
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)
