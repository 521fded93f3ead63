"""The filter of the order set: boundaries, participants and the exchange time zone."""
import pyarrow as pa
import pytest

from orders_assets.core.read.filters import OrderFilter, kept_mask, with_local_fields
from orders_assets.core.read.timestamps import parse_timestamps
from orders_assets.core.read.validate import LOCAL_TIME


def table(stamps, types=None, participants=None):
    instants, local, bad = parse_timestamps(pa.chunked_array([pa.array(stamps)]), "Australia/Sydney")
    assert not any(bad.to_pylist())
    count = len(stamps)
    return pa.table({
        "timestamp": instants,
        "order_type": types or ["CENTRE_POINT"] * count,
        "participant_id": participants or ["P1"] * count,
        LOCAL_TIME: local,
    })


def test_session_start_is_inclusive_and_end_exclusive():
    rows = table(["2025-03-03 09:59:59.999999", "2025-03-03 10:00:00", "2025-03-03 15:59:59.999999",
                  "2025-03-03 16:00:00"])
    assert kept_mask(rows, OrderFilter()).to_pylist() == [False, True, True, False]


def test_order_types_and_participants_are_configurable():
    rows = table(["2025-03-03 11:00:00"] * 3, types=["LIMIT", "CENTRE_POINT_BLOCK", "CENTRE_POINT"],
                 participants=["P1", "P2", "P3"])
    assert kept_mask(rows, OrderFilter()).to_pylist() == [False, True, True]
    only_p3 = OrderFilter(participants=("P3",))
    assert kept_mask(rows, only_p3).to_pylist() == [False, False, True]
    limits = OrderFilter(order_types=("LIMIT",), session_start="10:30:00", session_end="11:00:01")
    assert kept_mask(rows, limits).to_pylist() == [True, False, False]


def test_trade_date_and_hour_are_exchange_local():
    rows = with_local_fields(table(["2025-03-02T23:30:00Z", "2025-06-30T14:00:00Z", "2025-06-30 09:15:00"]))
    assert [str(day) for day in rows["trade_date"].to_pylist()] == ["2025-03-03", "2025-07-01", "2025-06-30"]
    assert rows["hour"].to_pylist() == [10, 0, 9]
    assert LOCAL_TIME not in rows.column_names


def test_filter_fingerprint_follows_the_rule_and_bad_rules_are_refused():
    assert OrderFilter().fingerprint == OrderFilter().fingerprint
    assert OrderFilter().fingerprint != OrderFilter(session_end="16:10:00").fingerprint
    with pytest.raises(ValueError, match="session_start"):
        OrderFilter(session_start="16:00:00", session_end="10:00:00")
    # no order types named: every type (issue 44; it was refused), a rule of its own
    assert OrderFilter(order_types=()).fingerprint not in (OrderFilter().fingerprint,
                                                           OrderFilter(order_types=("LIMIT",)).fingerprint)


def test_a_time_zone_typo_is_refused_with_the_closest_names():
    with pytest.raises(ValueError, match="'America/NewYork' is not a time zone name; did you mean America/New_York"):
        OrderFilter(timezone="America/NewYork")
    with pytest.raises(ValueError, match="'Mars/Base' is not a time zone name .an IANA name"):
        OrderFilter(timezone="Mars/Base")
    assert OrderFilter(timezone="America/New_York").timezone == "America/New_York"
