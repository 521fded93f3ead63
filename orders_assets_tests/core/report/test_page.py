"""reports/index.html: self-contained, every link resolves, and the figures are summary.json's."""
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from orders_assets.core.report import page as report_page
from orders_assets.core.report.summary import Summary, read_summary
from orders_assets.core.store.atomic import TEMP_PREFIX
from orders_assets_tests.core.report.test_plots import PNG_SIGNATURE, build_sample_reports, png_size

SUMMARY_FIELDS = ("source_files", "rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "partitions",
                  "orders", "quantity", "value")


class PageParser(HTMLParser):
    """Links (href, src), tags, and the text of every element carrying data-field."""

    def __init__(self):
        super().__init__()
        self.links, self.tags, self.fields, self.rows = [], [], [], []
        self._field = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.links += [attrs[name] for name in ("href", "src") if name in attrs]
        if tag == "tr":
            self.rows.append({})
        if "data-field" in attrs:
            self._field = [attrs["data-field"], "", tag]

    def handle_data(self, data):
        if self._field:
            self._field[1] += data

    def handle_endtag(self, tag):
        if self._field and tag == self._field[2]:
            name, text, element = self._field
            if element == "dd":
                self.fields.append((name, text))
            else:
                self.rows[-1][name] = text
            self._field = None


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def number(text: str):
    plain = text.replace(",", "")
    return Decimal(plain) if "." in plain else int(plain)


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory) -> Path:
    reports = build_sample_reports(tmp_path_factory.mktemp("page"), rows=20_000).reports
    for name in ("by_time_of_day", "by_participant", "by_security"):  # by_security has no plot
        report_page.write_plot(reports, name, pq.read_table(reports / f"{name}.parquet"))
    report_page.write_report_page(reports, read_summary(reports))
    return reports


def test_every_link_is_relative_and_resolves_to_a_file_and_every_file_is_linked(reports_dir):
    every = parse(reports_dir / "index.html").links
    for link in every:
        parts = urlsplit(link)
        assert not parts.scheme and not parts.netloc and not link.startswith("/"), link
        assert (reports_dir / parts.path).is_file(), link
    quarantines = [link for link in every if link.startswith("../")]
    assert quarantines == ["../quarantine/" + path.name for path in (reports_dir.parent / "quarantine").iterdir()]
    links = [link for link in every if link not in quarantines]
    present = {str(path.relative_to(reports_dir)) for path in reports_dir.rglob("*") if path.is_file()}
    assert set(links) == present - {"index.html"}
    assert {"plots/by_time_of_day.png", "plots/by_participant.png", "summary.json",
            "by_order_size.csv", "timeseries_daily.parquet"} <= set(links)
    assert len(links) == 7 * 2 + 1 + 2 + 1  # by_security.csv twice: its files and the top securities


def test_the_page_says_what_was_counted_the_rejections_by_reason_and_the_top_securities(reports_dir):
    """The rejections table is summary.json's; the top securities are by_security's of most value."""
    summary = read_summary(reports_dir)
    text = (reports_dir / "index.html").read_text(encoding="utf-8")
    assert "Orders (order events)" in text and "amendments and cancellations alike" in text
    rejections = re.search(r'<table class="rejections">(.*?)</table>', text, re.S).group(1)
    shown = re.findall(r"<tr><td>(.*?)</td><td class=\"number\">([\d,]+)</td></tr>", rejections)
    assert [(reason, number(rows)) for reason, rows in shown] == list(summary.rejections_by_reason)
    assert sum(rows for _, rows in summary.rejections_by_reason) == summary.rows_rejected > 0
    top = re.search(r'<table class="top-securities">(.*?)</table>', text, re.S).group(1)
    securities = re.findall(r"<tr><td>(\w+)</td>", top)
    by_security = pq.read_table(reports_dir / "by_security.parquet").to_pylist()
    expected = sorted(by_security, key=lambda row: (-row["value"], row["security_code"]))[:10]
    assert securities == [row["security_code"] for row in expected]
    values = re.findall(r'<td class="number">([\d,.]+)</td></tr>', top)
    assert [Decimal(value.replace(",", "")) for value in values] == [row["value"] for row in expected]


def test_the_page_states_the_filter_and_the_trade_dates_it_was_made_under(tmp_path):
    summary = {"source_files": 1, "rows_read": 3, "rows_kept": 1, "rows_filtered_out": 2, "rows_rejected": 0,
               "partitions": 1, "orders": 1, "quantity": 5, "value": "12.3400", "version": 2,
               "order_filter": {"order_types": ["CENTRE_POINT"], "session_start": "10:00:00", "session_end": "16:00:00",
                                "participants": ["P001", "P002"], "timezone": "Australia/Sydney"},
               "first_trade_date": "2025-03-03", "last_trade_date": "2025-03-07", "trade_dates": 4,
               "rows_filtered_out_by": {"order_type": 1, "session": 1, "participant": 0, "not_orders": 0}}
    text = report_page.write_report_page(tmp_path, Summary.from_json(summary)).read_text()
    made_under = re.search(r'<table class="made-under">(.*?)</table>', text, re.S).group(1)
    assert "<td>CENTRE_POINT</td>" in made_under and "<td>P001, P002</td>" in made_under
    assert "10:00:00 &le; local time &lt; 16:00:00 (Australia/Sydney)" in made_under
    assert "2025-03-03 to 2025-03-07 (4 trade dates with orders)" in made_under
    assert "<td>1 not of these order types; 1 outside the session; 0 of other participants</td>" in made_under
    assert "Rejected rows" not in text  # none rejected: no table


def test_only_reports_with_a_plot_get_a_picture(reports_dir):
    assert sorted(path.name for path in (reports_dir / "plots").iterdir()) == ["by_participant.png",
                                                                             "by_time_of_day.png"]
    images = [link for link in parse(reports_dir / "index.html").links if link.endswith(".png")]
    for image in images:
        data = (reports_dir / image).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and png_size(data)[0] >= 800


def test_the_page_is_self_contained(reports_dir):
    text = (reports_dir / "index.html").read_text(encoding="utf-8")
    parser = parse(reports_dir / "index.html")
    assert "style" in parser.tags
    assert not {"script", "link", "iframe", "object", "embed"} & set(parser.tags)
    assert not re.search(r"(https?:)?//|url\(|@import", text.replace("<!DOCTYPE html>", ""), re.IGNORECASE)


def test_the_summary_figures_are_those_of_summary_json(reports_dir):
    summary = json.loads((reports_dir / "summary.json").read_text())
    parser = parse(reports_dir / "index.html")
    shown = {name: number(text) for name, text in parser.fields}
    expected = {field: Decimal(summary[field]) if isinstance(summary[field], str) else summary[field]
                for field in SUMMARY_FIELDS}
    assert shown == expected
    assert summary["rows_rejected"] > 0 and summary["orders"] > 1_000
    file_rows = [row for row in parser.rows if row]
    assert [row["source_file"] for row in file_rows] == [entry["source_file"] for entry in summary["files"]]
    for row, entry in zip(file_rows, summary["files"]):
        for field in ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "partitions"):
            assert number(row[field]) == entry[field], field


def test_same_inputs_write_the_same_bytes_and_leave_no_temporary(reports_dir):
    before = (reports_dir / "index.html").read_bytes()
    report_page.write_report_page(reports_dir, read_summary(reports_dir))
    assert (reports_dir / "index.html").read_bytes() == before
    assert not list(reports_dir.rglob(f"{TEMP_PREFIX}*"))


def test_every_text_is_escaped(tmp_path):
    hostile = '<script>alert("x")</script> & "quoted".csv'
    summary = {"source_files": 1, "rows_read": 3, "rows_kept": 1, "rows_filtered_out": 1, "rows_rejected": 1,
               "partitions": 1, "orders": 1, "quantity": "0.5", "value": "12.3400",
               "files": [{"source_file": hostile, "layout": "<b>vendor</b>", "rows_read": 3, "rows_kept": 1,
                          "rows_filtered_out": 1, "rows_rejected": 1, "partitions": 1}]}
    page = report_page.write_report_page(tmp_path, Summary.from_json(summary)).read_text()
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quoted&quot;.csv" in page
    rows = [row for row in parse(tmp_path / "index.html").rows if row]
    assert rows[0]["source_file"] == hostile and rows[0]["layout"] == "<b>vendor</b>"


def test_before_any_summary_the_page_says_so_and_links_only_what_exists(tmp_path):
    (tmp_path / "by_date.csv").write_text("trade_date\n")
    page = report_page.write_report_page(tmp_path, None)
    parser = parse(page)
    assert parser.links == ["by_date.csv"]
    assert parser.fields == []
    assert "not built yet" in page.read_text()


def test_the_market_share_section_sums_every_key_exactly_and_ranks_the_top_keys_by_market_value(tmp_path):
    from orders_assets.core.report import market_share
    from orders_assets.core.report.files import write_report
    from orders_assets.core.report.page_files import SHARE_ROWS, market_share_section

    store = build_sample_reports(tmp_path)
    share = market_share.build_market_share(store, pq.read_table(store.reports / f"{market_share.DAILY}.parquet"))
    write_report(share.table, store.reports, market_share.NAME)
    rows = share.table.to_pylist()
    section = market_share_section(store.reports)
    orders, market_orders = sum(row["orders"] for row in rows), sum(row["market_orders"] for row in rows)
    value, market_value = sum(row["value"] for row in rows), sum(row["market_value"] for row in rows)
    assert isinstance(value, Decimal) and f"{float(value) / float(market_value):.2%}" in section
    assert f"{orders:,} of {market_orders:,}" in section and f"all {len(rows):,}" in section
    top = sorted(rows, key=lambda row: (-row["market_value"], row["trade_date"], row["security_code"]))[:SHARE_ROWS]
    shown = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>([^<]+)</td>", section)
    assert shown == [(str(row["trade_date"]), row["security_code"]) for row in top] and len(shown) == SHARE_ROWS
