"""Checking a layout document: every problem listed with its fix, and a headerless file's column names."""
import pytest

from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import LayoutError
from orders_assets_tests.core.read.layout.documents import TRADES


def test_a_bad_layout_lists_every_problem_with_its_fix():
    document = {"name": "bad", "colums": {}, "columns": {"order_id": "id", "price": "px", "timestamp": "t",
                                                          "quantity": "q", "side": "s", "order_type": "o"},
                "constants": {"side": "B"}, "price_scale": 3, "time": {"format": "julian", "timezone": "Mars/Base"},
                "values": {"participant_id": {"a": "b"}}, "file_name": {"pattern": "(?P<isin>x)"}}
    with pytest.raises(LayoutError) as raised:
        layout_from_document(document, "bad.yaml")
    message = str(raised.value)
    for expected in ("unknown key(s) colums", "security_code: say where it comes from",
                     "participant_id: say where it comes from", "side: comes from both columns and constants",
                     "price_scale: 3 is not a power of ten", "time.format: 'julian'", "'Mars/Base' is not an IANA",
                     "values.participant_id: only columns taken from the file", "unknown group(s) isin"):
        assert expected in message, expected
    assert message.startswith("bad.yaml: layout bad has 9 problem(s)")


def test_a_file_without_a_header_needs_its_column_names_and_uses_only_those():
    with pytest.raises(LayoutError, match="a file without a header needs the list"):
        layout_from_document({**TRADES, "header": False})
    with pytest.raises(LayoutError, match="column.s. sym are used but not in column_names"):
        layout_from_document({**TRADES, "header": False, "column_names": ["id", "ts", "side", "px", "qty"]})
