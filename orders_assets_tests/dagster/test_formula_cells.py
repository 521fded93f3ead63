"""Values a spreadsheet would evaluate (`=HYPERLINK(...)`, `+1`, `-2`, `@SUM(A1)`) as security codes,
participants, a file name and rejected rows' raw text, through the whole pipeline.

The CSV files written for people (reports/<name>.csv, quarantine/<file>.csv) hold them as text: a
cell that begins with = + - @ TAB CR or an apostrophe has an apostrophe put before it (README). The
Parquet reports, summary.json, the store's own reading of its quarantine and the UI's preview keep
them exactly. Expected values come from the test's own renaming of the generated file.
"""
import csv
import io
import json

import dagster as dg
import pyarrow.parquet as pq
import pytest

from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.support.markdown_view import markup, table_cells

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)"]
FORMULA_FILE = "=1+2.csv"


def as_written(value: str) -> str:
    """README's rule for the text cells of the CSV files written for people."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r", "'") else value


def csv_rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def formulas(tmp_path_factory):
    root = tmp_path_factory.mktemp("formulas")
    landing, data = root / "landing", root / "data"
    generated = generate_orders(root / "generated.csv", rows=8_000, days=2, securities=5, participants=6, seed=29)
    with open(generated.path, newline="") as source:
        header, *rows = list(csv.reader(source))
    security, participant = header.index("security_code"), header.index("participant_id")
    codes = dict(zip(sorted({row[security] for row in rows}), HOSTILE))
    participants = dict(zip(sorted({row[participant] for row in rows}), HOSTILE))
    for row in rows:
        row[security] = codes.get(row[security], row[security])
        row[participant] = participants.get(row[participant], row[participant])
    landing.mkdir()
    with open(landing / "orders.csv", "w", newline="") as target:
        csv.writer(target, lineterminator="\n").writerows([header, *rows])
    price = header.index("price")
    assert header[0] == "order_id"
    rejected = {}  # line -> raw text: order ids a spreadsheet would evaluate, first on their line
    for line, order_id in enumerate(["@SUM(A1)", "-2", "'quoted", "+1"], start=2):
        fields = [order_id, *rows[line][1:]]
        fields[price] = "not a price"
        text = io.StringIO()
        csv.writer(text, lineterminator="").writerow(fields)
        rejected[line] = text.getvalue()
    (landing / FORMULA_FILE).write_text(",".join(header) + "\n" + "\n".join(rejected.values()) + "\n")
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(settings, instance)
        preview = instance.get_latest_materialization_event(dg.AssetKey("by_security")).asset_materialization.metadata[
            "preview"].value
        key = dg.AssetCheckKey(dg.AssetKey("summary"), "rows_accounted_for")
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key].status.value
    yield {"data": data, "settings": settings, "outcome": outcome, "preview": preview, "check": check,
           "rejected": rejected}


def test_the_run_succeeds_and_the_store_reads_its_escaped_quarantine_back(formulas):
    assert formulas["outcome"].success and formulas["check"] == "SUCCEEDED"
    quarantined = formulas["settings"].store().quarantined(FORMULA_FILE).to_pylist()
    assert {row["line"]: row["raw"] for row in quarantined} == formulas["rejected"]
    assert {row["source_file"] for row in quarantined} == {FORMULA_FILE}
    summary = json.loads((formulas["data"] / "reports" / "summary.json").read_text())
    assert {entry["source_file"] for entry in summary["files"]} == {"orders.csv", FORMULA_FILE}


@pytest.mark.parametrize("name, column", [("by_security", "security_code"), ("timeseries_daily", "security_code"),
                                          ("by_participant", "participant_id")])
def test_report_csv_cells_are_written_as_text_and_the_parquet_keeps_the_values(formulas, name, column):
    reports = formulas["data"] / "reports"
    exact = pq.read_table(reports / f"{name}.parquet")[column].to_pylist()
    assert set(HOSTILE) <= set(exact)
    assert [row[column] for row in csv_rows(reports / f"{name}.csv")] == [as_written(value) for value in exact]


def test_quarantine_cells_are_written_as_text(formulas):
    [path] = [path for path in (formulas["data"] / "quarantine").glob("*.csv")
              if csv_rows(path)[0]["source_file"] == as_written(FORMULA_FILE)]
    cells = csv_rows(path)
    assert {row["source_file"] for row in cells} == {"'=1+2.csv"}
    assert {int(row["line"]): row["raw"] for row in cells} == {
        line: as_written(raw) for line, raw in formulas["rejected"].items()}
    assert {row["raw"][:2] for row in cells} == {"'@", "'-", "''", "'+"}


def test_the_preview_in_the_ui_shows_each_code_in_its_own_cell(formulas):
    table = pq.read_table(formulas["data"] / "reports" / "by_security.parquet")
    rows = table_cells(formulas["preview"])
    assert not markup(formulas["preview"])
    assert rows[0] == table.column_names and all(len(row) == table.num_columns for row in rows)
    assert [row[0] for row in rows[1:]] == table["security_code"].to_pylist()[:10]
