"""Sanity checks of the real-data oracles (support/real_data_oracles.py) themselves.

Every figure is either a fact stated in a dataset's SOURCE.md or recounted here
with the csv / gzip / lzma modules and pyarrow, never taken from the oracle.
The real data lives beside the repo in ../shared/real-data and is never copied
into it; without that folder every test here is skipped.
"""

from __future__ import annotations

import csv
import gzip
import lzma
from collections import Counter
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from orders_assets_tests.support import real_data_oracles as oracles
from orders_assets_tests.support.real_data_compare import assert_reports_match
from orders_assets_tests.support.reference import size_bucket_labels

REAL_DATA = oracles.REAL_DATA

pytestmark = pytest.mark.skipif(
    not REAL_DATA.is_dir(),
    reason=f"real market data not found at {REAL_DATA} (kept outside the repo, in ../shared/real-data; "
           f"{oracles.REAL_DATA_ENV} names another folder)",
)

CME = REAL_DATA / "cme_es_mbo_databento"
BITSTAMP = REAL_DATA / "bitstamp_btcusd_orders_2015-05-01"
XETRA = REAL_DATA / "xetra_posttrade_2025-10-31T1354"
BINANCE = REAL_DATA / "binance_btcusdt_trades"
TARDIS_CSV = BINANCE / "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv"
SPOT_PARQUET = BINANCE / "binance_spot_BTCUSDT_trades_2021-01-08_head2001.parquet"
SNAPSHOT_FLAG = 32


@cache
def expected(folder: str) -> oracles.Expected:
    """Each oracle runs once per session; a missing dataset folder skips its tests."""
    if not (REAL_DATA / folder).is_dir():
        pytest.skip(f"dataset {folder} not found under {REAL_DATA}")
    return oracles.EXPECTED_BY_FOLDER[folder](REAL_DATA)


def csv_rows(path: Path) -> list[dict[str, str]]:
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def column(report: pd.DataFrame, name: str) -> list:
    return report[name].tolist()


# ------------------------------------------------------------ per dataset


def test_cme_counts_follow_source_facts():
    files = {p.name: csv_rows(p) for p in sorted(CME.glob("*_mbo.csv.gz"))}
    dec25 = files["ESH4_2023-12-25_mbo.csv.gz"]
    adds = [r for r in dec25 if r["action"] == "A"]
    # SOURCE.md: 29,216 adds on 2023-12-25, opening with the 8,725-row snapshot
    assert len(adds) == 29_216
    assert sum(int(r["flags"]) & SNAPSHOT_FLAG != 0 for r in adds) == 8_725
    assert {name: len(rows) for name, rows in files.items()} == {
        "ESH4_2023-12-24_mbo.csv.gz": 8_725,
        "ESH4_2023-12-25_mbo.csv.gz": 68_792,
        "ESM4_2024-05-08T000000-000002_mbo.csv.gz": 13_796,
    }
    live = {name: [r for r in rows if r["action"] == "A" and int(r["flags"]) & SNAPSHOT_FLAG == 0]
            for name, rows in files.items()}
    live_adds = [r for rows in live.values() for r in rows]
    assert len(live["ESH4_2023-12-24_mbo.csv.gz"]) == 0  # that file is only the snapshot

    got = expected("cme_es_mbo_databento")
    assert got.rows_read == 91_313  # README: 91,313 rows
    assert got.rows_rejected == 0
    assert got.rows_kept == len(live_adds) == 29_216 - 8_725 + len(live["ESM4_2024-05-08T000000-000002_mbo.csv.gz"])
    assert got.rows_not_orders == got.rows_filtered_out == 91_313 - len(live_adds)
    assert {n: c["rows_kept"] for n, c in got.per_file.items()} == {n: len(r) for n, r in live.items()}
    assert got.totals["quantity"] == sum(int(r["size"]) for r in live_adds)
    assert got.totals["value"] == sum(Decimal(r["price"]) * int(r["size"]) for r in live_adds)

    by_security = got.reports["by_security"]
    assert column(by_security, "security_code") == ["ESH4", "ESM4"]
    assert column(by_security, "orders") == [len(live["ESH4_2023-12-25_mbo.csv.gz"]),
                                             len(live["ESM4_2024-05-08T000000-000002_mbo.csv.gz"])]
    # Live ESH4 adds run 22:00-23:59 UTC = 16:00-17:59 CST (UTC-6) on 2023-12-25;
    # ESM4's 2 s at 2024-05-08 00:00 UTC are 19:00 CDT (UTC-5) on 2024-05-07.
    assert column(got.reports["by_date"], "trade_date") == ["2023-12-25", "2024-05-07"]
    assert column(got.reports["by_time_of_day"], "hour") == [16, 17, 19]
    assert column(got.reports["by_participant"], "participant_id") == ["UNKNOWN"]


def test_bitstamp_counts_follow_source_facts():
    rows = csv_rows(BITSTAMP / "orders.csv.xz")
    actions = Counter(r["action"] for r in rows)
    # SOURCE.md: 50,414 rows; created 24,894, deleted 24,918, changed 602
    assert len(rows) == 50_414
    assert actions == {"created": 24_894, "deleted": 24_918, "changed": 602}
    created = [r for r in rows if r["action"] == "created"]

    got = expected("bitstamp_btcusd_orders_2015-05-01")
    assert (got.rows_read, got.rows_not_orders, got.rows_rejected, got.rows_kept) == (50_414, 25_520, 0, 24_894)
    assert got.totals["quantity"] == sum(Decimal(r["volume"]) for r in created) / 100_000_000
    assert got.totals["value"] == sum(Decimal(r["price"]) * Decimal(r["volume"]) for r in created) / 100_000_000
    assert column(got.reports["by_security"], "security_code") == ["BTCUSD"]
    assert column(got.reports["by_date"], "trade_date") == ["2015-05-01"]
    # SOURCE.md: local time 00:00:04.518 to 05:04:42.957 UTC
    assert column(got.reports["by_time_of_day"], "hour") == [0, 1, 2, 3, 4, 5]


def test_xetra_counts_follow_source_facts():
    rows = csv_rows(XETRA / "DETR-posttrade-2025-10-31T13_54.csv")
    # SOURCE.md: 719 trades, 268 distinct ISINs, 13:54:00.042Z to 13:54:59.838Z
    assert len(rows) == 719
    assert len({r["isin"] for r in rows}) == 268

    got = expected("xetra_posttrade_2025-10-31T1354")
    assert (got.rows_read, got.rows_not_orders, got.rows_rejected, got.rows_kept) == (719, 0, 0, 719)
    assert got.totals["quantity"] == sum(Decimal(r["lastQty"]) for r in rows)
    assert got.totals["value"] == sum(Decimal(r["lastTrade"]) * Decimal(r["lastQty"]) for r in rows)
    by_security = got.reports["by_security"]
    assert len(by_security) == 268 and by_security["orders"].sum() == 719
    assert by_security.set_index("security_code")["orders"].to_dict() == Counter(r["isin"] for r in rows)
    # Berlin is on CET (UTC+1) after 2025-10-26, so 13:54Z is 14:54, inside 09:00-17:30
    assert column(got.reports["by_time_of_day"], "hour") == [14]
    assert column(got.reports["by_date"], "securities") == [268]
    assert got.partitions == 268


def test_binance_counts_follow_source_facts():
    tardis = csv_rows(TARDIS_CSV)
    spot_rows = pq.ParquetFile(SPOT_PARQUET).metadata.num_rows
    # SOURCE.md: 9,999 futures rows, 2,001 spot rows
    assert (len(tardis), spot_rows) == (9_999, 2_001)

    got = expected("binance_btcusdt_trades")
    assert (got.rows_read, got.rows_not_orders, got.rows_rejected, got.rows_kept) == (12_000, 0, 0, 12_000)
    by_date = got.reports["by_date"]
    assert column(by_date, "trade_date") == ["2020-02-22", "2021-01-08"]
    assert column(by_date, "orders") == [9_999, 2_001]
    assert by_date["quantity"].iloc[0] == sum(Decimal(r["amount"]) for r in tardis)
    assert by_date["value"].iloc[0] == sum(Decimal(r["price"]) * Decimal(r["amount"]) for r in tardis)
    # the spot quantities are float64: every one must land on at most 8 places
    spot_quantity = by_date["quantity"].iloc[1]
    assert -spot_quantity.normalize().as_tuple().exponent <= 8
    assert column(got.reports["by_security"], "security_code") == ["BTCUSDT"]


def test_float_rounding_and_timestamp_flooring():
    assert oracles._rounded(0.000052000000000000004, 8) == Decimal("0.00005200")
    assert oracles._rounded(39432.48, 4) == Decimal("39432.4800")
    assert oracles._rounded(0.125, 2) == Decimal("0.12")  # exactly half in binary: to even
    assert oracles._rounded(0.375, 2) == Decimal("0.38")
    assert oracles._epoch_us("1999", 10**9) == 1
    assert oracles._epoch_us("-1", 10**9) == -1  # floored, not truncated toward zero
    assert oracles._epoch_us("12a", 10**9) is None
    assert oracles._iso_utc_us("1970-01-01T00:00:01.000002999Z") == 1_000_002
    assert oracles._iso_utc_us("2025-13-01T00:00:00Z") is None


# ------------------------------------------------------------ all datasets

DATASETS = list(oracles.EXPECTED_BY_FOLDER)


@pytest.mark.parametrize("folder", DATASETS)
def test_counts_balance(folder):
    got = expected(folder)
    assert got.rows_read == got.rows_kept + got.rows_filtered_out + got.rows_rejected
    assert got.rows_filtered_out >= got.rows_not_orders
    for counts in got.per_file.values():
        assert counts["rows_read"] == counts["rows_kept"] + counts["rows_filtered_out"] + counts["rows_rejected"]
    assert sum(got.rejected_reasons.values()) == got.rows_rejected
    assert got.totals["orders"] == got.rows_kept


@pytest.mark.parametrize("folder", DATASETS)
def test_every_report_adds_up_to_the_totals(folder):
    got = expected(folder)
    assert set(got.reports) == set(oracles.REPORT_NAMES)
    for name, report in got.reports.items():
        assert sum(report["orders"]) == got.totals["orders"], name
        assert sum(Decimal(q) for q in report["quantity"]) == got.totals["quantity"], name
        assert sum(report["value"], Decimal(0)) == got.totals["value"], name
        filled = report[report["orders"] > 0]
        assert (filled["avg_quantity"] - filled["quantity"].astype(float) / filled["orders"]).abs().max() < 1e-9
        assert (filled["avg_value"] / (filled["value"].astype(float) / filled["orders"]) - 1).abs().max() < 1e-12


@pytest.mark.parametrize("folder", DATASETS)
def test_report_shapes_and_order(folder):
    got = expected(folder)
    for name, report in got.reports.items():
        keys, extras = oracles.REPORT_SHAPES[name]
        assert list(report.columns) == keys + ["orders", "quantity", "value", "avg_quantity", "avg_value"] + list(extras)
        if name != "by_order_size":
            key_tuples = list(report[keys].itertuples(index=False, name=None))
            assert key_tuples == sorted(set(key_tuples)), f"{name} not sorted ascending by unique key"
        for value in report.get("trade_date", []):
            date.fromisoformat(value)
        assert all(0 <= h <= 23 for h in report.get("hour", []))
        if got.spec.quantity_decimals == 0:
            assert report["quantity"].dtype == "int64"
        else:
            assert all(isinstance(q, Decimal) for q in report["quantity"])
        assert all(isinstance(v, Decimal) for v in report["value"])
    sizes = got.reports["by_order_size"]
    assert column(sizes, "size_bucket") == size_bucket_labels(oracles.SIZE_EDGES)
    empty = sizes[sizes["orders"] == 0]
    assert (empty["quantity"] == 0).all() and (empty["value"] == 0).all()
    assert empty["avg_quantity"].isna().all() and empty["avg_value"].isna().all()


# ------------------------------------------------------------ the comparison helper


def write_like_a_product(reports: dict[str, pd.DataFrame], target: Path, decimals: int) -> None:
    """CSV with quantities printed to ``decimals`` places; Parquet with floats."""
    target.mkdir(parents=True, exist_ok=True)
    for name, report in reports.items():
        text = report.copy()
        text["quantity"] = [f"{Decimal(q):.{decimals}f}" for q in text["quantity"]]
        text.to_csv(target / f"{name}.csv", index=False)
        native = report.astype({"value": "float64", "quantity": "float64"})
        native.to_parquet(target / f"{name}.parquet", index=False)


@pytest.mark.parametrize("folder", ["binance_btcusdt_trades", "xetra_posttrade_2025-10-31T1354"])
def test_assert_reports_match_accepts_equal_and_catches_differences(folder, tmp_path):
    got = expected(folder)
    decimals = got.spec.quantity_decimals
    write_like_a_product(got.reports, tmp_path, decimals)
    assert_reports_match(tmp_path, got, decimals)

    wrong_value = pd.read_csv(tmp_path / "by_date.csv", dtype=str)
    wrong_value.loc[0, "value"] = str(Decimal(wrong_value.loc[0, "value"]) * Decimal("1.000001"))
    wrong_value.to_csv(tmp_path / "by_date.csv", index=False)
    with pytest.raises(AssertionError, match=r"by_date\.csv row 0 value"):
        assert_reports_match(tmp_path, got, decimals)

    write_like_a_product(got.reports, tmp_path, decimals)
    wrong_quantity = pd.read_parquet(tmp_path / "by_security.parquet")
    wrong_quantity.loc[0, "quantity"] += 10.0 ** -decimals
    wrong_quantity.to_parquet(tmp_path / "by_security.parquet", index=False)
    with pytest.raises(AssertionError, match=r"by_security\.parquet row 0 quantity"):
        assert_reports_match(tmp_path, got, decimals)

    write_like_a_product(got.reports, tmp_path, decimals)
    (tmp_path / "by_order_size.csv").unlink()
    with pytest.raises(AssertionError, match="by_order_size.csv: missing"):
        assert_reports_match(tmp_path, got, decimals)
