"""Vendor files as they are published, through `orders-assets run`: B3 trades re-written by pandas
(float-written prices, HHMMSSmmm times beside a date column) and an exchange order log
(`08:30:01.100000` beside a YYYYMMDD order_date). Every row is accounted for, and the rows the
layout rounded are counted in summary.json and the run's output."""
import json
from decimal import Decimal

import pandas as pd

from orders_assets.cli.main import main

B3_LAYOUT = """\
name: b3_trades_pandas
columns: {order_id: CodigoIdentificadorNegocio, timestamp: HoraFechamento, security_code: CodigoInstrumento,
          price: PrecoNegocio, quantity: QuantidadeNegociada}
constants: {participant_id: UNKNOWN, side: N, order_type: TRADE}
rounding: {price: {decimals: 2}}
time: {format: hhmmssfff, date_column: DataNegocio, timezone: America/Sao_Paulo}
"""
ORDER_LOG_LAYOUT = """\
name: order_log
columns: {order_id: order_no, timestamp: order_time, security_code: symbol, side: side, price: price,
          quantity: volume}
constants: {participant_id: UNKNOWN, order_type: TRADE}
time: {format: '%H:%M:%S.%f', date_column: order_date, date_format: '%Y%m%d'}
"""


def b3_trades() -> tuple[pd.DataFrame, list[Decimal]]:
    """B3 TradeIntraday columns, prices computed in float as pandas users do (cents x 0.01)."""
    cents = [3741, 3742, 2340, 3330, 3741, 1010, 2340, 3743]
    frame = pd.DataFrame({
        "DataReferencia": "2024-03-01", "CodigoInstrumento": ["PETR4", "VALE3"] * 4,
        "AcaoAtualizacao": 0, "PrecoNegocio": [c * 0.01 for c in cents], "QuantidadeNegociada": 100,
        "HoraFechamento": [100000004, 100001083, 110000000, 120000500, 153000250, 163000000, 95959999, 170000001],
        "CodigoIdentificadorNegocio": range(10, 90, 10), "TipoSessaoPregao": 1, "DataNegocio": "2024-03-01"})
    return frame, [Decimal(c).scaleb(-2) for c in cents]


def test_b3_trades_written_by_pandas_and_an_order_log_run_with_every_row_accounted_for(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    frame, prices = b3_trades()
    frame.to_csv(landing / "b3_trades_20240301.csv", index=False)
    written = pd.read_csv(landing / "b3_trades_20240301.csv", dtype=str)["PrecoNegocio"]
    float_written = sum(Decimal(text) != price for text, price in zip(written, prices))
    assert float_written >= 3, list(written)  # 37.410000000000004, 23.400000000000002, ...
    (landing / "order_log_20250303.csv").write_text(
        "order_date,order_time,order_no,symbol,side,price,volume\n"
        "20250303,10:30:01.100000,1,7203,B,2500.5,100\n"
        "20250303,11:00:00,2,7203,S,2501,200\n"
        "20250303,1100,3,7203,S,2501,200\n")
    (tmp_path / "b3.yaml").write_text(B3_LAYOUT)
    (tmp_path / "log.yaml").write_text(ORDER_LOG_LAYOUT)
    (tmp_path / "config.yaml").write_text(
        "timezone: America/Sao_Paulo\n"
        "filter: {order_types: [TRADE], session_start: '10:00:00', session_end: '17:00:00'}\n"
        "layouts: [{layout: b3.yaml, match: 'b3_*.csv'}, {layout: log.yaml, match: 'order_log_*.csv'}]\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(tmp_path / "config.yaml")]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((data / "reports" / "summary.json").read_text())
    files = {entry["source_file"]: entry for entry in summary["files"]}
    b3, log = files["b3_trades_20240301.csv"], files["order_log_20250303.csv"]
    in_session = [10 <= int(f"{time:09d}"[:2]) < 17 for time in frame["HoraFechamento"]]
    assert (b3["rows_read"], b3["rows_kept"], b3["rows_filtered_out"], b3["rows_rejected"]) == (
        8, sum(in_session), 8 - sum(in_session), 0)
    float_rendered = sum(Decimal(repr(float(value))) != price for value, price in zip(frame["PrecoNegocio"], prices))
    assert b3["rows_rounded"] == float_rendered == float_written
    assert (log["rows_read"], log["rows_kept"], log["rows_rejected"], log["rows_rounded"]) == (3, 2, 1, 0)
    assert summary["rows_rounded"] == float_written
    kept_value = sum(p * 100 for p, kept in zip(prices, in_session) if kept) + Decimal("2500.5") * 100 + 2501 * 200
    assert Decimal(summary["value"]) == kept_value
    assert f"rounded by their layout's rounding: {float_written:,} rows (b3_trades_20240301.csv {float_written})" \
        in printed
    assert "timestamp: not a time of day in the layout's format %H:%M:%S.%f" in \
        (data / "quarantine").joinpath(next(p.name for p in (data / "quarantine").iterdir())).read_text()
