"""Re-sent and overlapping files under each overlap rule: a day re-sent corrected under another name,
a week over five daily files, a partial re-send; each rule's reports against the independent
computation, the accounting identity, re-planning on a change of rule, and byte-identical outputs
after switching rules and back."""
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from orders_assets.core.assemble.aggregate import exact_totals
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, overlap_problem, pending_partitions
from orders_assets.core.assemble.aggregate_files import load_partials
from orders_assets.core.assemble.overlap import drop_later_copies, overlap_totals
from orders_assets.core.store.overlap_rule import OverlapRule, file_order
from orders_assets.core.generate import generate_orders, generate_resend
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.header import SOURCE_FILE, SOURCE_LINE
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.conftest import assert_report_equals
from orders_assets_tests.support.overlap_reference import expected_file
from orders_assets_tests.support.reference import reference_reports

WEEK = tuple(date(2025, 3, day) for day in (3, 4, 5, 6, 7))
UNION, LATEST, DEDUP = OverlapRule(), OverlapRule("latest_per_date"), OverlapRule("dedup", ("order_id", "timestamp"))


def week_and_days(landing: Path) -> list[Path]:
    """A weekly file, and the five daily files of its days (each daily row is also in the week's)."""
    week = landing / "orders_week_20250303.csv"
    generate_orders(week, rows=3_000, days=5, securities=4, seed=11)
    days = []
    for day in WEEK:
        days.append(landing / f"orders_{day:%Y%m%d}.csv")
        generate_resend(week, days[-1], trade_dates=(day,))
    return [week, *days]


def corrected_day(landing: Path) -> list[Path]:
    """Two days, then the first re-sent corrected under a new name (200 quantities changed)."""
    first, second = landing / "orders_20250303.csv", landing / "orders_20250304.csv"
    generate_orders(first, rows=1_500, days=1, securities=4, seed=12)
    generate_orders(second, rows=1_500, days=1, securities=4, seed=13, start_date=date(2025, 3, 4))
    resent = landing / "orders_20250303_v2.csv"
    generate_resend(first, resent, corrected_rows=200, seed=1)
    return [first, second, resent]


def partial_resend(landing: Path) -> list[Path]:
    """A day, and a re-delivery of two of its securities."""
    day = landing / "orders_20250303.csv"
    generate_orders(day, rows=2_000, days=1, securities=4, seed=14)
    again = landing / "orders_20250303_part.csv"
    generate_resend(day, again, securities=("BHP", "CSL"))
    return [day, again]


def build(store: OrderStore, landing: Path) -> None:
    """Ingest every file not yet ingested, then assemble what is pending."""
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))


def reports_of(store: OrderStore) -> dict[str, pd.DataFrame]:
    partials = load_partials(store)
    return {name: build_report(name, partials).to_pandas() for name in REPORT_NAMES}


def assert_reports(store: OrderStore, expected: Path) -> None:
    reference = reference_reports([expected])
    for name, table in reports_of(store).items():
        if "trade_date" in table:
            table["trade_date"] = table["trade_date"].astype(str)
        assert_report_equals(table, reference.reports[name], name)


def kept(store: OrderStore) -> int:
    return sum(manifest.rows_kept for manifest in store.manifests())


def in_partitions(store: OrderStore) -> int:
    return sum(entry.rows for entry in store.catalog().values())


def totals(store: OrderStore):
    return overlap_totals(entry.overlap for entry in store.catalog().values())


@pytest.mark.parametrize("rule", [UNION, LATEST, DEDUP], ids=lambda rule: rule.kind)
def test_a_week_over_five_daily_files_under_each_rule(tmp_path, rule):
    landing = tmp_path / "landing"
    paths = week_and_days(landing)
    store = OrderStore(tmp_path / "data", overlap=rule)
    build(store, landing)
    assert_reports(store, expected_file(paths, rule.kind, rule.columns, tmp_path / "expected.csv"))
    found = totals(store)
    daily_kept = sum(manifest.rows_kept for manifest in store.manifests() if "week" not in manifest.source_key)
    # Every daily row is also in the week's file, which sorts after the daily ones (digits before text).
    assert found.rows_duplicated == daily_kept > 0
    assert [(pair.first_file, pair.second_file) for pair in found.pairs] == [
        (f"orders_{day:%Y%m%d}.csv", "orders_week_20250303.csv") for day in WEEK]
    assert all(pair.first_line_in_first >= 2 and pair.first_line_in_second >= 2 for pair in found.pairs)
    assert kept(store) == in_partitions(store) + found.rows_superseded + found.rows_deduplicated
    if rule.kind == "union":
        assert in_partitions(store) == kept(store)
    elif rule.kind == "latest_per_date":  # the week's file wins every day: the daily files are superseded
        assert found.rows_superseded == daily_kept and in_partitions(store) == kept(store) - daily_kept
    else:
        assert found.rows_deduplicated == daily_kept
        assert found.by_file["orders_week_20250303.csv"]["rows_deduplicated"] == daily_kept


def test_a_day_re_sent_corrected_under_a_new_name_replaces_the_day(tmp_path):
    landing = tmp_path / "landing"
    first, second, resent = corrected_day(landing)
    store = OrderStore(tmp_path / "data", overlap=LATEST)
    build(store, landing)
    assert_reports(store, expected_file([first, second, resent], "latest_per_date", out=tmp_path / "expected.csv"))
    found = totals(store)
    by_file = {manifest.source_key: manifest.rows_kept for manifest in store.manifests()}
    assert found.rows_superseded == by_file["orders_20250303.csv"]
    assert found.by_file["orders_20250303.csv"]["rows_superseded"] == by_file["orders_20250303.csv"]
    assert kept(store) == in_partitions(store) + found.rows_superseded
    # Detected under every rule: the re-send's rows equal the first file's but for the corrected ones.
    pair = found.pairs[0]
    assert (pair.first_file, pair.second_file) == ("orders_20250303.csv", "orders_20250303_v2.csv")
    assert by_file["orders_20250303.csv"] - 200 <= pair.rows < by_file["orders_20250303.csv"]


def test_a_partial_re_send_counts_once_under_dedup(tmp_path):
    landing = tmp_path / "landing"
    paths = partial_resend(landing)
    store = OrderStore(tmp_path / "data", overlap=DEDUP)
    build(store, landing)
    assert_reports(store, expected_file(paths, "dedup", DEDUP.columns, tmp_path / "expected.csv"))
    found = totals(store)
    partial_kept = next(m.rows_kept for m in store.manifests() if m.source_key == "orders_20250303_part.csv")
    assert found.rows_deduplicated == partial_kept > 0
    assert kept(store) == in_partitions(store) + found.rows_deduplicated
    assert {key[1] for key, entry in store.catalog().items() if entry.overlap} == {"BHP", "CSL"}


def date_file_bytes(store: OrderStore) -> dict[str, bytes]:
    files = sorted((store.output_root / "orders").glob("trade_date=*/orders.parquet"))
    aggregates = sorted(store.aggregates.glob("trade_date=*.parquet"))
    return {str(path): path.read_bytes() for path in [*files, *aggregates]}


def test_a_change_of_rule_re_plans_exactly_the_partitions_it_may_change_and_back_is_byte_identical(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    paths = corrected_day(landing)
    generate_resend(paths[1], landing / "orders_20250304_part.csv", securities=("BHP",))
    union = OrderStore(data)
    build(union, landing)
    first = date_file_bytes(union)
    shared = {key for key, entry in union.catalog().items() if overlap_totals([entry.overlap]).pairs}
    assert shared and pending_partitions(union) == []
    # dedup may change only the partitions more than one file touches
    assert set(pending_partitions(OrderStore(data, overlap=DEDUP))) == shared
    # latest_per_date changes every partition of a date more than one file touches
    dates = {key[0] for key in shared}
    assert set(pending_partitions(OrderStore(data, overlap=LATEST))) == {
        key for key in union.catalog() if key[0] in dates}
    for rule in (LATEST, DEDUP, UNION):
        build(OrderStore(data, overlap=rule), landing)
        assert pending_partitions(OrderStore(data, overlap=rule)) == []
    assert date_file_bytes(union) == first
    assert exact_totals(load_partials(union))["orders"] == kept(union)


def test_files_are_ordered_by_name_with_digit_runs_as_numbers():
    names = ["orders_20250303_v10.csv", "orders_20250303_v2.csv", "orders_20250303.csv", "orders_week.csv"]
    assert sorted(names, key=file_order) == ["orders_20250303.csv", "orders_20250303_v2.csv",
                                             "orders_20250303_v10.csv", "orders_week.csv"]


@pytest.mark.parametrize("kind, columns, problem", [
    ("newest", (), "not one of union, latest_per_date, dedup"),
    ("dedup", (), "needs its columns"),
    ("union", ("order_id",), "takes no columns"),
    ("dedup", ("order_id", "order_id"), "repeat"),
])
def test_a_rule_that_is_none_says_how_to_write_one(kind, columns, problem):
    with pytest.raises(ValueError, match=problem):
        OverlapRule(kind, columns)


def test_a_dedup_column_the_order_set_lacks_is_named_with_the_columns_there_are(tmp_path):
    from orders_assets.core.errors import InputError

    landing = tmp_path / "landing"
    partial_resend(landing)
    store = OrderStore(tmp_path / "data", overlap=OverlapRule("dedup", ("order_id", "ordr_time")))
    assert overlap_problem(store, store.manifests()) is None  # nothing ingested yet
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    problem = overlap_problem(store, store.manifests())
    assert problem.startswith("overlap: dedup column ordr_time is not a column of orders_20250303.csv's rows (they "
                              "are order_id, timestamp, security_code")
    assert "name columns every file has" in problem
    with pytest.raises(InputError, match=r"dedup column ordr_time is not a column of the order set \(they are "
                                         r"order_id, timestamp, security_code"):
        assemble_partitions(store, pending_partitions(store))  # the last guard, should a caller not ask first


def test_dedup_keeps_exactly_the_rows_of_no_earlier_file_whatever_their_order():
    """The later file's rows interleave with the earlier's: a copy, a new row, a copy; the kept rows
    are the earlier file's and the later file's new one, in their order (not the first rows given)."""
    rows = pa.table({
        "security_code": ["BHP", "BHP", "BHP", "CBA", "CBA", "CBA"],
        "order_id": ["1", "1", "9", "2", "2", "3"],
        "timestamp": pa.array([1, 1, 5, 2, 2, 3], pa.int64()),
        SOURCE_LINE: pa.array([2, 2, 3, 3, 4, 4], pa.int64()),
        SOURCE_FILE: ["day_1.csv", "day_2.csv", "day_2.csv", "day_1.csv", "day_2.csv", "day_1.csv"],
    })
    kept = drop_later_copies(rows, DEDUP)
    assert list(zip(kept["order_id"].to_pylist(), kept[SOURCE_FILE].to_pylist())) == [
        ("1", "day_1.csv"), ("9", "day_2.csv"), ("2", "day_1.csv"), ("3", "day_1.csv")]
