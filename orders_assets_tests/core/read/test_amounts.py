"""Prices and quantities: prices become exact decimals."""
import pyarrow as pa

from orders_assets.core.read.amounts import decimal_prices
from orders_assets_tests.core.read.parsing import HEADER, parse_text


def test_prices_are_exact_decimals_and_extras_pass_through(tmp_path, ):
    rows, _, _ = parse_text(tmp_path, "\n".join([HEADER, "7,2025-03-03 10:00:00,BHP,P1,S,LIMIT,0.0001,3,AMEND"]) + "\n",
                            name="orders.csv.gz")
    prices = decimal_prices(rows)["price"]
    assert prices.type == pa.decimal128(18, 4)
    assert str(prices[0].as_py()) == "0.0001"
    assert rows["event"].to_pylist() == ["AMEND"]
