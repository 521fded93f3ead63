"""Report files: the CSV for spreadsheets with formula-safe text cells, the Parquet with the values
as they are, and the UI's preview with each value in its own cell."""
import csv
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from orders_assets.core.report.files import markdown_preview, write_report
from orders_assets_tests.support.markdown_view import markup, table_cells

CODES = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "'BHP", "A|B", "BHP"]


def by_security(codes: list[str]) -> pa.Table:
    count = len(codes)
    return pa.table({
        "security_code": pa.array(codes),
        "orders": pa.array(range(1, count + 1), pa.int64()),
        "quantity": pa.array([-5 + index for index in range(count)], pa.int64()),
        "value": pa.array([Decimal("-1234.5000") + index for index in range(count)], pa.decimal128(38, 4)),
        "avg_quantity": pa.array([-0.5] * count),
        "avg_value": pa.array([1.25] * count),
        "participants": pa.array([2] * count, pa.int64()),
    })


def test_the_csv_writes_formula_cells_as_text_and_the_parquet_keeps_the_values(tmp_path):
    table = by_security(CODES)
    paths = write_report(table, tmp_path, "by_security")
    with open(paths["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["security_code"] for row in rows] == [
        "'" + code if code[0] in "=+-@'" else code for code in CODES]
    assert [row["quantity"] for row in rows] == [str(-5 + index) for index in range(len(CODES))]  # numbers stay numbers
    assert rows[0]["value"] == "-1234.5000"
    assert pq.read_table(paths["parquet"]).equals(table)


def test_the_preview_shows_each_value_in_its_own_cell():
    table = by_security(CODES)
    preview = markdown_preview(table)
    rows = table_cells(preview)
    assert rows[0] == table.column_names and not markup(preview)
    assert [row[0] for row in rows[1:]] == CODES
    assert all(len(row) == table.num_columns for row in rows)
    assert [row[1] for row in rows[1:]] == [str(number) for number in range(1, len(CODES) + 1)]
