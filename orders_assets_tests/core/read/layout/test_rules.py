"""The rules that pick a layout: by sub-folder or file name, first match wins, bad rules named."""
import pytest

from orders_assets.core.read.layout.model import CANONICAL, LayoutError
from orders_assets.core.read.layout.rules import layout_choice_from


def test_rules_choose_a_layout_by_sub_folder_or_file_name_first_match_wins():
    choice = layout_choice_from([{"layout": "databento_mbo", "folder": "cme"},
                                 {"layout": "generic_trades", "match": "*trades*.csv"}])
    assert choice.layout_for("cme/ESH4_trades.csv").name == "databento_mbo"
    assert choice.layout_for("x/btc_trades.csv").name == "generic_trades"
    assert choice.layout_for("orders.csv").name == CANONICAL
    with pytest.raises(LayoutError, match=r"layouts\[0\]: unknown layout 'nope'"):
        layout_choice_from([{"layout": "nope", "folder": "a"}])
    with pytest.raises(LayoutError, match="layouts\\[0\\]: neither 'folder' nor 'match'; give layout and one of folder"):
        layout_choice_from([{"layout": "lobster"}])
