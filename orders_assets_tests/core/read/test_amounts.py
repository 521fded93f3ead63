"""Prices and quantities: prices become exact decimals."""
import pyarrow as pa

from orders_assets.core.read.amounts import decimal_prices, parse_quantities
from orders_assets_tests.core.read.parsing import HEADER, parse_text


def test_prices_are_exact_decimals_and_extras_pass_through(tmp_path, ):
    rows, _, _ = parse_text(tmp_path, "\n".join([HEADER, "7,2025-03-03 10:00:00,BHP,P1,S,LIMIT,0.0001,3,AMEND"]) + "\n",
                            name="orders.csv.gz")
    prices = decimal_prices(rows)["price"]
    assert prices.type == pa.decimal128(18, 4)
    assert str(prices[0].as_py()) == "0.0001"
    assert rows["event"].to_pylist() == ["AMEND"]


def test_a_block_with_a_bad_quantity_judges_every_other_value_as_alone():
    """The split a bad value causes (digits take the cast, the rest the pattern) changes no
    verdict: Unicode digits, a sign, leading zeros, 19 digits beside plain ones."""
    values = ["10", "５", "+7", "0000000000000000000012", "1234567890123456789", "12x", "", "999999999999999999"]
    together, bad_together = parse_quantities(pa.chunked_array([pa.array(values)]))
    for index, value in enumerate(values):
        alone, bad_alone = parse_quantities(pa.chunked_array([pa.array([value])]))
        assert (together[index].as_py(), bad_together[index].as_py()) == (alone[0].as_py(), bad_alone[0].as_py()), value
    assert together.to_pylist()[:4] == [10, None, 7, 12]
