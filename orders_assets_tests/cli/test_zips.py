"""Zips as vendors publish them, through `orders-assets run`: one zip per symbol and day under a folder
named for the symbol (a layout reads the symbol and date from the path), and canonical order files
zipped one to an archive or several, beside a gzip copy. Every row is accounted for per source, the
reports equal an independent computation over the CSVs before they were zipped, and a rerun with
nothing new does no work."""
import gzip
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import yaml

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.support.reference import reference_reports

TRADE_HEADER = "Time,Exchange,Symbol,Trade Volume,Trade Price,Sequence Number"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def docs_layout(name: str) -> str:
    """The layout docs/layouts.md gives as its example `name`, as written there."""
    return next(block for block in re.findall(r"```yaml\n(.*?)```", (DOCS / "layouts.md").read_text(), re.S)
                if block.startswith(f"name: {name}\n"))


def trade_rows(symbol: str, day: int, count: int) -> list[list[str]]:
    """Trades every 30 minutes from 09:00 (the first before the 09:30 open), as seconds after midnight."""
    return [[f"{9 * 3600 + 1800 * n + day}.125", "N", symbol.upper(), str(100 * (n + 1)), f"{30 + n}.{day:02d}",
             str(1000 * day + n)] for n in range(count)]


def zipped_trades(path: Path, rows: list[list[str]]) -> None:
    """A vendor's zip: the day's trades as <date>_trade.csv inside <date>_trade.zip, deflated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.stem + ".csv", "\n".join([TRADE_HEADER, *map(",".join, rows)]) + "\n")


def run(landing: Path, data: Path, config: Path | None = None) -> int:
    return main(["run", "--landing", str(landing), "--data", str(data)] + (["--config", str(config)] if config else []))


def test_a_folder_per_symbol_of_daily_trade_zips_is_read_with_the_symbol_and_date_from_the_path(tmp_path, capsys,
                                                                                                  monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    written = {}
    for symbol, day in (("aig", 7), ("aig", 8), ("bac", 7)):
        rows = trade_rows(symbol, day, count=16)  # 09:00 to 16:30: the 09:00 trade before the open, 16:00 on
        rows[5][4] = "31.5.1"  # a price that is no number: quarantined on line 7 (header line 1)
        key = f"{symbol}/201310{day:02d}_trade.zip"
        zipped_trades(landing / key, rows)
        written[key] = rows
    layout, config = tmp_path / "taq_like.yaml", tmp_path / "config.yaml"
    layout.write_text(docs_layout("taq_like_trades"))  # the docs' worked example, as a user copies it
    config.write_text(yaml.safe_dump({
        "timezone": "America/New_York", "layouts": [{"layout": str(layout), "match": "*_trade.zip"}],
        "filter": {"order_types": ["TRADE"], "session_start": "09:30:00", "session_end": "16:00:00"}}))
    assert run(landing, data, config) == 0
    printed = capsys.readouterr().out
    assert "matches no file" not in printed and "0 files" not in printed
    summary = json.loads((data / "reports" / "summary.json").read_text())
    files = {entry["source_file"]: entry for entry in summary["files"]}
    assert sorted(files) == sorted(written)
    for key, rows in written.items():
        in_session = sum(1 for n, row in enumerate(rows) if n != 5 and 9.5 * 3600 <= float(row[0]) < 16 * 3600)
        entry = files[key]
        assert (entry["rows_read"], entry["rows_kept"], entry["rows_rejected"]) == (16, in_session, 1)
        assert entry["rows_filtered_out"] == 16 - in_session - 1
        [rejected] = OrderStore(data).quarantined(key).to_pylist()
        assert (rejected["source_file"], rejected["line"], rejected["column"]) == (key, 7, "price")
    assert summary["rows_read"] == 48 and summary["rows_rejected"] == 3
    # the symbol from the folder (upper-cased by the layout), the date from the zip's name
    daily = read_report(data / "reports", "timeseries_daily", "csv")
    assert sorted(set(zip(daily["security_code"], daily["trade_date"].astype(str)))) == [
        ("AIG", "2013-10-07"), ("AIG", "2013-10-08"), ("BAC", "2013-10-07")]
    assert run(landing, data, config) == 0
    assert "no run launched" in capsys.readouterr().out


def test_zipped_order_files_one_or_several_to_an_archive_are_read_and_a_gzip_copy_is_found(tmp_path, capsys,
                                                                                             monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    plain, landing, data = tmp_path / "plain", tmp_path / "landing", tmp_path / "data"
    one = generate_orders(plain / "day1.csv", rows=3_000, days=1, securities=3, seed=71)
    first = generate_orders(plain / "day2.csv", rows=2_000, days=1, securities=3, seed=72, bad_rows=0.01,
                            start_date=date(2025, 3, 4))
    second = generate_orders(plain / "day3.csv", rows=1_000, days=1, securities=2, seed=73,
                             start_date=date(2025, 3, 5))
    landing.mkdir()
    with zipfile.ZipFile(landing / "day1.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(one.path, "exports/day1.csv")
    (landing / "day1_again.csv.gz").write_bytes(gzip.compress(one.path.read_bytes()))
    with zipfile.ZipFile(landing / "week.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(first.path, "2025-03-04/day2.csv")
        archive.write(second.path, "day3.csv")
        archive.writestr("README.txt", "the week's orders")
    assert run(landing, data) == 0
    printed = capsys.readouterr().out
    summary = json.loads((data / "reports" / "summary.json").read_text())
    files = {entry["source_file"]: entry for entry in summary["files"]}
    assert sorted(files) == ["day1.zip", "week.zip!2025-03-04/day2.csv", "week.zip!day3.csv"]
    skipped = {entry["source_file"]: entry["reason"] for entry in summary["skipped"]}
    assert skipped["day1_again.csv.gz"].startswith("a copy of day1.zip")
    assert skipped["week.zip!README.txt"].startswith("not an order file by name")
    reference = reference_reports([one.path, first.path, second.path])
    for key, plain_name in (("day1.zip", "day1.csv"), ("week.zip!2025-03-04/day2.csv", "day2.csv"),
                            ("week.zip!day3.csv", "day3.csv")):
        counts = reference.per_file[plain_name]
        assert (files[key]["rows_read"], files[key]["rows_kept"], files[key]["rows_filtered_out"],
                files[key]["rows_rejected"]) == (counts.rows_read, counts.rows_kept, counts.rows_filtered_out,
                                                 counts.rows_rejected)
    quarantined = OrderStore(data).quarantined("week.zip!2025-03-04/day2.csv").to_pylist()
    assert {row["source_file"] for row in quarantined} == {"week.zip!2025-03-04/day2.csv"}
    assert {row["line"] for row in quarantined} == reference.rejected_lines["day2.csv"] != set()
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "csv"), reference.reports[name], name)
    # a zipped canonical file is read by the compiled pass, as a gzipped one is; the run says so
    assert (files["day1.zip"]["rows_read_compiled"], files["week.zip!day3.csv"]["rows_read_compiled"]) == (3_000, 1_000)
    assert f"read by the compiled pass: {summary['rows_read_compiled']:,} rows" in printed
    assert run(landing, data) == 0
    assert "no run launched" in capsys.readouterr().out
