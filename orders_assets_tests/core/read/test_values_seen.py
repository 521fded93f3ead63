"""The values of the filter's columns a file holds: the filter's own values counted exactly by both
paths (the compiled pass and the exact path), the others listed; bounded for a file of many values."""
import csv
from collections import Counter

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.read.values_seen import LISTED, added, filter_value_rows, listed_values
from orders_assets.core.store.order_store import OrderStore

FILTER = OrderFilter(order_types=("CENTER_POINT", "CENTRE_POINT", "SWEEP"), participants=("P001", "P999"))


def independent_counts(path, order_filter: OrderFilter) -> tuple[Counter, Counter]:
    """Order types of the rows the reference's rules call valid, participants of those of the
    filter's types in its session: by the csv module over the rows the quarantine does not hold."""
    from orders_assets_tests.support.reference import reference_reports

    reference = reference_reports([path], order_types=order_filter.order_types)
    rejected = reference.rejected_lines[path.name]
    types, participants = Counter(), Counter()
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if line in rejected:
                continue
            types[row["order_type"]] += 1
            clock = row["timestamp"][11:19]
            if row["order_type"] in order_filter.order_types and "10:00:00" <= clock < "16:00:00":
                participants[row["participant_id"]] += 1
    return types, participants


@pytest.mark.parametrize("engine", ["compiled", "exact"])
def test_both_paths_count_the_filters_values_exactly_and_list_the_others(tmp_path, engine):
    landing = tmp_path / "landing"
    report = generate_orders(landing / "orders.csv", rows=30_000, days=2, securities=8, seed=81, bad_rows=0.02)
    [source] = discover_sources(landing)
    settings = IngestSettings(order_filter=FILTER, block_bytes=256 << 10, engine=engine)
    manifest = ingest_source(ChunkedSource(source, settings), OrderStore(tmp_path / "data"))
    types, participants = independent_counts(report.path, FILTER)
    assert manifest.filter_value_rows == {
        "order_type": {"CENTER_POINT": 0, "CENTRE_POINT": types["CENTRE_POINT"], "SWEEP": types["SWEEP"]},
        "participant_id": {"P001": participants["P001"], "P999": 0}}
    assert types["CENTRE_POINT"] > 0 and participants["P001"] > 0
    assert set(manifest.values_seen["order_type"]) == set(types)  # every type of the file, on both paths
    assert manifest.values_seen["participant_id"] == [value for value, _ in sorted(
        participants.items(), key=lambda item: (-item[1], item[0]))]
    assert manifest.rows_filtered_order_type == sum(rows for kind, rows in types.items()
                                                    if kind not in FILTER.order_types)


def test_every_order_type_kept_lists_no_value_to_warn_about(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=2_000, days=1, securities=3, seed=82)
    [source] = discover_sources(landing)
    manifest = ingest_source(ChunkedSource(source, IngestSettings(order_filter=OrderFilter(order_types=()))),
                             OrderStore(tmp_path / "data"))
    assert manifest.filter_value_rows == {}


def test_a_column_of_many_values_stays_bounded_and_keeps_the_filters_values_exact():
    named = {"participant_id": ("RARE",)}
    total: dict = {}
    for block in range(30):
        counts = {f"P{block}_{index}": index + 1 for index in range(200)}
        counts["RARE"] = 1
        total = added(total, {"participant_id": counts}, named)
        assert len(total["participant_id"]) <= 2 * LISTED + 1
    assert filter_value_rows(total, named) == {"participant_id": {"RARE": 30}}
    listed = listed_values(total, named)["participant_id"]
    assert len(listed) == LISTED + 1 and "RARE" in listed and listed[0].endswith("_199")
