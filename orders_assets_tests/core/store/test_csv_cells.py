"""The CSV cells written for people: a cell a spreadsheet would evaluate is written as text, and the
store reads every value back exactly."""
import pyarrow as pa

from orders_assets.core.store.csv_cells import formulas_escaped, formulas_unescaped

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "'quoted", "''", "'",
           "=", "BHP", "A=B", "x-1", "", "é=1", "\n=1", " =1"]


def owasp(value: str) -> str:
    """OWASP's rule, with an apostrophe escaped too so that the rule can be undone."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r", "'") else value


def test_every_text_cell_a_spreadsheet_would_evaluate_gets_an_apostrophe_and_reads_back_exactly():
    table = pa.table({"code": pa.array(HOSTILE + [None]), "big": pa.array(HOSTILE + [None], pa.large_string()),
                      "number": pa.array(range(-len(HOSTILE), 1), pa.int64())})
    written = formulas_escaped(table)
    assert written["code"].to_pylist() == [owasp(value) for value in HOSTILE] + [None]
    assert written["big"].to_pylist() == written["code"].to_pylist()
    assert written["number"] == table["number"]  # numbers are not text: -5 stays a number
    assert formulas_unescaped(written).equals(table)


def test_columns_with_nothing_to_escape_are_left_as_they_are():
    table = pa.table({"code": ["BHP", "CBA"], "blank": ["", ""]})
    assert formulas_escaped(table).equals(table) and formulas_unescaped(table).equals(table)
    empty = pa.table({"code": pa.array([], pa.string())})
    assert formulas_escaped(empty).equals(empty)
