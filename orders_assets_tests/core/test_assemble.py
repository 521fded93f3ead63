"""Staging and assembly: partitions from several files, corrections, removals, unsorted input."""
import os
from pathlib import Path

import pyarrow.parquet as pq

from orders_assets.core.assemble import assemble_partitions, load_partials, pending_partitions
from orders_assets.core.ingest import ChunkedSource, IngestSettings, ingest_source
from orders_assets.core.sources import discover_sources
from orders_assets.core.store import OrderStore

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"


def row(order_id, day, clock, security, price="10.00", quantity=100):
    return f"{order_id},2025-03-{day:02d} {clock},{security},P1,B,CENTRE_POINT,{price},{quantity}"


def write(landing: Path, name: str, rows: list[str]) -> None:
    (landing / name).write_text("\n".join([HEADER] + rows) + "\n")


def ingest_all(landing: Path, store: OrderStore, settings=IngestSettings()) -> None:
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, settings), store)


def partition_ids(store, key):
    return pq.read_table(store.partition_file(key))["order_id"].to_pylist()


def test_two_files_for_one_partition_are_both_counted(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write(landing, "a.csv", [row(1, 3, "10:00:00", "BHP"), row(2, 3, "11:00:00", "CBA")])
    write(landing, "b.csv", [row(3, 3, "10:30:00", "BHP")])
    ingest_all(landing, store)
    pending = pending_partitions(store)
    assert pending == [("2025-03-03", "BHP"), ("2025-03-03", "CBA")]
    assemble_partitions(store, pending)
    assert partition_ids(store, ("2025-03-03", "BHP")) == ["1", "3"]
    assert pending_partitions(store) == []
    assert load_partials(store).num_rows > 0


def test_a_corrected_file_replaces_its_rows_and_a_removed_file_leaves(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write(landing, "a.csv", [row(1, 3, "10:00:00", "BHP"), row(2, 4, "10:00:00", "BHP")])
    write(landing, "b.csv", [row(3, 3, "10:30:00", "BHP")])
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))

    write(landing, "a.csv", [row(11, 3, "10:00:00", "BHP")])
    os.utime(landing / "a.csv", ns=(1, 1))
    ingest_source(ChunkedSource(discover_sources(landing)[0], IngestSettings()), store)
    assert pending_partitions(store) == [("2025-03-03", "BHP"), ("2025-03-04", "BHP")]
    assemble_partitions(store, pending_partitions(store))
    assert partition_ids(store, ("2025-03-03", "BHP")) == ["11", "3"]
    assert not store.partition_file(("2025-03-04", "BHP")).exists()

    (landing / "b.csv").unlink()
    store.retire("b.csv")
    assemble_partitions(store, pending_partitions(store))
    assert partition_ids(store, ("2025-03-03", "BHP")) == ["11"]
    assert pending_partitions(store) == []


def test_unsorted_input_across_several_flushes_gives_the_same_partitions(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    rows = [row(i, 3 + i % 3, f"1{i % 5}:00:{i % 60:02d}", ("BHP", "CBA")[i % 2]) for i in range(3000)]
    write(landing, "a.csv", rows)
    sorted_store, unsorted_store = OrderStore(tmp_path / "one"), OrderStore(tmp_path / "many")
    ingest_all(landing, sorted_store)
    ingest_all(landing, unsorted_store, IngestSettings(block_bytes=4096, stage_bytes=1))
    slices = unsorted_store.manifest("a.csv")["partitions"]["2025-03-03|BHP"]
    assert len(slices) > 1
    for store in (sorted_store, unsorted_store):
        assemble_partitions(store, pending_partitions(store))
    assert len(sorted_store.catalog()) == 6
    for key in sorted_store.catalog():
        assert pq.read_table(sorted_store.partition_file(key)) == pq.read_table(
            unsorted_store.partition_file(key))


def test_no_temporary_file_is_left_after_an_ingest(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write(landing, "a.csv", [row(1, 3, "10:00:00", "BHP")])
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))
    leftovers = [path for path in (tmp_path / "data").rglob("*") if path.name.startswith(".tmp-")]
    assert leftovers == []


def test_parallel_assembly_in_many_groups_writes_what_one_thread_writes(tmp_path, monkeypatch):
    from orders_assets.core import assemble
    from orders_assets.core.generate import generate_orders
    from orders_assets_tests.conftest import tree_hashes

    landing = tmp_path / "landing"
    landing.mkdir()
    generate_orders(landing / "orders.csv", rows=20_000, days=3, securities=15, participants=20, seed=3)
    monkeypatch.setattr(assemble, "GROUP_ROWS", 50)  # dozens of groups, some partitions alone in theirs
    results = {}
    for workers in (1, 3):
        store = OrderStore(tmp_path / f"data-{workers}")
        ingest_all(landing, store)
        pending = pending_partitions(store)
        assembled = assemble_partitions(store, pending, workers=workers)
        assert [part.key for part in assembled] == pending
        assert pending_partitions(store) == []
        results[workers] = {path: digest for path, digest in tree_hashes(store.root).items()
                            if path.startswith(("orders", "aggregates"))}
    assert len(results[1]) > 40
    assert results[1] == results[3]


def test_a_range_that_starts_with_partitions_without_rows_is_assembled(tmp_path):
    """A rectangle of dates x securities holds pairs that never traded; the first keys may be such pairs."""
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write(landing, "a.csv", [row(1, 3, "10:00:00", "CBA"), row(2, 4, "11:00:00", "BHP")])
    ingest_all(landing, store)
    rectangle = [("2025-03-03", "BHP"), ("2025-03-03", "CBA"), ("2025-03-04", "BHP"), ("2025-03-04", "CBA")]
    assembled = assemble_partitions(store, rectangle)
    assert {part.key: part.rows for part in assembled} == dict(zip(rectangle, [0, 1, 1, 0]))
    assert pending_partitions(store) == []
    assert partition_ids(store, ("2025-03-03", "CBA")) == ["1"]
