"""The sections of reports/index.html drawn from the report files beside it (core/report/page.py
lays out the page): the top securities by value, the plots, the share of the market, the declared
reports' first rows, and the list of report files. Every value shown is escaped for HTML (`text`):
security codes, participants and a declared report's names and description are the data's or the
user's.
"""
from __future__ import annotations

import html
from decimal import Decimal

import pyarrow.compute as pc

from orders_assets.core.assemble.sums import exact_total
from orders_assets.core.report.plots import PLOTS, PLOTTED_REPORTS
from orders_assets.core.report.summary import SUMMARY_NAME
from orders_assets.core.schema import MARKET_SHARE, REPORT_NAMES
from orders_assets.core.store import outputs
from orders_assets.core.store.outputs import OutputPath

PLOTS_FOLDER = "plots"
TOP_SECURITIES = 10
"""Securities in the page's table, by value."""


def text(value) -> str:
    """A value as HTML text, escaped (quotes too: it may land in an attribute)."""
    return html.escape(str(value), quote=True)


def figure_text(value: int | Decimal) -> str:
    """A figure with thousands separators; exact decimals stay exact ('1,234.5000')."""
    return f"{value:,}"


def plot_path(reports_dir: OutputPath, report: str) -> OutputPath:
    return reports_dir / PLOTS_FOLDER / f"{report}.png"


def top_securities_section(reports_dir: OutputPath) -> str:
    """The securities of most value, from by_security (exact values, as in the report)."""
    path = reports_dir / "by_security.parquet"
    if not outputs.exists(path):
        return ""
    table = outputs.read_table(path).select(["security_code", "orders", "quantity", "value"])
    ranked = sorted(table.to_pylist(), key=lambda row: (-row["value"], row["security_code"]))[:TOP_SECURITIES]
    if not ranked:
        return ""
    head = "<tr><th>Security</th><th>Orders</th><th>Quantity</th><th>Value</th></tr>"
    rows = "\n".join(
        f"<tr><td>{text(row['security_code'])}</td>"
        + "".join(f'<td class="number">{text(figure_text(row[name]))}</td>' for name in ("orders", "quantity", "value"))
        + "</tr>" for row in ranked)
    return (f"<h2>Top {len(ranked)} securities by value</h2>\n<table class=\"top-securities\">\n{head}\n{rows}\n</table>"
            f'\n<p class="note">All {table.num_rows:,} securities: <a href="by_security.csv">by_security.csv</a>.</p>')


def plots_section(reports_dir: OutputPath) -> str:
    figures = []
    for report in PLOTTED_REPORTS:
        if outputs.exists(plot_path(reports_dir, report)):
            source = f"{PLOTS_FOLDER}/{report}.png"
            title = PLOTS[report].title
            figures.append(f'<figure><img src="{text(source)}" alt="{text(title)}" width="1000">'
                           f"<figcaption>{text(title)}, from {text(report)}</figcaption></figure>")
    if not figures:
        return ""
    return "<h2>Plots</h2>\n" + "\n".join(figures)


SHARE_ROWS = 10
"""market_share rows on the page: the keys of most market value (the report file has them all)."""


def market_share_section(reports_dir: OutputPath) -> str:
    """The filtered set's share of the market over all rows, and for the keys of most market value."""
    path = reports_dir / f"{MARKET_SHARE}.parquet"
    if not outputs.exists(path):
        return ""
    table = outputs.read_table(path)
    known = table.filter(pc.is_valid(table["market_value"]))  # a year's keys: summed and ranked by Arrow
    if not known.num_rows:
        return ('<h2>Share of the market</h2>\n<p class="note">No current file kept the market\'s totals (ingested '
                "before they were kept): see market_share.csv once they are ingested again.</p>")
    orders, market_orders, value, market_value = (exact_total(known[name]) or 0 for name in
                                                  ("orders", "market_orders", "value", "market_value"))
    overall = (f"<p>The filtered order set is <strong>{text(_percent(orders, market_orders))}</strong> of the market's "
               f"orders ({text(figure_text(orders))} of {text(figure_text(market_orders))}) and "
               f"<strong>{text(_percent(value, market_value))}</strong> of its value ({text(figure_text(value))} of "
               f"{text(figure_text(market_value))}): every valid row of the files, kept or not.</p>")
    head = "<tr><th>Trade date</th><th>Security</th><th>Orders</th><th>Share</th><th>Value</th><th>Share</th></tr>"
    ranked = pc.sort_indices(known, [("market_value", "descending"), ("trade_date", "ascending"),
                                     ("security_code", "ascending")])
    top = known.take(ranked[:SHARE_ROWS]).to_pylist()
    lines = "\n".join(
        f"<tr><td>{text(row['trade_date'])}</td><td>{text(row['security_code'])}</td>"
        f'<td class="number">{text(figure_text(row["orders"]))}</td>'
        f'<td class="number">{text(_percent(row["orders"], row["market_orders"]))}</td>'
        f'<td class="number">{text(figure_text(row["value"]))}</td>'
        f'<td class="number">{text(_percent(row["value"], row["market_value"]))}</td></tr>' for row in top)
    missing = table.num_rows - known.num_rows
    note = (f'<p class="note">{missing:,} (date, security) key(s) have no market totals (files ingested before they '
            "were kept).</p>") if missing else ""
    return (f"<h2>Share of the market</h2>\n{overall}\n<table class=\"market-share\">\n{head}\n{lines}\n</table>\n"
            f'<p class="note">The {len(top)} keys of most market value; all {table.num_rows:,}: '
            f'<a href="market_share.csv">market_share.csv</a>.</p>{note}')


def _percent(part, whole) -> str:
    return f"{float(part) / float(whole):.2%}" if whole else ""


DECLARED_PREVIEW_ROWS = 20
"""Rows of a declared report shown on the page (its files hold them all)."""


def declared_section(reports_dir: OutputPath, declared: tuple) -> str:
    """Each declared report with its description and first rows, escaped (names and keys are the user's)."""
    parts = []
    for report in declared:
        path = reports_dir / f"{report.name}.parquet"
        if not outputs.exists(path):
            continue
        table = outputs.read_table(path)
        head = "".join(f"<th>{text(name)}</th>" for name in table.column_names)
        rows = "\n".join("<tr>" + "".join(_preview_cell(value) for value in row.values()) + "</tr>"
                         for row in table.slice(0, DECLARED_PREVIEW_ROWS).to_pylist())
        more = (f'<p class="note">First {DECLARED_PREVIEW_ROWS} of {table.num_rows:,} rows: '
                f'<a href="{text(report.name)}.csv">{text(report.name)}.csv</a>.</p>'
                if table.num_rows > DECLARED_PREVIEW_ROWS else "")
        parts.append(f"<h3>{text(report.name)}</h3>\n<p>{text(report.summary_line)}</p>\n"
                     f"<table class=\"declared\">\n<tr>{head}</tr>\n{rows}\n</table>{more}")
    return "<h2>Your reports</h2>\n" + "\n".join(parts) if parts else ""


def _preview_cell(value) -> str:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return f'<td class="number">{text(figure_text(value))}</td>'
    return f"<td>{text('' if value is None else value)}</td>"


def reports_section(reports_dir: OutputPath, link_summary: bool, declared_names=()) -> str:
    rows = []
    for report in [*REPORT_NAMES, MARKET_SHARE, *declared_names]:
        links = [f'<a href="{text(name)}">{text(kind)}</a>'
                 for name, kind in ((f"{report}.csv", "CSV"), (f"{report}.parquet", "Parquet"))
                 if outputs.exists(reports_dir / name)]
        if not links:
            continue
        parquet = reports_dir / f"{report}.parquet"
        count = f"{outputs.read_metadata(parquet).num_rows:,}" if outputs.exists(parquet) else ""
        rows.append(f'<tr><td>{text(report)}</td><td class="number">{text(count)}</td>'
                    f"<td>{' &middot; '.join(links)}</td></tr>")
    parts = ["<h2>Report files</h2>"]
    if rows:
        parts.append("<table class=\"reports\">\n<tr><th>Report</th><th>Rows</th><th>Files</th></tr>\n"
                     + "\n".join(rows) + "\n</table>")
    if link_summary:
        parts.append(f'<p><a href="{SUMMARY_NAME}">summary.json</a>: the row accounting and totals as JSON.</p>')
    return "\n".join(parts) if len(parts) > 1 else ""
