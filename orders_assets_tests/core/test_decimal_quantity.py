"""Fractional quantities (quantity_decimals d > 0) downstream of staging, checked against Python's decimal.

Staged rows hold quantity as int64 (whole units) or decimal128(19, d). Every figure here is
recomputed from the same rows with decimal.Decimal, never taken from the code under test.
"""
import random
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import combine_partials, order_values, exact_totals, json_amount, partial_aggregates
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.assemble.aggregate_files import load_partials, partial_totals
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.invariants import partition_problems, report_problems
from orders_assets.core.report.files import write_report
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.report.summary_build import build_summary

EDGES = schema.DEFAULT_SIZE_EDGES


def totals(partials):
    """The exact totals of the partials as summary.json holds them."""
    return {name: json_amount(amount) for name, amount in exact_totals(partials).items()}

EIGHT = Decimal("0.00000001")
HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"


# ---- staged-like rows and the independent reference ---------------------------------------------

def staged_rows(records: list[dict], decimals: int) -> pa.Table:
    """Rows as staging hands them to assembly: typed price and quantity, trade_date and hour."""
    quantity_type = pa.int64() if decimals == 0 else pa.decimal128(19, decimals)
    return pa.table(
        {
            "trade_date": pa.array([r["trade_date"] for r in records], pa.date32()),
            "security_code": pa.array([r["security_code"] for r in records], pa.string()),
            "participant_id": pa.array([r["participant_id"] for r in records], pa.string()),
            "hour": pa.array([r["hour"] for r in records], pa.int8()),
            "price": pa.array([r["price"] for r in records], pa.decimal128(18, 4)),
            "quantity": pa.array([r["quantity"] for r in records], quantity_type),
        }
    )


def random_records(decimals: int, count: int = 400, seed: int = 5) -> list[dict]:
    """Orders over 2 days, 3 securities, 4 participants; quantities from 1e-8 to 1e10 units, so a sum
    held in a binary float or rounded to fewer places would differ in its last digits."""
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        if decimals:
            quantity = Decimal(rng.randrange(1, 10 ** rng.randint(1, 18))).scaleb(-decimals)
        else:
            quantity = rng.randrange(1, 10 ** rng.randint(1, 9))
        records.append({
            "trade_date": date(2025, 3, rng.choice((3, 4))),
            "security_code": rng.choice(("BTC", "ETH", "SOL")),
            "participant_id": rng.choice(("P1", "P2", "P3", "P4")),
            "hour": rng.randint(10, 15),
            "price": Decimal(rng.randrange(1, 10 ** rng.randint(1, 9))).scaleb(-4),
            "quantity": quantity,
        })
    return records + boundary_records(decimals)


def boundary_records(decimals: int) -> list[dict]:
    """Orders whose value is exactly on a size edge or a hair below it."""
    base = {"trade_date": date(2025, 3, 3), "security_code": "BTC", "participant_id": "P1", "hour": 10}
    if decimals:
        return [{**base, "price": Decimal("2.5"), "quantity": Decimal("4000")},
                {**base, "price": Decimal("1"), "quantity": Decimal("9999.99999999")},
                {**base, "price": Decimal("0.0001"), "quantity": EIGHT}]
    return [{**base, "price": Decimal("2.5"), "quantity": 4000},
            {**base, "price": Decimal("0.0001"), "quantity": 1}]


def bucket_of(value: Decimal) -> str:
    """Size bucket: the number of edges at or below the value picks the label (lower-inclusive)."""
    return schema.size_bucket_labels(EDGES)[sum(1 for edge in EDGES if value >= edge)]


def reference_report(name: str, records: list[dict]) -> list[dict]:
    """The report computed row by row with Decimal: orders, exact sums, averages and distinct counts."""
    keys = schema.REPORT_KEYS[name]
    groups: dict[tuple, dict] = defaultdict(lambda: {"orders": 0, "quantity": Decimal(0), "value": Decimal(0),
                                                     "participant_id": set(), "security_code": set()})
    if name == "by_order_size":
        for label in schema.size_bucket_labels(EDGES):
            groups[(label,)]
    for record in records:
        value = record["price"] * record["quantity"]
        fields = {**record, "size_bucket": bucket_of(value)}
        group = groups[tuple(fields[key] for key in keys)]
        group["orders"] += 1
        group["quantity"] += record["quantity"]
        group["value"] += value
        group["participant_id"].add(record["participant_id"])
        group["security_code"].add(record["security_code"])
    rows = []
    for key, group in groups.items():
        orders = group["orders"]
        row = {**dict(zip(keys, key)), "orders": orders,
               "quantity": group["quantity"], "value": group["value"],
               "avg_quantity": float(group["quantity"] / orders) if orders else None,
               "avg_value": float(group["value"] / orders) if orders else None}
        for extra, counted in schema.REPORT_DISTINCT_COUNTS.get(name, {}).items():
            row[extra] = len(group[counted])
        rows.append(row)
    labels = schema.size_bucket_labels(EDGES)
    order = (lambda row: labels.index(row["size_bucket"])) if keys == ("size_bucket",) else \
        (lambda row: tuple(row[key] for key in keys))
    return sorted(rows, key=order)


def assert_report_matches(report: pa.Table, expected: list[dict]) -> None:
    """Every key, count and sum exactly; the float averages to their last bits or so."""
    got = report.to_pylist()
    assert [list(row) for row in got] == [list(row) for row in expected]
    for row, want in zip(got, expected):
        for column, wanted in want.items():
            if column.startswith("avg_") and wanted is not None:
                assert row[column] == pytest.approx(wanted, rel=1e-12), column
            else:
                assert row[column] == wanted, (column, row, want)


# ---- aggregates, reports, totals --------------------------------------------------------------------

def test_a_fractional_order_value_is_exact():
    rows = staged_rows([{"trade_date": date(2025, 3, 3), "security_code": "BTC", "participant_id": "P1",
                         "hour": 10, "price": Decimal("9682.12"), "quantity": Decimal("0.132")}], 8)
    values = order_values(rows)
    assert values.type == pa.decimal128(38, 12)
    assert values.to_pylist() == [Decimal("1278.03984")]


@pytest.mark.parametrize("decimals", [0, 8])
def test_every_report_from_combined_partials_equals_decimal_arithmetic(decimals):
    records = random_records(decimals)
    halves = [staged_rows(records[:250], decimals), staged_rows(records[250:], decimals)]
    combined = combine_partials(partial_aggregates(half, EDGES) for half in halves)
    for name in schema.REPORT_NAMES:
        report = build_report(name, combined, EDGES)
        assert_report_matches(report, reference_report(name, records))
        assert report.schema.field("quantity").type == (pa.int64() if decimals == 0 else pa.decimal128(38, 8))
        assert report.schema.field("value").type == pa.decimal128(38, 4 + decimals)


def test_size_buckets_of_fractional_orders_are_lower_inclusive():
    rows = staged_rows(boundary_records(8), 8)
    report = build_report("by_order_size", partial_aggregates(rows, EDGES), EDGES)
    assert dict(zip(report["size_bucket"].to_pylist(), report["orders"].to_pylist())) == {
        "<10k": 2, "10k-50k": 1, "50k-200k": 0, "200k-1m": 0, ">=1m": 0}
    empty = report.filter(pc.equal(report["orders"], 0))
    assert set(empty["quantity"].to_pylist()) == {Decimal(0)}
    assert set(empty["value"].to_pylist()) == {Decimal(0)}


@pytest.mark.parametrize("decimals", [0, 8])
def test_totals_are_exact_and_a_fractional_quantity_is_a_plain_decimal_string(decimals):
    records = random_records(decimals)
    result = totals(partial_aggregates(staged_rows(records, decimals), EDGES))
    quantity = sum((record["quantity"] for record in records), Decimal(0))
    value = sum((record["price"] * record["quantity"] for record in records), Decimal(0))
    expected_quantity = int(quantity) if decimals == 0 else f"{quantity:.8f}"
    expected_value = f"{value:.{4 + decimals}f}"
    assert result == {"orders": len(records), "quantity": expected_quantity, "value": expected_value}


def test_totals_of_a_single_smallest_order_are_not_in_scientific_notation():
    tiny = boundary_records(8)[-1:]
    assert totals(partial_aggregates(staged_rows(tiny, 8), EDGES)) == {
        "orders": 1, "quantity": "0.00000001", "value": "0.000000000001"}


def test_partials_of_whole_and_fractional_quantities_combine_exactly():
    whole, fractional = random_records(0, seed=1), random_records(8, seed=2)
    combined = combine_partials([partial_aggregates(staged_rows(whole, 0), EDGES),
                                 partial_aggregates(staged_rows(fractional, 8), EDGES)])
    assert combined.schema.field("quantity").type == pa.decimal128(38, 8)
    as_decimal = [{**record, "quantity": Decimal(record["quantity"])} for record in whole]
    assert_report_matches(build_report("by_participant", combined, EDGES),
                          reference_report("by_participant", as_decimal + fractional))


# ---- the assembly path: ingest, partitions, catalog, aggregates, report files ---------------------

FRACTIONAL_ORDERS = [  # (order id, day, time, security, price, quantity as the vendor wrote it)
    (1, 3, "10:00:00", "BTC", "9682.12", "0.132"),
    (2, 3, "10:30:00", "BTC", "9682.1234", "12345678901.12345678"),
    (3, 3, "11:00:00", "ETH", "0.0001", "0.00000001"),
    (4, 4, "12:00:00", "ETH", "2.5", "4000"),
    (5, 4, "15:59:59", "BTC", "99999.9999", "0.99999999"),
]


def write_orders(path: Path, orders) -> None:
    lines = [f"{order_id},2025-03-{day:02d} {clock},{security},P{order_id % 2},B,CENTRE_POINT,"
             f"{price},{quantity}"
             for order_id, day, clock, security, price, quantity in orders]
    path.write_text("\n".join([HEADER, *lines]) + "\n")


def ingest_and_assemble(landing: Path, store: OrderStore, decimals: int) -> None:
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings(quantity_decimals=decimals)), store)
    assemble_partitions(store, pending_partitions(store))


def order_records(orders) -> list[dict]:
    return [{"trade_date": date(2025, 3, day), "security_code": security,
             "participant_id": f"P{order_id % 2}",
             "hour": int(clock[:2]), "price": Decimal(price), "quantity": Decimal(quantity)}
            for order_id, day, clock, security, price, quantity in orders]


@pytest.fixture
def fractional_store(tmp_path) -> OrderStore:
    landing = tmp_path / "landing"
    landing.mkdir()
    write_orders(landing / "crypto.csv", FRACTIONAL_ORDERS)
    store = OrderStore(tmp_path / "data")
    ingest_and_assemble(landing, store, 8)
    partials = load_partials(store)
    for name in schema.REPORT_NAMES:
        write_report(build_report(name, partials), store.reports, name)
    return store


def test_partition_files_keep_each_fractional_quantity_exactly(fractional_store):
    table = fractional_store.read_partition(("2025-03-03", "BTC"))
    assert table.schema.field("quantity").type == pa.decimal128(19, 8)
    assert table["quantity"].to_pylist() == [Decimal("0.132"), Decimal("12345678901.12345678")]


def test_the_catalog_holds_each_partitions_exact_quantity_and_value(fractional_store):
    records = order_records(FRACTIONAL_ORDERS)
    expected = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for record in records:
        entry = expected[(record["trade_date"].isoformat(), record["security_code"])]
        entry[0] += 1
        entry[1] += record["quantity"]
        entry[2] += record["price"] * record["quantity"]
    catalog = fractional_store.catalog()
    assert pq.read_schema(fractional_store.catalog_file).field("quantity").type == pa.decimal128(38, 8)
    found = {key: [entry.rows, entry.quantity, Decimal(entry.value)] for key, entry in catalog.items()}
    assert found == {key: list(entry) for key, entry in expected.items()}
    assert catalog[("2025-03-03", "ETH")].value == "0.000000000001"


def test_reports_and_summary_of_assembled_fractional_orders_are_exact(fractional_store):
    records = order_records(FRACTIONAL_ORDERS)
    for name in schema.REPORT_NAMES:
        assert_report_matches(pq.read_table(fractional_store.reports / f"{name}.parquet"),
                              reference_report(name, records))
    document = build_summary(fractional_store, partial_totals(fractional_store)).to_json()
    quantity = sum(record["quantity"] for record in records)
    value = sum(record["price"] * record["quantity"] for record in records)
    found = (document["orders"], document["quantity"], document["value"])
    assert found == (5, f"{quantity:.8f}", f"{value:.12f}")
    assert report_problems(fractional_store) == [] and partition_problems(fractional_store) == []


def test_report_csv_reads_back_to_the_parquet_values_exactly(fractional_store):
    for name in schema.REPORT_NAMES:
        parquet = pq.read_table(fractional_store.reports / f"{name}.parquet")
        text = pacsv.read_csv(fractional_store.reports / f"{name}.csv",
                              convert_options=pacsv.ConvertOptions(column_types={"quantity": pa.string(),
                                                                                 "value": pa.string()}))
        for column in ("quantity", "value"):
            assert [Decimal(cell) for cell in text[column].to_pylist()] == parquet[column].to_pylist(), name


def test_a_partition_staged_under_two_settings_is_assembled_in_the_finer_type(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    whole = [(11, 3, "10:15:00", "BTC", "9682.12", "3"), (12, 4, "10:15:00", "SOL", "1.5", "7")]
    write_orders(landing / "a.csv", whole)
    ingest_and_assemble(landing, store, 0)
    assert store.read_partition(("2025-03-03", "BTC")).schema.field("quantity").type == pa.int64()
    write_orders(landing / "b.csv", FRACTIONAL_ORDERS[:1])
    ingest_source(ChunkedSource(discover_sources(landing)[1], IngestSettings(quantity_decimals=8)), store)
    assemble_partitions(store, pending_partitions(store))
    table = store.read_partition(("2025-03-03", "BTC"))
    assert table.schema.field("quantity").type == pa.decimal128(19, 8)
    assert table["quantity"].to_pylist() == [Decimal("0.132"), Decimal(3)]
    expected = reference_report("by_security", order_records(whole + FRACTIONAL_ORDERS[:1]))
    assert_report_matches(build_report("by_security", load_partials(store)), expected)


def test_going_back_to_whole_units_leaves_no_decimal_type_behind(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write_orders(landing / "a.csv", [(1, 3, "10:00:00", "BTC", "9682.12", "3"),
                                     (2, 3, "11:00:00", "ETH", "1.5", "7")])
    ingest_and_assemble(landing, store, 8)
    assert load_partials(store).schema.field("quantity").type == pa.decimal128(38, 8)
    ingest_and_assemble(landing, store, 0)
    partials = load_partials(store)
    # sums inside the engine are decimal128(38, 0) for whole units; a report's column is int64 again
    assert partials.schema.field("quantity").type == pa.decimal128(38, 0)
    assert pq.read_schema(store.catalog_file).field("quantity").type == pa.decimal128(38, 0)
    assert build_report("by_security", partials).schema.field("quantity").type == pa.int64()
    assert totals(partials) == {"orders": 2, "quantity": 10, "value": "29056.8600"}  # 29046.36 + 10.5


def test_a_report_whose_value_scale_differs_from_its_quantitys_is_caught(fractional_store):
    path = fractional_store.reports / "by_security.parquet"
    table = pq.read_table(path)
    pq.write_table(table.set_column(3, "value", table["value"].cast(pa.decimal128(38, 14))), path)
    assert report_problems(fractional_store) == [f"{path}: column value is decimal128(38, 14), expected "
                                                 "decimal128(38, 12) (quantities with 8 decimal places)"]
