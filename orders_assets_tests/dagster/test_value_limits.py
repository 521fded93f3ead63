"""Sums at the contract's own limits through the command: every figure exact, nothing wraps.

A price has at most 14 digits before the point and 4 after, a quantity at most 18 digits: one
row's value has 32 digits, and two hundred such rows pass decimal128(38, 4), where Arrow's sums
wrapped to a negative value in by_security.csv, summary.json and the terminal.
"""
import csv
import json
from decimal import Decimal, localcontext

import pyarrow.parquet as pq

from orders_assets.cli.main import main

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"
PRICE, QUANTITY = "99999999999999.9999", "9" * 18


def test_values_past_38_digits_are_exact_in_every_output_and_the_checks_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    lines = [f"{n},2025-03-03 10:{n % 60:02d}:00,BHP,P{n % 3},B,CENTRE_POINT,{PRICE},{QUANTITY}" for n in range(200)]
    lines.append("200,2025-03-03 11:00:00,RIO,P1,S,CENTRE_POINT,2.5,4")
    (landing / "limits.csv").write_text("\n".join([HEADER, *lines]) + "\n")

    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    with localcontext() as exact:
        exact.prec = 80
        bhp = Decimal(PRICE) * int(QUANTITY) * 200
        total = bhp + Decimal("10.0000")
    assert bhp > Decimal(10) ** 34
    assert f"value {total:f}" in printed
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert Decimal(summary["value"]) == total and summary["quantity"] == 200 * int(QUANTITY) + 4
    with open(data / "reports" / "by_security.csv", newline="") as report:
        rows = {row["security_code"]: row for row in csv.DictReader(report)}
    assert Decimal(rows["BHP"]["value"]) == bhp and Decimal(rows["RIO"]["value"]) == Decimal("10")
    parquet = pq.read_table(data / "reports" / "by_security.parquet").to_pylist()
    assert [row["value"] for row in parquet] == [bhp, Decimal("10.0000")]
    by_participant = pq.read_table(data / "reports" / "by_participant.parquet")
    with localcontext() as exact:
        exact.prec = 80
        assert sum(by_participant.column("value").to_pylist()) == total
