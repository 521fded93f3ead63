"""The compiled partial aggregates against Arrow's, and against sums in Python's exact integers."""
import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import (
    GROUPING_COLUMN,
    PARTIAL_SCHEMA,
    arrow_partial_aggregates,
    partial_aggregates,
)
from orders_assets.core.assemble.assembly import contributions
from orders_assets.core.assemble.date_writer import staged_rows
from orders_assets.core.assemble.partial_kernel import compiled_partials
from orders_assets.core.assemble.sums import EXACT
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore

EDGES = schema.DEFAULT_SIZE_EDGES
KEYS = ["grouping", schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.HOUR, schema.SIZE_BUCKET]
LARGEST_PRICE = Decimal(10 ** 18 - 1).scaleb(-4)
"""The contract's largest price (14 digits, 4 places): its unscaled integer is 10^18 - 1."""


def compiled(rows: pa.Table) -> pa.Table | None:
    return compiled_partials(rows, EDGES, PARTIAL_SCHEMA, tuple(GROUPING_COLUMN))


def in_key_order(partials: pa.Table) -> pa.Table:
    return partials.sort_by([(key, "ascending") for key in KEYS])


def table(records: list[dict]) -> pa.Table:
    return pa.table({
        schema.TRADE_DATE: pa.array([record.get("trade_date", date(2025, 3, 3)) for record in records], pa.date32()),
        schema.SECURITY_CODE: pa.array([record["security"] for record in records], pa.string()),
        schema.PARTICIPANT_ID: pa.array([record["participant"] for record in records], pa.string()),
        schema.HOUR: pa.array([record["hour"] for record in records], pa.int8()),
        schema.PRICE: pa.array([record["price"] for record in records], pa.decimal128(18, 4)),
        schema.QUANTITY: pa.array([record["quantity"] for record in records], pa.int64()),
    })


def exact_partials(records: list[dict]) -> dict[tuple, tuple[int, int, Decimal]]:
    """Each grouping set's (orders, quantity, value) per key, in Python's integers and exact decimals
    (sums.EXACT: the default context would round past 28 digits)."""
    labels = schema.size_bucket_labels(EDGES)
    found: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0)])
    for record in records:
        value = EXACT.multiply(record["price"], Decimal(record["quantity"]))
        bucket = labels[sum(1 for edge in EDGES if value >= edge)]
        for grouping, key in (("participant", (record["participant"], None, None)),
                              ("hour", (None, record["hour"], None)), ("size", (None, None, bucket))):
            sums = found[(grouping, record["security"], *key)]
            sums[0] += 1
            sums[1] += record["quantity"]
            sums[2] = EXACT.add(sums[2], value)
    return {key: tuple(sums) for key, sums in found.items()}


def as_exact(partials: pa.Table) -> dict[tuple, tuple[int, int, Decimal]]:
    return {(row["grouping"], row[schema.SECURITY_CODE], row[schema.PARTICIPANT_ID], row[schema.HOUR],
             row[schema.SIZE_BUCKET]): (row["orders"], int(row["quantity"]), row["value"])
            for row in partials.to_pylist()}


@pytest.fixture(scope="module")
def generated_day(tmp_path_factory) -> pa.Table:
    """A generated day's kept rows (of 40,000 orders, 30 securities, 80 participants), as assembly reads them."""
    folder = tmp_path_factory.mktemp("kernel")
    generate_orders(folder / "landing" / "orders.csv", rows=40_000, days=1, securities=30, participants=80, seed=4)
    store = OrderStore(folder / "data")
    for source in discover_sources(folder / "landing"):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    found = contributions(store)
    return staged_rows(next(iter(found)).trade_date, [part for parts in found.values() for part in parts])


def test_generated_rows_give_arrows_partials(generated_day):
    assert generated_day.num_rows > 2_000
    result = compiled(generated_day)
    assert result is not None and result.schema == PARTIAL_SCHEMA
    assert in_key_order(result).equals(in_key_order(arrow_partial_aggregates(generated_day, EDGES)))
    assert in_key_order(partial_aggregates(generated_day, EDGES)).equals(in_key_order(result))


def test_sums_that_carry_past_64_bits_are_exact():
    rng = random.Random(9)
    records = [{"security": rng.choice("XYZ"), "participant": rng.choice(["P1", "P2"]), "hour": rng.randint(10, 16),
                "price": rng.choice([LARGEST_PRICE, Decimal("0.0001"), Decimal("9999.9999")]),
                "quantity": rng.choice([10 ** 18 - 1, 2 ** 62 + 1, 1, 4000])} for _ in range(60)]
    result = compiled(table(records))
    assert result is not None
    assert as_exact(result) == exact_partials(records)


def test_a_value_on_an_edge_is_in_the_bucket_above():
    records = [{"security": "A", "participant": "P1", "hour": 10, "price": Decimal("2.5"), "quantity": 4000},
               {"security": "A", "participant": "P1", "hour": 10, "price": Decimal("9999.9999"), "quantity": 1},
               {"security": "A", "participant": "P1", "hour": 10, "price": Decimal("0.0001"), "quantity": 10 ** 8 - 1},
               {"security": "A", "participant": "P1", "hour": 10, "price": Decimal("0.0001"), "quantity": 10 ** 10}]
    buckets = {row[schema.SIZE_BUCKET]: row["orders"] for row in compiled(table(records)).to_pylist()
               if row["grouping"] == "size"}
    assert buckets == {"<10k": 2, "10k-50k": 1, ">=1m": 1}


def test_a_sum_past_38_digits_is_left_to_arrow_which_keeps_it_exact():
    records = [{"security": "A", "participant": "P1", "hour": 10, "price": LARGEST_PRICE, "quantity": 10 ** 18 - 1}
               for _ in range(120)]
    rows = table(records)
    assert compiled(rows) is None
    partials = partial_aggregates(rows, EDGES)
    assert pa.types.is_decimal256(partials.schema.field("value").type)
    assert as_exact(partials) == exact_partials(records)


@pytest.mark.parametrize("change", ["two dates", "a null participant", "decimal quantities"])
def test_rows_the_pass_cannot_take_go_to_arrow(change):
    records = [{"security": "A", "participant": "P1", "hour": 10, "price": Decimal("1.5"), "quantity": 3},
               {"security": "B", "participant": "P2", "hour": 11, "price": Decimal("2"), "quantity": 5}]
    if change == "two dates":
        records[1]["trade_date"] = date(2025, 3, 4)
    rows = table(records)
    if change == "a null participant":
        rows = rows.set_column(2, schema.PARTICIPANT_ID, pa.array(["P1", None], pa.string()))
    if change == "decimal quantities":
        rows = rows.set_column(5, schema.QUANTITY, pa.array([Decimal(3), Decimal(5)], pa.decimal128(19, 8)))
    assert compiled(rows) is None
    assert partial_aggregates(rows, EDGES).equals(arrow_partial_aggregates(rows, EDGES))
