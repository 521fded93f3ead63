"""A layout's declared rounding of prices and quantities written through a binary float (pandas'
`23.400000000000002`): rounded only when the layout says so, only within the tolerance, counted."""
from decimal import Decimal

import pandas as pd
import pytest

from orders_assets.core import schema
from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import LayoutError
from orders_assets.core.read.parse import RowParser
from orders_assets_tests.core.read.layout.documents import TRADES
from orders_assets_tests.core.read.layout.test_layout import vendor_block

HEADER = ["id", "ts", "sym", "side", "px", "qty"]


def pandas_written(prices: list[float], quantities: list) -> str:
    """The rows as pandas writes them: each float by its shortest rendering (`23.400000000000002`)."""
    frame = pd.DataFrame({"id": range(1, len(prices) + 1), "ts": "2025-01-02T10:00:00Z", "sym": "PETR4",
                          "side": "B", "px": prices, "qty": quantities})
    return frame.to_csv(index=False, header=False)


def parsed(rounding: dict | None, text: str, decimals: int = 0):
    document = {**TRADES, **({"rounding": rounding} if rounding is not None else {})}
    return RowParser(HEADER, "trades.csv", "UTC", layout_from_document(document), decimals).parse(vendor_block(text))


def test_float_renderings_of_two_place_prices_are_rounded_and_counted_only_when_the_layout_says_so():
    prices = [0.1 * 234, 23.4, 0.1 + 0.2, 37.41, 1.1 * 3]  # 23.400000000000002, 23.4, 0.30000000000000004, ...
    text = pandas_written(prices, [100] * 5)
    assert "23.400000000000002" in text and "0.30000000000000004" in text
    intended = [Decimal("23.40"), Decimal("23.40"), Decimal("0.30"), Decimal("37.41"), Decimal("3.30")]
    float_written = sum(Decimal(repr(price)) != value for price, value in zip(prices, intended))

    unrounded = parsed(None, text)
    assert (unrounded.rows.num_rows, unrounded.rejects.num_rows, unrounded.rows_rounded) == (5 - float_written,
                                                                                             float_written, 0)
    assert set(unrounded.rejects["column"].to_pylist()) == {"price"}

    rounded = parsed({"price": {"decimals": 2}}, text)
    assert (rounded.rows.num_rows, rounded.rejects.num_rows, rounded.rows_rounded) == (5, 0, float_written)
    assert [Decimal(str(price)) for price in rounded.rows[schema.PRICE].to_pylist()] == intended


@pytest.mark.parametrize("price, rounding, outcome", [
    ("23.40000000000001", {"decimals": 2}, Decimal("23.40")),      # 1e-14 off: a float's noise
    ("23.4051", {"decimals": 2}, "price"),                          # 0.0049 off: a real 4-place price
    ("23.4051", {"decimals": 4}, Decimal("23.4051")),               # exact: not rounded
    ("5275.250000000001", {"tick": 0.25}, Decimal("5275.25")),      # an ES future's quarter-point tick
    ("5275.3", {"tick": 0.25}, "price"),
    ("23.41", {"decimals": 2, "tolerance": 0.02}, "layout"),        # a tolerance over half the step is refused
    ("23.404", {"decimals": 2, "tolerance": 0.0045}, Decimal("23.40")),
    ("2.3400000000000002e1", {"decimals": 2}, Decimal("23.40")),    # exponent form, as some writers give
    ("nan", {"decimals": 2}, "price"),
])
def test_a_value_is_rounded_only_within_the_tolerance_of_a_multiple_of_the_step(price, rounding, outcome):
    text = f"1,2025-01-02T10:00:00Z,PETR4,B,{price},100\n"
    if outcome == "layout":
        with pytest.raises(LayoutError, match="half the step"):
            parsed({"price": rounding}, text)
        return
    result = parsed({"price": rounding}, text)
    if outcome == "price":
        assert result.rejects["reason"].to_pylist()[0].startswith("price: ")
        assert result.rows.num_rows == 0
    else:
        assert result.rows[schema.PRICE].to_pylist() == [outcome]
        assert result.rows_rounded == int(Decimal(price) != outcome)


def test_float_written_fractional_quantities_round_to_the_declared_places():
    text = pandas_written([10.5, 10.5, 10.5], [0.1 + 0.2, 0.001, 1.0000000000000002e-05])
    result = parsed({"quantity": {"decimals": 8}}, text, decimals=8)
    assert [str(value) for value in result.rows[schema.QUANTITY].to_pylist()] == ["0.30000000", "0.00100000",
                                                                                  "0.00001000"]
    assert result.rows_rounded == 2


def test_a_rounded_row_that_is_rejected_for_another_reason_is_not_counted_as_rounded():
    text = "1,2025-01-02T10:00:00Z,PETR4,X,23.400000000000002,100\n2,2025-01-02T10:00:00Z,PETR4,S,23.400000000000002,1\n"
    result = parsed({"price": {"decimals": 2}}, text)
    assert (result.rows.num_rows, result.rejects["column"].to_pylist(), result.rows_rounded) == (1, ["side"], 1)


@pytest.mark.parametrize("rounding, problem", [
    ({"price": {"decimals": 5}}, "rounding.price.decimals: 5 is not a whole number from 0 to 4"),
    ({"price": {"tick": 0.00001}}, "rounding.price.tick"),
    ({"price": {"decimals": 2, "tick": 0.01}}, "give one of decimals"),
    ({"side": {"decimals": 2}}, "rounding.side: only price and quantity"),
    ({"quantity": {"decimals": 0, "tolerance": -1}}, "rounding.quantity.tolerance"),
])
def test_a_rounding_that_cannot_be_used_is_refused_with_its_fix(rounding, problem):
    with pytest.raises(LayoutError, match="rounding") as error:
        layout_from_document({**TRADES, "rounding": rounding})
    assert problem in str(error.value)


def test_a_layout_without_rounding_keeps_its_fingerprint():
    plain = layout_from_document(TRADES)
    assert plain.fingerprint == layout_from_document({**TRADES, "rounding": {}}).fingerprint
    assert plain.fingerprint != layout_from_document({**TRADES, "rounding": {"price": {"decimals": 2}}}).fingerprint
