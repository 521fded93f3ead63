"""The reports' pictures and one HTML page that shows them with the summary.

    <output>/reports/plots/<report>.png   a plotted report (core/report/plots.py PLOTS)
    <output>/reports/index.html           summary figures, source files, plots, links to every report file

The sections drawn from the report files (top securities, plots, share of the market, declared
reports, the list of files) are in page_files.py.

The page is self-contained (inline CSS, no script, no external URL) and links only files that
exist, relative to itself, so the reports folder can be copied or served as it is. It holds no
clock time and nothing of the ingest attempts, so the same reports give the same bytes.
"""
from __future__ import annotations

import pyarrow as pa

from orders_assets.core.store import outputs
from orders_assets.core.store.outputs import OutputPath
from orders_assets.core.report.attention import (
    nothing_read,
    rejected_headline,
    rejected_shares,
    unmatched_filter_values,
)
from orders_assets.core.report.page_files import (declared_section, figure_text, market_share_section,
                                                  plot_path, plots_section, reports_section, text,
                                                  top_securities_section)
from orders_assets.core.report.plots import PLOTS, render_png
from orders_assets.core.report.summary import FileSummary, Summary
from orders_assets.core.store.overlap_rule import COUNTED_TWICE_FIX

PAGE_NAME = "index.html"

SUMMARY_FIGURES = (
    ("source_files", "Source files"),
    ("rows_read", "Rows read"),
    ("rows_kept", "Rows kept"),
    ("rows_filtered_out", "Rows filtered out"),
    ("rows_rejected", "Rows rejected"),
    ("partitions", "Partitions"),
    ("orders", "Orders (order events)"),
    ("quantity", "Quantity"),
    ("value", "Value"),
)
"""Summary field -> label, in the order the page shows them."""

FILE_COLUMNS = (
    ("source_file", "Source file"),
    ("layout", "Layout"),
    ("rows_read", "Rows read"),
    ("rows_kept", "Kept"),
    ("rows_filtered_out", "Filtered out"),
    ("rows_rejected", "Rejected"),
    ("rows_rounded", "Rounded (layout)"),
    ("partitions", "Partitions"),
)
OPTIONAL_FILE_COLUMNS = {"layout": lambda entry: entry.layout is not None, "rows_rounded": lambda entry: entry.rows_rounded}
"""Columns shown only when some file has them: a layout, rows its layout rounded."""

CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #2e3436; margin: 0;
       background: #f6f7f9; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 12px; border-bottom: 1px solid #d9dde3; padding-bottom: 6px; }
p.note { color: #6b7280; margin: 0 0 16px; }
dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 10px; margin: 0; }
dl.figures div { background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: 10px 14px; }
dt { font-size: 13px; color: #6b7280; }
dd { margin: 4px 0 0; font-size: 20px; font-weight: bold; font-variant-numeric: tabular-nums;
     overflow-wrap: anywhere; }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 14px; }
th, td { border: 1px solid #d9dde3; padding: 6px 10px; text-align: left; }
th { background: #eef0f3; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0 0 22px; background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: 8px; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #6b7280; font-size: 13px; padding: 6px 4px 0; }
section.attention { background: #fff4e5; border: 1px solid #f0b35a; border-radius: 6px; padding: 4px 16px 10px;
                    margin: 16px 0; }
section.attention h2 { border: 0; margin: 10px 0 6px; }
"""


def write_plot(reports_dir: OutputPath, report: str, table: pa.Table) -> tuple[OutputPath, bytes] | None:
    """Renders a report's plot to reports/plots/<report>.png; None for a report without a plot."""
    if report not in PLOTS:
        return None
    png = render_png(report, table)
    path = plot_path(reports_dir, report)
    outputs.write_bytes(path, png)
    return path, png


def write_report_page(reports_dir: OutputPath, summary: Summary | None, declared: tuple = ()) -> OutputPath:
    """Writes reports/index.html from the summary (None: not built yet) and the files
    present in the reports folder.

    The page links summary.json when given a summary: the summary asset writes the page
    before summary.json, so that summary.json, the reports' commit point, is never newer than the
    page (a crash in between leaves the reports stale, and the next run rebuilds both).
    """
    path = reports_dir / PAGE_NAME
    outputs.write_bytes(path, report_page(reports_dir, summary, declared).encode())
    return path


def report_page(reports_dir: OutputPath, summary: Summary | None, declared: tuple = ()) -> str:
    """The page's HTML; `declared`: the reports declared in the config file (core/report/declared.py)."""
    sections = [
        "<h1>Orders reports</h1>",
        '<p class="note">Reports over the filtered order set. Orders count order events: every row of the '
        "set (new orders, amendments and cancellations alike), as the data contract counts them. Value = "
        "price &times; quantity: exact in the report files and here, rounded in the plots.</p>",
        _attention_section(summary),
        _made_under_section(summary),
        _summary_section(summary),
        _not_read_section(summary),
        _rejections_section(summary),
        _overlap_section(summary),
        top_securities_section(reports_dir),
        plots_section(reports_dir),
        market_share_section(reports_dir),
        declared_section(reports_dir, declared),
        reports_section(reports_dir, summary is not None, [report.name for report in declared]),
    ]
    body = "\n".join(section for section in sections if section)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>Orders reports</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
        "</body>\n</html>\n"
    )


def _summary_section(summary: Summary | None) -> str:
    if summary is None:
        return '<h2>Summary</h2>\n<p class="note">summary.json is not built yet.</p>'
    figures = "\n".join(
        f'<div><dt>{text(label)}</dt><dd data-field="{text(field)}">'
        f"{text(figure_text(getattr(summary, field)))}</dd></div>"
        for field, label in SUMMARY_FIGURES
    )
    parts = ["<h2>Summary</h2>", f'<dl class="figures">\n{figures}\n</dl>']
    files = summary.files
    if files:
        columns = [(field, label) for field, label in FILE_COLUMNS
                   if field not in OPTIONAL_FILE_COLUMNS or any(map(OPTIONAL_FILE_COLUMNS[field], files))]
        head = "".join(f"<th>{text(label)}</th>" for _, label in columns)
        rows = "\n".join(
            "<tr>" + "".join(_file_cell(entry, field) for field, _ in columns) + "</tr>"
            for entry in files
        )
        parts += ["<h2>Source files</h2>", f'<table class="files">\n<tr>{head}</tr>\n{rows}\n</table>']
    return "\n".join(parts)


FILTERED_OUT_LABELS = (("order_type", "not of these order types"), ("session", "outside the session"),
                       ("participant", "of other participants"), ("not_orders", "not orders (their layout says so)"))
"""summary.FILTERED_OUT_CAUSES as the page words them."""


def _attention_section(summary: Summary | None) -> str:
    """What needs attention before the figures are trusted (core/report/attention.py), first on the
    page: no file read from a landing folder that holds files, a filter value that matches no row,
    files past the rejected-rows threshold."""
    if summary is None:
        return ""
    parts = [f"<p>{text(problem)}</p>" for problem in (nothing_read(summary),) if problem]
    parts += [f"<p>{text(unmatched.message)}</p>" for unmatched in unmatched_filter_values(summary)]
    findings = rejected_shares(summary)
    if findings:
        items = "".join(f"<li>{text(finding.message)}</li>" for finding in findings)
        parts.append(f"<p>{text(rejected_headline(summary, findings))}</p>\n<ul>{items}</ul>")
    if not parts:
        return ""
    return '<section class="attention">\n<h2>Needs attention</h2>\n' + "\n".join(parts) + "\n</section>"


def _not_read_section(summary: Summary | None) -> str:
    """The landing folder's files that were not read or not counted, each with its reason: a file
    refused, a copy of another, a file that is not an order file."""
    if summary is None or not summary.skipped:
        return ""
    rows = "\n".join(f"<tr><td>{text(entry.source_file)}</td><td>{text(entry.reason)}</td></tr>"
                     for entry in summary.skipped)
    return ("<h2>Files not read</h2>\n"
            f'<table class="not-read">\n<tr><th>File</th><th>Why</th></tr>\n{rows}\n</table>')


def _made_under_section(summary: Summary | None) -> str:
    """The rule the order set was made under and the trade dates it covers."""
    if summary is None or summary.order_filter is None:
        return ""
    rule = summary.order_filter
    participants = ", ".join(rule["participants"]) if rule["participants"] else "all"
    dates = ("no trade date with orders" if summary.first_trade_date is None else
             f"{summary.first_trade_date} to {summary.last_trade_date} ({summary.trade_dates:,} trade dates with orders)")
    rows = [("Order types", ", ".join(rule["order_types"]) if rule["order_types"] else "all"),
            ("Session", f"{rule['session_start']} &le; local time &lt; {rule['session_end']} ({rule['timezone']})"),
            ("Participants", participants), ("Trade dates", dates)]
    causes = summary.rows_filtered_out_by
    if causes is not None:
        rows.append(("Filtered out", "; ".join(f"{causes[cause]:,} {label}" for cause, label in FILTERED_OUT_LABELS
                                               if causes[cause] or cause != "not_orders")))
    body = "\n".join(f"<tr><th>{text(label)}</th><td>{value if label == 'Session' else text(value)}</td></tr>"
                     for label, value in rows)
    return f'<h2>The order set</h2>\n<table class="made-under">\n{body}\n</table>'


def _rejections_section(summary: Summary | None) -> str:
    """Rejected rows by reason, and each file's quarantine (its line, column, reason and raw text)."""
    if summary is None or not summary.rows_rejected or not summary.rejections_by_reason:
        return ""
    rows = "\n".join(f'<tr><td>{text(reason)}</td><td class="number">{text(figure_text(count))}</td></tr>'
                     for reason, count in summary.rejections_by_reason)
    files = [entry for entry in summary.files if entry.quarantine]
    links = "".join(f'<li><a href="../{text(entry.quarantine)}">{text(entry.quarantine)}</a>: '
                    f"{text(figure_text(entry.rows_rejected))} rows of {text(entry.source_file)}</li>"
                    for entry in files)
    return ("<h2>Rejected rows</h2>\n"
            f'<table class="rejections">\n<tr><th>Reason</th><th>Rows</th></tr>\n{rows}\n</table>\n'
            '<p class="note">Every rejected row, with its line, column, reason and raw text, is in its '
            f"file's quarantine (in the data folder):</p>\n<ul>{links}</ul>")


def _overlap_section(summary: Summary | None) -> str:
    """Rows that more than one current file brings: the rule, the accounting across files, each pair
    of files with the first line in each, and the warning when rows are counted twice."""
    if summary is None or not (summary.rows_duplicated_across_files or summary.rows_superseded
                               or summary.rows_deduplicated):
        return ""
    rule = (summary.overlap or {}).get("rule", "union")
    identity = (f"{figure_text(summary.rows_kept)} rows kept = {figure_text(summary.rows_in_partitions or 0)} in "
                f"the partitions + {figure_text(summary.rows_superseded)} superseded + "
                f"{figure_text(summary.rows_deduplicated)} deduplicated")
    rows = "\n".join(
        f"<tr><td>{text(pair.first_file)}</td><td>{text(pair.second_file)}</td>"
        f'<td class="number">{text(figure_text(pair.rows))}</td><td class="number">{text(figure_text(pair.partitions))}</td>'
        f'<td class="number">{pair.first_line_in_first}, {pair.first_line_in_second}</td></tr>'
        for pair in summary.rows_duplicated_across_files)
    warning = (f'<p class="note">{text(figure_text(summary.rows_counted_more_than_once))} rows are counted twice: '
               f"{text(COUNTED_TWICE_FIX)}.</p>" if summary.rows_counted_more_than_once else "")
    table = ('<table class="overlaps">\n<tr><th>Earlier file</th><th>Later file</th><th>Rows equal</th>'
             f"<th>Partitions</th><th>First lines</th></tr>\n{rows}\n</table>" if rows else "")
    return (f"<h2>Rows in more than one file</h2>\n<p>Overlap rule: <code>{text(rule)}</code>. "
            f"{text(identity)}.</p>\n{table}\n{warning}")


def _file_cell(entry: FileSummary, field: str) -> str:
    value = getattr(entry, field)
    if value is None:
        value = ""  # a canonical file has no layout
    if isinstance(value, int):
        return f'<td class="number" data-field="{text(field)}">{text(figure_text(value))}</td>'
    return f'<td data-field="{text(field)}">{text(value)}</td>'
