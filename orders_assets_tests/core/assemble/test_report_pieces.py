"""Reports built a date's partial aggregates at a time equal the reports of all of them at once,
and the independent computation, whatever the order and size of the parts."""
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble import aggregate_files, report_tables
from orders_assets.core.assemble.aggregate import combine_partials, exact_totals, partial_aggregates
from orders_assets.core.assemble.report_tables import ReportPieces, build_report
from orders_assets.core.assemble.aggregate_files import build_reports, each_date_partials, load_partials, \
    partial_totals
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.conftest import assert_report_equals
from orders_assets_tests.core.test_decimal_quantity import random_records, staged_rows
from orders_assets_tests.support.reference import reference_reports

EDGES = schema.DEFAULT_SIZE_EDGES


@pytest.fixture(scope="module")
def four_days(tmp_path_factory):
    root = tmp_path_factory.mktemp("pieces")
    landing = root / "landing"
    landing.mkdir()
    generate_orders(landing / "orders.csv", rows=20_000, days=4, securities=9, participants=30, seed=12)
    store = OrderStore(root / "data")
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))
    return store, reference_reports([landing / "orders.csv"])


@pytest.mark.parametrize("feed_rows, compact_rows", [(aggregate_files.FEED_ROWS, report_tables.COMPACT_ROWS), (1, 50)])
def test_reports_a_date_at_a_time_equal_the_reference(four_days, monkeypatch, feed_rows, compact_rows):
    """With (1, 50) each date is handed over alone and the gathered sums and pairs are reduced
    after nearly every date."""
    store, reference = four_days
    monkeypatch.setattr(report_tables, "COMPACT_ROWS", compact_rows)
    monkeypatch.setattr(aggregate_files, "FEED_ROWS", feed_rows)
    assert len(list(each_date_partials(store))) == 4
    built = build_reports(store, schema.REPORT_NAMES, EDGES)
    partials = load_partials(store)
    for name in schema.REPORT_NAMES:
        assert built[name].equals(build_report(name, partials, EDGES)), name
        assert_report_equals(built[name].to_pandas(), reference.reports[name], name)
    assert partial_totals(store) == exact_totals(partials)


def test_parts_of_whole_and_fractional_quantities_meet_exactly(monkeypatch):
    """Parts of other quantity decimals (an old store's dates beside new ones) and sums reduced on
    the way give the report of all the rows at once, to the last digit."""
    monkeypatch.setattr(report_tables, "COMPACT_ROWS", 10)
    parts = [partial_aggregates(staged_rows(random_records(0, seed=seed), 0), EDGES) for seed in (1, 2)]
    parts += [partial_aggregates(staged_rows(random_records(8, seed=seed), 8), EDGES) for seed in (3, 4)]
    whole = combine_partials(parts)
    for name in schema.REPORT_NAMES:
        pieces = ReportPieces(name)
        for part in parts:
            pieces.add(part)
        assert pieces.report(EDGES).equals(build_report(name, whole, EDGES)), name


def test_no_dates_give_empty_reports_and_zero_totals(tmp_path):
    store = OrderStore(tmp_path / "data")
    built = build_reports(store, schema.REPORT_NAMES, EDGES)
    assert all(built[name].num_rows == (len(EDGES) + 1 if name == "by_order_size" else 0) for name in built)
    assert partial_totals(store) == {"orders": 0, "quantity": 0, "value": 0}
