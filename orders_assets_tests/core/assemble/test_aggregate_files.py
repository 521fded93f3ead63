"""The dates' aggregate files follow the size edges: a change of edges rebuckets them from the date
files, alone or together with new files, and never leaves buckets of two sets of edges."""
import pyarrow.compute as pc
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble import aggregate_files
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.aggregate_files import load_partials, rebucket, stamped_edges
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.errors import AccountingError
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.conftest import assert_report_equals
from orders_assets_tests.support.reference import reference_reports

NEW_EDGES = (5_000, 20_000, 100_000)


def ingest(landing, store):
    for source in discover_sources(landing):
        if store.manifest(source.key) is None:
            ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))


def by_order_size(store):
    return build_report("by_order_size", load_partials(store), store.size_edges).to_pandas()


def expected_by_order_size(landing, edges):
    return reference_reports(sorted(landing.glob("*.csv")), size_edges=edges).reports["by_order_size"]


@pytest.fixture
def two_days(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    generate_orders(landing / "a.csv", rows=6_000, days=2, securities=6, seed=41)
    ingest(landing, OrderStore(data))
    return landing, data


def test_new_edges_alone_rebucket_every_date_from_its_order_set_and_the_report_is_whole(two_days):
    landing, data = two_days
    date_files = {path: path.stat().st_mtime_ns for path in (data / "orders").rglob("*.parquet")}
    store = OrderStore(data, size_edges=NEW_EDGES)
    assert pending_partitions(store) == []  # no partition is assembled again for a change of edges
    assert sorted(aggregate_files.dates_bucketed_otherwise(store, NEW_EDGES)) == ["2025-03-03", "2025-03-04"]
    assert rebucket(store, NEW_EDGES) == ["2025-03-03", "2025-03-04"]
    assert_report_equals(by_order_size(store), expected_by_order_size(landing, NEW_EDGES), "by_order_size")
    assert {path: path.stat().st_mtime_ns for path in date_files} == date_files  # the order sets untouched
    assert rebucket(store, NEW_EDGES) == []  # stamped: nothing left to do
    assert all(stamped_edges(path) == NEW_EDGES for path in (data / "aggregates").glob("*.parquet"))


def test_a_new_file_assembled_under_new_edges_rebuckets_the_rows_it_keeps_too(two_days):
    """The probe's case: edges changed together with a new file. The date's securities the new file
    does not touch keep their rows, and their buckets must follow the new edges too."""
    landing, data = two_days
    generate_orders(landing / "b.csv", rows=600, days=1, securities=2, seed=42)  # two securities of day one
    store = OrderStore(data, size_edges=NEW_EDGES)
    ingest(landing, store)
    assert aggregate_files.dates_bucketed_otherwise(store, NEW_EDGES) == ["2025-03-04"]  # day one is done
    rebucket(store, NEW_EDGES)
    report = by_order_size(store)
    assert_report_equals(report, expected_by_order_size(landing, NEW_EDGES), "by_order_size")
    by_security = build_report("by_security", load_partials(store), NEW_EDGES)
    assert report["orders"].sum() == pc.sum(by_security["orders"]).as_py()


def test_aggregates_bucketed_under_other_edges_never_reach_a_report_silently(two_days):
    _landing, data = two_days
    with pytest.raises(AccountingError, match="not buckets of size_edges"):
        build_report("by_order_size", load_partials(OrderStore(data)), NEW_EDGES)


def test_an_aggregate_file_without_a_stamp_is_rebucketed_once(two_days):
    """Files written by an earlier release carry no edges: nobody knows what they were bucketed under."""
    _landing, data = two_days
    store = OrderStore(data)
    for path in (data / "aggregates").glob("*.parquet"):
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(path).replace_schema_metadata(None), path)
        assert stamped_edges(path) is None
    assert len(rebucket(store, store.size_edges)) == 2 and rebucket(store, store.size_edges) == []


def test_an_aggregate_file_of_another_partials_version_is_rebuilt_from_its_order_set(two_days, monkeypatch):
    """What the partial aggregates hold is versioned: a file written under another version (an older
    release's grouping sets) is rebuilt from the date's published order set, never a source file, and
    the reports come out whole; files of the releases before the stamp hold version 1 and stay."""
    import pyarrow.parquet as pq

    landing, data = two_days
    store = OrderStore(data)
    paths = sorted((data / "aggregates").glob("*.parquet"))
    assert [aggregate_files.stamped_version(path) for path in paths] == [schema.PARTIALS_VERSION] * 2
    unstamped = pq.read_table(paths[0])
    pq.write_table(unstamped.replace_schema_metadata({aggregate_files.EDGES_KEY: b"[10000, 50000, 200000, 1000000]"}),
                   paths[0])
    assert aggregate_files.stamped_version(paths[0]) == 1 and rebucket(store, store.size_edges) == []
    older = pq.read_table(paths[1])
    pq.write_table(older.filter(pc.equal(older["grouping"], "participant")).replace_schema_metadata(
        {aggregate_files.EDGES_KEY: b"[10000, 50000, 200000, 1000000]", aggregate_files.VERSION_KEY: b"0"}), paths[1])
    date_files = {path: path.stat().st_mtime_ns for path in (data / "orders").rglob("*.parquet")}
    (landing / "a.csv").rename(landing / "gone.csv")  # no source file to read: the order sets must do
    assert rebucket(store, store.size_edges) == [paths[1].stem.removeprefix("trade_date=")]
    assert aggregate_files.stamped_version(paths[1]) == schema.PARTIALS_VERSION
    (landing / "gone.csv").rename(landing / "a.csv")
    assert_report_equals(by_order_size(store), expected_by_order_size(landing, store.size_edges), "by_order_size")
    assert {path: path.stat().st_mtime_ns for path in date_files} == date_files


def test_a_new_partials_version_makes_the_reports_stale_once(two_days, monkeypatch):
    _landing, data = two_days
    before = OrderStore(data).inputs_signature()
    monkeypatch.setattr("orders_assets.core.store.signature.PARTIALS_VERSION", 2)
    assert OrderStore(data).inputs_signature() != before


@pytest.mark.parametrize("edges, problem", [
    ([], "at least one"),
    ([10_000, 5_000], "not strictly ascending"),
    ([10_000, 10_000], "not strictly ascending"),
    ([0, 10], "above 0"),
    ([-5], "above 0"),
    ([1.5], "whole order value"),
    ([True], "whole order value"),
    (list(range(1, schema.MAX_SIZE_EDGES + 2)), f"at most {schema.MAX_SIZE_EDGES}"),
])
def test_edges_that_cannot_make_buckets_are_refused_with_the_fix(edges, problem):
    assert problem in schema.size_edges_problem(edges)


def test_up_to_the_most_edges_each_value_lands_in_the_bucket_its_label_names():
    """More than 127 edges wrapped the int8 bucket index: a 10,000 order landed in bucket 44-45."""
    edges = tuple(range(1, schema.MAX_SIZE_EDGES + 1))
    assert schema.size_edges_problem(list(edges)) is None
    import pyarrow as pa
    from decimal import Decimal

    from orders_assets.core.assemble.aggregate import size_buckets

    values = pa.chunked_array([pa.array([Decimal("0.5"), Decimal(44), Decimal(10_000)], schema.VALUE_TYPE)])
    assert size_buckets(values, edges).to_pylist() == ["<1", "44-45", f">={schema.MAX_SIZE_EDGES}"]
