"""Row rules: each rule rejects its row, with its line and raw text."""
import pytest

from orders_assets_tests.core.read.parsing import GOOD, HEADER, parse_text


@pytest.mark.parametrize(
    "bad_line, column",
    [
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,abc,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,-1.50,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.23456,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1e3,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,.5,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,0,NEW", "quantity"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,-5,NEW", "quantity"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,12x,NEW", "quantity"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10.5,NEW", "quantity"),
        ("2,2025-13-45 99:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "timestamp"),
        ("2,2025-02-30 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "timestamp"),
        ("2,2025-10-05 02:30:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "timestamp"),
        (",2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "order_id"),
        ("2,2025-03-03 10:00:00,,P1,B,CENTRE_POINT,1.5,10,NEW", "security_code"),
        ("2,2025-03-03 10:00:00,BHP,,B,CENTRE_POINT,1.5,10,NEW", "participant_id"),
        ("2,2025-03-03 10:00:00,BHP,P1,X,CENTRE_POINT,1.5,10,NEW", "side"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10", "field_count"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW,extra", "field_count"),
    ],
)
def test_each_rule_rejects_its_row_with_line_and_raw_text(tmp_path, bad_line, column):
    rows, rejects, read = parse_text(tmp_path, "\n".join([HEADER, GOOD, bad_line, GOOD]) + "\n")
    assert read == 3
    assert rows.num_rows == 2
    assert rejects.to_pylist() == [
        {"source_file": "orders.csv", "line": 3, "column": column, "reason": rejects["reason"][0].as_py(), "raw": bad_line}
    ]
    assert rows["source_line"].to_pylist() == [2, 4]
