"""Self-test of the independent reference implementation (support/reference.py).

Two tiny files are written below; every expected figure is a literal worked
out by hand in the comments, so this test does not trust support/reference.py for any
number it checks.

Sydney in March 2024 is on daylight time, AEDT = UTC+11 (DST ends 7 Apr 2024).
"""

from __future__ import annotations

import gzip
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from orders_assets_tests.support.reference import reference_reports, size_bucket_labels

# a.csv: canonical column order plus an extra column (venue), plain CSV.
#  line  row  what                                           outcome
#  2     A1   10:30 CENTRE_POINT 10.5 x 100 = 1050            kept  <10k      h10
#  3     A2   LIMIT                                           filtered (type)
#  4     A3   09:59:59.999                                    filtered (time)
#  5     A4   10:00:00 exactly, BLOCK, 100 x 100 = 10000      kept  10k-50k   h10
#  6     A5   15:59:59.999999, 1000.0000 x 1000 = 1000000     kept  >=1m      h15
#  7     A6   16:00:00 exactly                                filtered (time)
#  8          blank line: skipped, not counted
#  9     A7   00:30+00:00 -> 11:30 AEDT, 9999.9999 x 1        kept  <10k      h11
#  10-11 A8   23:30Z on 03-04 -> 2024-03-05 10:30 AEDT,       kept  50k-200k  h10
#             200 x 250 = 50000; quoted venue spans 2 lines
#  12    A9   side X                                          rejected (line 12)
A_CSV = (
    "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity,venue\n"
    "A1,2024-03-04 10:30:00,BHP,P1,B,CENTRE_POINT,10.5,100,ASX\n"
    "A2,2024-03-04 11:00:00,BHP,P1,S,LIMIT,10,100,ASX\n"
    "A3,2024-03-04 09:59:59.999,BHP,P1,B,CENTRE_POINT,10,100,ASX\n"
    "A4,2024-03-04 10:00:00,BHP,P2,S,CENTRE_POINT_BLOCK,100,100,ASX\n"
    "A5,2024-03-04 15:59:59.999999,CBA,P1,B,CENTRE_POINT,1000.0000,1000,ASX\n"
    "A6,2024-03-04 16:00:00,CBA,P1,B,CENTRE_POINT,10,100,ASX\n"
    "\n"
    "A7,2024-03-04T00:30:00+00:00,CBA,P2,S,CENTRE_POINT,9999.9999,1,ASX\n"
    'A8,2024-03-04T23:30:00Z,BHP,P1,B,CENTRE_POINT_BLOCK,200,250,"ASX\n'
    'CXA"\n'
    "A9,2024-03-04 12:00:00,BHP,P1,X,CENTRE_POINT,10,100,ASX\n"
)

# b.csv.gz: different column order (columns are found by header name), gzip.
#  line  row  what                                           outcome
#  2     B1   14:15 CENTRE_POINT 100 x 2000 = 200000 (03-05)  kept  200k-1m   h14
#  3     B2   7 fields, header has 8                          rejected rule 1
#  4     B3   participant_id empty                            rejected rule 2
#  5     B4   timestamp without seconds                       rejected rule 3
#  6     B5   month 13                                        rejected rule 3
#  7     B6   price 1.23456 (5 decimals)                      rejected rule 4
#  8     B7   price -1                                        rejected rule 4
#  9     B8   price 1e3 (exponent)                            rejected rule 4
#  10    B9   quantity 0                                      rejected rule 5
#  11    B10  quantity 1.5                                    rejected rule 5
#  12    B11  side b (lower case)                             rejected rule 6
#  13         blank line: skipped, not counted
#  14    B12  SWEEP, quantity +5 (valid)                      filtered (type)
#  15    B13  quantity -3                                     rejected rule 5
B_CSV = (
    "timestamp,order_id,security_code,participant_id,side,order_type,quantity,price\n"
    "2024-03-05 14:15:00,B1,CBA,P3,B,CENTRE_POINT,2000,100\n"
    "2024-03-05 14:15:00,B2,CBA,P3,B,CENTRE_POINT,2000\n"
    "2024-03-05 14:15:00,B3,CBA,,B,CENTRE_POINT,2000,100\n"
    "2024-03-05 14:15,B4,CBA,P3,B,CENTRE_POINT,2000,100\n"
    "2024-13-05 14:15:00,B5,CBA,P3,B,CENTRE_POINT,2000,100\n"
    "2024-03-05 14:15:00,B6,CBA,P3,B,CENTRE_POINT,10,1.23456\n"
    "2024-03-05 14:15:00,B7,CBA,P3,B,CENTRE_POINT,10,-1\n"
    "2024-03-05 14:15:00,B8,CBA,P3,B,CENTRE_POINT,10,1e3\n"
    "2024-03-05 14:15:00,B9,CBA,P3,B,CENTRE_POINT,0,100\n"
    "2024-03-05 14:15:00,B10,CBA,P3,B,CENTRE_POINT,1.5,100\n"
    "2024-03-05 14:15:00,B11,CBA,P3,b,CENTRE_POINT,10,100\n"
    "\n"
    "2024-03-05 14:30:00,B12,CBA,P3,S,SWEEP,+5,100\n"
    "2024-03-05 14:45:00,B13,CBA,P1,S,CENTRE_POINT,-3,100\n"
)

METRICS = ["orders", "quantity", "value", "avg_quantity", "avg_value"]
NAN = float("nan")


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    a = tmp_path / "a.csv"
    a.write_text(A_CSV, newline="")
    b = tmp_path / "b.csv.gz"
    with gzip.open(b, "wt", newline="") as handle:
        handle.write(B_CSV)
    return [a, b]


def frame(columns: list[str], rows: list[tuple], ints: list[str]) -> pd.DataFrame:
    """Expected report from literal rows, with the dtypes the reference uses."""
    df = pd.DataFrame.from_records(rows, columns=columns)
    df = df.astype({c: "int64" for c in ints})
    return df.astype({c: "float64" for c in ("value", "avg_quantity", "avg_value")})


def check(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pdt.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-12)


# Kept rows (from the tables above):
#   A1 BHP P1 2024-03-04 h10 q100  v1050        <10k
#   A4 BHP P2 2024-03-04 h10 q100  v10000       10k-50k
#   A5 CBA P1 2024-03-04 h15 q1000 v1000000     >=1m
#   A7 CBA P2 2024-03-04 h11 q1    v9999.9999   <10k
#   A8 BHP P1 2024-03-05 h10 q250  v50000       50k-200k
#   B1 CBA P3 2024-03-05 h14 q2000 v200000      200k-1m


def test_row_accounting(files):
    ref = reference_reports(files)
    # a.csv: 9 rows read (lines 2-7, 9, 10-11, 12) = 5 kept + 3 filtered + 1 rejected
    # b.csv.gz: 13 rows read (lines 2-12, 14, 15) = 1 kept + 1 filtered + 11 rejected
    assert (ref.rows_read, ref.rows_kept, ref.rows_filtered_out, ref.rows_rejected) == (22, 6, 4, 12)
    assert ref.rejected_lines == {"a.csv": {12}, "b.csv.gz": set(range(3, 13)) | {15}}
    for counts in ref.per_file.values():
        assert counts.rows_read == counts.rows_kept + counts.rows_filtered_out + counts.rows_rejected
    # (BHP, 03-04), (CBA, 03-04), (BHP, 03-05), (CBA, 03-05)
    assert ref.partitions == 4
    # quantity 100+100+1000+1+250+2000 = 3451
    # value 1050+10000+1000000+9999.9999+50000+200000 = 1271049.9999 (exact)
    assert ref.totals == {"orders": 6, "quantity": 3451, "value": Decimal("1271049.9999")}
    assert isinstance(ref.totals["value"], Decimal)


def test_by_security(files):
    # BHP: A1,A4,A8 -> 3, q450, v61050, avg 150, 20350, participants {P1,P2}
    # CBA: A5,A7,B1 -> 3, q3001, v1209999.9999, avg 3001/3, 1209999.9999/3, {P1,P2,P3}
    check(
        reference_reports(files).reports["by_security"],
        frame(
            ["security_code", *METRICS, "participants"],
            [
                ("BHP", 3, 450, 61050, 150, 20350, 2),
                ("CBA", 3, 3001, 1209999.9999, 3001 / 3, 403333.3333, 3),
            ],
            ["orders", "quantity", "participants"],
        ),
    )


def test_by_date(files):
    # 03-04: A1,A4,A5,A7 -> 4, q1201, v1021049.9999, avg 300.25, 255262.499975,
    #        securities {BHP,CBA}, participants {P1,P2}
    # 03-05: A8,B1 -> 2, q2250, v250000, avg 1125, 125000, {BHP,CBA}, {P1,P3}
    check(
        reference_reports(files).reports["by_date"],
        frame(
            ["trade_date", *METRICS, "securities", "participants"],
            [
                ("2024-03-04", 4, 1201, 1021049.9999, 300.25, 255262.499975, 2, 2),
                ("2024-03-05", 2, 2250, 250000, 1125, 125000, 2, 2),
            ],
            ["orders", "quantity", "securities", "participants"],
        ),
    )


def test_by_participant(files):
    # P1: A1,A5,A8 -> 3, q1350, v1051050, avg 450, 350350, {BHP,CBA}
    # P2: A4,A7    -> 2, q101, v19999.9999, avg 50.5, 9999.99995, {BHP,CBA}
    # P3: B1       -> 1, q2000, v200000, {CBA}
    check(
        reference_reports(files).reports["by_participant"],
        frame(
            ["participant_id", *METRICS, "securities"],
            [
                ("P1", 3, 1350, 1051050, 450, 350350, 2),
                ("P2", 2, 101, 19999.9999, 50.5, 9999.99995, 2),
                ("P3", 1, 2000, 200000, 2000, 200000, 1),
            ],
            ["orders", "quantity", "securities"],
        ),
    )


def test_by_time_of_day(files):
    # h10: A1,A4,A8 (A8 is 23:30Z -> 10:30 local) ; h11: A7 (00:30Z -> 11:30)
    # h14: B1 ; h15: A5
    check(
        reference_reports(files).reports["by_time_of_day"],
        frame(
            ["hour", *METRICS],
            [
                (10, 3, 450, 61050, 150, 20350),
                (11, 1, 1, 9999.9999, 1, 9999.9999),
                (14, 1, 2000, 200000, 2000, 200000),
                (15, 1, 1000, 1000000, 1000, 1000000),
            ],
            ["hour", "orders", "quantity"],
        ),
    )


def test_by_order_size_edges_inclusive_below(files):
    # Bucket order (not alphabetical). Edges belong to the bucket above:
    # 10000 -> 10k-50k, 50000 -> 50k-200k, 200000 -> 200k-1m, 1000000 -> >=1m;
    # 9999.9999 stays in <10k.
    # <10k: A1,A7 -> 2, q101, v11049.9999, avg 50.5, 5524.99995
    check(
        reference_reports(files).reports["by_order_size"],
        frame(
            ["size_bucket", *METRICS],
            [
                ("<10k", 2, 101, 11049.9999, 50.5, 5524.99995),
                ("10k-50k", 1, 100, 10000, 100, 10000),
                ("50k-200k", 1, 250, 50000, 250, 50000),
                ("200k-1m", 1, 2000, 200000, 2000, 200000),
                (">=1m", 1, 1000, 1000000, 1000, 1000000),
            ],
            ["orders", "quantity"],
        ),
    )


def test_timeseries(files):
    reports = reference_reports(files).reports
    # hourly: (03-04,10) A1,A4 ; (03-04,11) A7 ; (03-04,15) A5 ; (03-05,10) A8 ; (03-05,14) B1
    check(
        reports["timeseries_hourly"],
        frame(
            ["trade_date", "hour", *METRICS],
            [
                ("2024-03-04", 10, 2, 200, 11050, 100, 5525),
                ("2024-03-04", 11, 1, 1, 9999.9999, 1, 9999.9999),
                ("2024-03-04", 15, 1, 1000, 1000000, 1000, 1000000),
                ("2024-03-05", 10, 1, 250, 50000, 250, 50000),
                ("2024-03-05", 14, 1, 2000, 200000, 2000, 200000),
            ],
            ["hour", "orders", "quantity"],
        ),
    )
    # daily: (03-04,BHP) A1,A4 ; (03-04,CBA) A5,A7 ; (03-05,BHP) A8 ; (03-05,CBA) B1
    check(
        reports["timeseries_daily"],
        frame(
            ["trade_date", "security_code", *METRICS],
            [
                ("2024-03-04", "BHP", 2, 200, 11050, 100, 5525),
                ("2024-03-04", "CBA", 2, 1001, 1009999.9999, 500.5, 504999.99995),
                ("2024-03-05", "BHP", 1, 250, 50000, 250, 50000),
                ("2024-03-05", "CBA", 1, 2000, 200000, 2000, 200000),
            ],
            ["orders", "quantity"],
        ),
    )


def test_empty_buckets_still_reported_with_nan_averages(files):
    # b.csv.gz alone keeps only B1 (200000 -> 200k-1m); the other four buckets
    # are present with zero counts and NaN averages.
    by_size = reference_reports([files[1]]).reports["by_order_size"]
    assert list(by_size["size_bucket"]) == ["<10k", "10k-50k", "50k-200k", "200k-1m", ">=1m"]
    assert list(by_size["orders"]) == [0, 0, 0, 1, 0]
    assert list(by_size["quantity"]) == [0, 0, 0, 2000, 0]
    assert list(by_size["value"]) == [0, 0, 0, 200000, 0]
    assert [math.isnan(v) for v in by_size["avg_value"]] == [True, True, True, False, True]
    assert [math.isnan(v) for v in by_size["avg_quantity"]] == [True, True, True, False, True]


def test_no_kept_rows_gives_empty_reports_with_columns(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n")
    ref = reference_reports([path])
    assert (ref.rows_read, ref.partitions, ref.totals["value"]) == (0, 0, Decimal(0))
    assert list(ref.reports["by_date"].columns) == [
        "trade_date", *METRICS, "securities", "participants"
    ]
    assert len(ref.reports["by_date"]) == 0
    assert len(ref.reports["by_order_size"]) == 5


def test_configurable_filter(files):
    # Only LIMIT/SWEEP, session 11:00-15:00: A2 (LIMIT 11:00) and B12 (SWEEP 14:30).
    ref = reference_reports(files, order_types=("LIMIT", "SWEEP"),
                            session_start="11:00:00", session_end="15:00:00")
    assert (ref.rows_kept, ref.rows_filtered_out, ref.rows_rejected) == (2, 8, 12)
    # A2 10 x 100 = 1000 ; B12 100 x 5 = 500
    assert ref.totals == {"orders": 2, "quantity": 105, "value": Decimal(1500)}


def test_bucket_labels_derived_from_edges():
    assert size_bucket_labels((10_000, 50_000, 200_000, 1_000_000)) == [
        "<10k", "10k-50k", "50k-200k", "200k-1m", ">=1m"
    ]
    assert size_bucket_labels((500, 2_500_000)) == ["<500", "500-2.5m", ">=2.5m"]


def test_missing_required_column_is_a_file_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("order_id,timestamp\nX,2024-03-04 10:00:00\n")
    with pytest.raises(ValueError):
        reference_reports([path])


def test_no_nan_sneaks_into_populated_reports(files):
    for name, report in reference_reports(files).reports.items():
        if name != "by_order_size":
            assert not report.isna().any().any(), name
