"""Loading layouts: every built-in by name, and `extends` (what a child inherits, removes and
may not contradict)."""
import re

import pytest

from orders_assets.core import schema
from orders_assets.core.read.layout.load import built_in_names, load_layout
from orders_assets.core.read.layout.model import CANONICAL, LayoutError


def test_every_built_in_layout_loads_and_canonical_is_always_there():
    assert {CANONICAL, "databento_mbo", "generic_trades", "lobster"} <= set(built_in_names())
    for name in built_in_names():
        assert load_layout(name).name == name


def test_a_layout_extends_another_and_null_removes_an_inherited_entry(tmp_path):
    (tmp_path / "child.yaml").write_text(
        "extends: generic_trades\nname: child\ncolumns: {order_id: id, side: null}\nconstants: {side: N}\n")
    child = load_layout(str(tmp_path / "child.yaml"))
    assert child.columns[schema.ORDER_ID] == "id" and child.columns[schema.PRICE] == "price"
    assert schema.SIDE not in child.columns and schema.SIDE not in child.values
    assert child.constants == {"order_type": "TRADE", "participant_id": "UNKNOWN", "side": "N"}


@pytest.mark.parametrize("child, expected", [
    ("column_names: null\nheader: false\n", "column_names: null means the file has a header line, but header is false"),
    ("header: true\n", "for a file with a header line, set column_names: null"),
    ("column_names: time\n", "column_names: a list of non-empty names"),
])
def test_a_header_variant_that_contradicts_itself_is_refused_with_the_fix(tmp_path, child, expected):
    (tmp_path / "child.yaml").write_text("extends: lobster\nname: child\n" + child)
    with pytest.raises(LayoutError, match=re.escape(expected)):
        load_layout(str(tmp_path / "child.yaml"))


FROM_TRADES_BY_NAME = ("extends: generic_trades\nname: by_name\ncolumns: {security_code: null}\n"
                       "file_name: {pattern: '^(?P<security_code>[a-z]+)_'}\n")


@pytest.mark.parametrize("child, file_name, expected", [
    ("values: {security_code: {bhp: BHP.AX}}\n", "bhp_1.csv", "BHP.AX"),
    ("case: {security_code: upper}\n", "cba_1.csv", "CBA"),
])
def test_a_child_layout_keeps_the_value_map_and_case_rule_of_a_file_name_field(tmp_path, child, file_name, expected):
    (tmp_path / "child.yaml").write_text(FROM_TRADES_BY_NAME + child)
    assert load_layout(str(tmp_path / "child.yaml")).file_fields(file_name) == {schema.SECURITY_CODE: expected}
