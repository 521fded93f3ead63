"""One Parquet file per trade date: what a reader of one partition gets, what a rewrite keeps, and
what a crash or a concurrent writer leaves."""
import multiprocessing
import os
import signal
from collections import Counter
from datetime import date
from decimal import Decimal

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from orders_assets.core.store import date_files

from orders_assets.core import schema
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.invariants import partition_problems
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.atomic import remove_orphan_temporaries
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.conftest import race_in_children
from orders_assets_tests.support.reference import reference_reports

DAY = date(2025, 3, 3)


def ingest_all(landing, store: OrderStore, only: str | None = None) -> None:
    """Ingest every source of the landing folder, or only the one named."""
    for source in discover_sources(landing):
        if only in (None, source.key):
            ingest_source(ChunkedSource(source, IngestSettings()), store)


def build(landing, store: OrderStore) -> None:
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))


def row_multiset(rows) -> Counter:
    """A partition's rows as the reference sees them: (security, participant, type, quantity, value, date, hour)."""
    return Counter(zip(rows["security_code"].to_pylist(), rows["participant_id"].to_pylist(),
                       rows["order_type"].to_pylist(), rows["quantity"].to_pylist(),
                       [price * quantity for price, quantity in zip(rows["price"].to_pylist(), rows["quantity"].to_pylist())],
                       rows["trade_date"].to_pylist(), rows["hour"].to_pylist()))


def reference_multiset(kept, key) -> Counter:
    return Counter((row.security_code, row.participant_id, row.order_type, row.quantity, row.value, row.trade_date, row.hour)
                   for row in kept if (row.trade_date.isoformat(), row.security_code) == key)


@pytest.fixture
def two_days(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "base.csv", rows=12_000, days=2, securities=6, seed=21, start_date=DAY, bad_rows=0.002)
    build(landing, store)
    return landing, store


def test_one_partition_read_back_equals_the_reference_rows_and_reads_only_its_row_groups(two_days):
    landing, store = two_days
    reference = reference_reports([landing / "base.csv"])
    catalog = store.catalog()
    assert len(catalog) == reference.partitions == 12
    for key in catalog:
        rows = store.read_partition(key)
        assert rows.num_rows == catalog[key].rows > 0
        assert row_multiset(rows) == reference_multiset(reference.kept, key), key
        timestamps = rows["timestamp"].to_pylist()
        assert timestamps == sorted(timestamps)
    assert list(index_of_day(store)) == sorted(index_of_day(store))


def index_of_day(store):
    return date_files.index_of(pq.read_metadata(store.date_file(DAY.isoformat())))


def test_row_groups_hold_whole_securities_with_disjoint_statistics(tmp_path, monkeypatch):
    """Row groups are packed with whole securities up to ROW_GROUP_ROWS; a larger security has its own;
    so the security_code statistics of the row groups are ordered ranges, and a reader prunes on them."""
    monkeypatch.setattr(date_files, "ROW_GROUP_ROWS", 300)
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "base.csv", rows=30_000, days=1, securities=25, seed=26, start_date=DAY)
    build(landing, store)
    path = store.date_file(DAY.isoformat())
    metadata = pq.read_metadata(path)
    index = date_files.index_of(metadata)
    column = metadata.schema.to_arrow_schema().names.index(schema.SECURITY_CODE)
    ranges = [(metadata.row_group(group).column(column).statistics.min,
               metadata.row_group(group).column(column).statistics.max) for group in range(metadata.num_row_groups)]
    assert all(ranges[group][1] <= ranges[group + 1][0] for group in range(len(ranges) - 1))
    large = [security for security, (_first, _groups, _offset, rows) in index.items() if rows > 300]
    packed = [security for security, (_first, _groups, _offset, rows) in index.items() if rows <= 300]
    assert large and packed
    for security in large:
        first, groups, offset, rows = index[security]
        assert offset == 0 and groups == -(-rows // 300)
        assert all(ranges[group] == (security, security) for group in range(first, first + groups))
    assert any(ranges[index[security][0]][0] != ranges[index[security][0]][1] for security in packed)
    assert all(metadata.row_group(group).num_rows <= 300 for group in range(metadata.num_row_groups))
    assert max(first + groups for first, groups, _offset, _rows in index.values()) == metadata.num_row_groups
    for security in index:
        rows = store.read_partition((DAY.isoformat(), security))
        assert set(rows["security_code"].to_pylist()) == {security} and rows.num_rows == index[security][3]
        assert pq.read_table(path, filters=[("security_code", "=", security)]).num_rows == rows.num_rows


def test_the_folder_reads_as_one_hive_dataset_with_trade_date_from_the_folder(two_days):
    _landing, store = two_days
    dataset = ds.dataset(store.orders, format="parquet", partitioning="hive")
    assert dataset.count_rows() == sum(entry.rows for entry in store.catalog().values())
    key = sorted(store.catalog())[3]
    one = dataset.to_table(filter=(ds.field("trade_date") == key[0]) & (ds.field("security_code") == key[1]))
    assert one.num_rows == store.read_partition(key).num_rows
    assert sorted(one["order_id"].to_pylist()) == sorted(store.read_partition(key)["order_id"].to_pylist())


def test_a_rematerialized_partition_leaves_the_dates_other_partitions_identical(two_days):
    _landing, store = two_days
    keys = sorted(key for key in store.catalog() if key[0] == DAY.isoformat())
    before = {key: store.read_partition(key) for key in keys}
    file_before = store.date_file(DAY.isoformat()).read_bytes()
    [part] = assemble_partitions(store, [keys[2]])
    assert part.key == keys[2] and part.rows == before[keys[2]].num_rows
    assert {key: store.read_partition(key) for key in keys} == before
    assert store.date_file(DAY.isoformat()).read_bytes() == file_before  # the same rows give the same bytes
    assert partition_problems(store) == []


def test_a_corrected_file_touching_two_securities_of_a_date_changes_exactly_those(two_days):
    landing, store = two_days
    amend = generate_orders(landing / "amend.csv", rows=600, days=1, securities=2, seed=22, start_date=DAY)
    touched = {(DAY.isoformat(), code) for code in amend.securities}
    ingest_all(landing, store, "amend.csv")
    assert set(pending_partitions(store)) == touched
    assemble_partitions(store, pending_partitions(store))
    before = {key: store.read_partition(key) for key in store.catalog()}

    generate_orders(landing / "amend.csv", rows=900, days=1, securities=2, seed=23, start_date=DAY)  # the correction
    os.utime(landing / "amend.csv", ns=(1, 1))
    ingest_all(landing, store, "amend.csv")
    assert set(pending_partitions(store)) == touched
    assemble_partitions(store, pending_partitions(store))
    after = {key: store.read_partition(key) for key in store.catalog()}
    assert {key for key in after if after[key] != before[key]} == touched
    reference = reference_reports([landing / "base.csv", landing / "amend.csv"])
    for key in touched:
        assert row_multiset(after[key]) == reference_multiset(reference.kept, key)
    assert partition_problems(store) == []


def _assemble_one(root: str, key, start) -> None:
    start.wait(30)
    assemble_partitions(OrderStore(root), [key])


def test_two_concurrent_materializations_of_one_date_both_land(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "base.csv", rows=6_000, days=1, securities=4, seed=24, start_date=DAY)
    ingest_all(landing, store)
    pending = pending_partitions(store)
    for round_number in range(3):  # each round races two writers of the same date file
        first, second = pending[round_number], pending[round_number + 1]
        race_in_children(_assemble_one, [(str(store.root), first), (str(store.root), second)], timeout=60)
        assert first not in pending_partitions(store) and second not in pending_partitions(store)
    assemble_partitions(store, pending_partitions(store))
    reference = reference_reports([landing / "base.csv"])
    assert set(date_files.index_of(pq.read_metadata(store.date_file(DAY.isoformat())))) == {key[1] for key in pending}
    for key in pending:
        assert row_multiset(store.read_partition(key)) == reference_multiset(reference.kept, key)
    assert partition_problems(store) == []


def _assemble_and_hang_mid_write(root: str, key, writing) -> None:
    """In a child: assemble, but stop for good after the first row group of the new date file is written."""
    def write_then_hang(writer, rows, units):
        writer.write_table(rows.slice(0, 1))  # a row group of the new file is on disk, the file not closed
        writing.set()
        signal.pause()

    date_files.write_units = write_then_hang
    assemble_partitions(OrderStore(root), [key])


def test_sigkill_during_a_date_file_rewrite_leaves_the_previous_file_whole(two_days):
    landing, store = two_days
    amend = generate_orders(landing / "amend.csv", rows=300, days=1, securities=1, seed=25, start_date=DAY)
    ingest_all(landing, store, "amend.csv")
    [key] = pending_partitions(store)
    assert key == (DAY.isoformat(), amend.securities[0])
    path = store.date_file(DAY.isoformat())
    previous = path.read_bytes()
    context = multiprocessing.get_context("fork")
    writing = context.Event()
    child = context.Process(target=_assemble_and_hang_mid_write, args=(str(store.root), key, writing))
    child.start()
    assert writing.wait(60)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL
    assert path.read_bytes() == previous  # the half-written file never took its name
    assert pending_partitions(store) == [key]
    assert remove_orphan_temporaries(store.root) >= 1  # the killed writer's temporary file
    assemble_partitions(store, [key])
    reference = reference_reports([landing / "base.csv", landing / "amend.csv"])
    assert row_multiset(store.read_partition(key)) == reference_multiset(reference.kept, key)
    assert partition_problems(store) == []


def test_a_store_of_per_partition_files_is_rebuilt_into_date_files_from_its_staging(two_days, monkeypatch):
    """A data folder written before date files: its catalog has no layout mark and its folders hold
    security_code=S.parquet files. The next assembly rebuilds every partition of a touched date from the
    staged slices (no source read) and removes those files."""
    landing, store = two_days
    expected = {key: store.read_partition(key) for key in store.catalog()}
    catalog = pq.read_table(store.catalog_file)
    pq.write_table(catalog.replace_schema_metadata(None), store.catalog_file)  # the earlier catalog
    for trade_date, security in expected:
        legacy = store.orders / f"trade_date={trade_date}" / f"security_code={security}.parquet"
        pq.write_table(expected[(trade_date, security)], legacy)
    store.date_file(DAY.isoformat()).unlink()
    assert set(pending_partitions(store)) == set(expected)
    one = sorted(expected)[0]
    assemble_partitions(store, [one])  # one key of a date: the whole date is rebuilt
    assert not store.legacy_partition_files(one[0])
    assert {key: store.read_partition(key) for key in expected if key[0] == one[0]} == {
        key: rows for key, rows in expected.items() if key[0] == one[0]}
    assemble_partitions(store, pending_partitions(store))
    assert pending_partitions(store) == []
    assert not any(store.legacy_partition_files(trade_date) for trade_date, _security in expected)
    assert {key: store.read_partition(key) for key in expected} == expected
    assert partition_problems(store) == []
