"""Which path read how many rows of each file: said by `orders-assets run` and summary.json, never silently."""
import json

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"


def test_the_run_and_the_summary_say_which_path_read_each_files_rows(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "clean.csv", rows=3_000, days=1, securities=3, seed=61)
    generate_orders(landing / "typed.parquet", rows=500, days=1, securities=2, seed=62)
    rows = [f"{n},2025-03-03 1{n % 6}:00:00{'+11:00' if n % 4 == 0 else ''},BHP,P1,B,CENTRE_POINT,1.5,{n + 1}"
            for n in range(40)]
    (landing / "offsets.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((data / "reports" / "summary.json").read_text())
    paths = {entry["source_file"]: (entry["rows_read_compiled"], entry["rows_read_exact"]) for entry in summary["files"]}
    assert paths == {"clean.csv": (3_000, 0), "typed.parquet": (0, 500), "offsets.csv": (30, 10)}
    assert (summary["rows_read_compiled"], summary["rows_read_exact"]) == (3_030, 510)
    assert "read by the compiled pass: 3,030 rows; by the exact path: 510 (offsets.csv 10, typed.parquet 500)" in printed
