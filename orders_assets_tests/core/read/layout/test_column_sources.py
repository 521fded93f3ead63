"""Where a canonical column comes from: case rules and value maps only for text read from the file or its name."""
import re

import pytest

from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import LayoutError
from orders_assets_tests.core.read.layout.documents import NAMED_BY_FILE


@pytest.mark.parametrize("extra, expected", [
    ({"case": {"security_code": "title"}}, "case.security_code: 'title' is not one of upper, lower"),
    ({"case": "upper"}, "case: a mapping of canonical column: upper or lower"),
    ({"case": {"price": "upper"}}, "case.price: numbers and times are converted by scales and time"),
    ({"case": {"participant_id": "upper"}}, "case.participant_id: only columns taken from the file or its name"),
    ({"values": {"trade_date": {"x": "y"}},
      "file_name": {"pattern": r"^(?P<security_code>[a-z]+)_(?P<trade_date>\d+)"}},
     "values.trade_date: the file name's date is read with file_name.date_format"),
])
def test_a_bad_case_rule_or_value_map_of_a_file_name_field_is_refused_with_the_fix(extra, expected):
    with pytest.raises(LayoutError, match=re.escape(expected)):
        layout_from_document({**NAMED_BY_FILE, **extra})
