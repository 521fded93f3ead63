"""One message per problem: a refused file is named once by `orders-assets run`, with its reason and
the fix and without its name twice; no Dagster log line repeats it; the page lists it."""
from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders

REASON = "missing required column(s) order_id, timestamp"


def test_a_refused_file_is_said_once_with_its_reason_and_the_page_lists_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "good.csv", rows=2_000, days=1, securities=3, seed=97)
    (landing / "bad.csv").write_text("a,b,c\n1,2,3\n")
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 1
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert printed.count(REASON) == 1 and " - ERROR - " not in printed and "Traceback" not in printed
    assert "REFUSED bad.csv: line 1: missing required column(s)" in printed and "bad.csv: bad.csv" not in printed
    assert "FAILED ingest_order_files" in printed
    assert "1 of 2 file(s) refused, the others were ingested: each named below with the reason" in printed
    page = (data / "reports" / "index.html").read_text()
    assert "Files not read" in page and "line 1: missing required column(s)" in page
