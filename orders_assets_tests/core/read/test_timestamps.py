"""Timestamps: offsets and UTC values become exchange time."""
import pyarrow.compute as pc

from orders_assets_tests.core.read.parsing import GOOD, HEADER, parse_text


def test_offsets_are_converted_to_exchange_time(tmp_path):
    utc = "5,2025-03-02T23:30:00Z,BHP,P1,B,CENTRE_POINT,1.5,10,NEW"
    offset = "6,2025-03-03T10:30:00+11:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW"
    rows, rejects, _ = parse_text(tmp_path, "\n".join([HEADER, GOOD, utc, offset]) + "\n")
    assert rejects.num_rows == 0
    local = pc.local_timestamp(rows["timestamp"]).to_pylist()
    assert [value.strftime("%Y-%m-%d %H:%M") for value in local] == [
        "2025-03-03 10:00", "2025-03-03 10:30", "2025-03-03 10:30"
    ]
