"""Staging and assembly: partitions from several files, corrections, removals, unsorted input."""
import dataclasses
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from orders_assets.core.assemble.assembly import (
    assemble_partitions,
    contributions,
    expected_signatures,
    pending_partitions,
)
from orders_assets.core.assemble.aggregate_files import load_partials
from orders_assets.core.store.atomic import atomic_write_json
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"


def row(order_id, day, clock, security, price="10.00", quantity=100):
    return f"{order_id},2025-03-{day:02d} {clock},{security},P1,B,CENTRE_POINT,{price},{quantity}"


def write(landing: Path, name: str, rows: list[str]) -> None:
    (landing / name).write_text("\n".join([HEADER] + rows) + "\n")


def ingest_all(landing: Path, store: OrderStore, settings=IngestSettings()) -> None:
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, settings), store)


def partition_ids(store, key):
    return store.read_partition(key)["order_id"].to_pylist()


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
    assert not store.date_file("2025-03-04").exists()  # its only partition lost its rows: the date's file goes
    assert store.read_partition(("2025-03-04", "BHP")).num_rows == 0

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
    slices = unsorted_store.manifest("a.csv").partitions["2025-03-03|BHP"]
    assert len(slices) > 1
    for store in (sorted_store, unsorted_store):
        assemble_partitions(store, pending_partitions(store))
    assert len(sorted_store.catalog()) == 6
    for key in sorted_store.catalog():
        assert sorted_store.read_partition(key) == unsorted_store.read_partition(key)


def test_no_temporary_file_is_left_after_an_ingest(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write(landing, "a.csv", [row(1, 3, "10:00:00", "BHP")])
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))
    leftovers = [path for path in (tmp_path / "data").rglob("*") if path.name.startswith(".tmp-")]
    assert leftovers == []


def test_parallel_assembly_in_many_pieces_writes_what_one_thread_writes(tmp_path, monkeypatch):
    from orders_assets.core.assemble import date_writer
    from orders_assets.core.store import date_files
    from orders_assets.core.generate import generate_orders
    from orders_assets_tests.conftest import tree_hashes

    landing = tmp_path / "landing"
    landing.mkdir()
    generate_orders(landing / "orders.csv", rows=20_000, days=3, securities=15, participants=20, seed=3)
    monkeypatch.setattr(date_files, "ROW_GROUP_ROWS", 40)  # the larger securities take several row groups
    results = {}
    for workers in (1, 3):
        # one piece a date on one thread; pieces of a security or two on three threads
        monkeypatch.setattr(date_writer, "CHUNK_ROWS", date_writer.CHUNK_ROWS if workers == 1 else 50)
        store = OrderStore(tmp_path / f"data-{workers}")
        ingest_all(landing, store)
        pending = pending_partitions(store)
        assembled = assemble_partitions(store, pending, workers=workers)
        assert [part.key for part in assembled] == pending
        assert pending_partitions(store) == []
        results[workers] = {path: digest for path, digest in tree_hashes(store.root).items()
                            if path.startswith(("orders", "aggregates"))}
    assert len([path for path in results[1] if path.endswith(".parquet")]) == 6  # a date file, an aggregate file a date
    assert results[1] == results[3]
    metadata = pq.read_metadata(store.date_file("2025-03-03"))
    index = date_files.index_of(metadata)
    assert metadata.num_row_groups == max(first + groups for first, groups, _offset, _rows in index.values())
    assert any(groups > 1 for _first, groups, _offset, _rows in index.values())


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


def _hold_store_lock(lock_file: str, operation: int, held, release) -> None:
    """In a child process: take the store's flock as another process's step would, until told to release."""
    import fcntl

    with open(lock_file, "w") as handle:
        fcntl.flock(handle, operation)
        held.set()
        release.wait(60)


def _assembly_seconds_while_another_process_holds_the_lock(tmp_path, operation: int,
                                                          lock_file: str = "state/.lock") -> float:
    import multiprocessing
    import time

    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    landing.mkdir()
    write(landing, "a.csv", [row(1, 3, "10:00:00", "BHP"), row(2, 3, "11:00:00", "CBA")])
    ingest_all(landing, store)
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()
    (store.root / lock_file).parent.mkdir(parents=True, exist_ok=True)
    holder = context.Process(target=_hold_store_lock, args=(str(store.root / lock_file), operation, held, release))
    holder.start()
    try:
        assert held.wait(30)
        context.Process(target=lambda: (time.sleep(1.5), release.set())).start()
        started = time.monotonic()
        assemble_partitions(store, pending_partitions(store))
        return time.monotonic() - started
    finally:
        release.set()
        holder.join(30)


def test_an_assembly_runs_while_another_process_assembles(tmp_path):
    """Another worker's assembly holds the store's lock shared: this one does not wait for it."""
    import fcntl

    assert _assembly_seconds_while_another_process_holds_the_lock(tmp_path, fcntl.LOCK_SH) < 1.0


@pytest.mark.parametrize("lock_file", ["state/.lock", "state/.catalog.lock", "aggregates/.trade_date=2025-03-03.lock"])
def test_an_assembly_waits_for_the_holder_of_a_lock_it_needs(tmp_path, lock_file):
    """The store's lock held exclusively (a manifest being switched), or another assembly rewriting the
    catalog or the date's aggregate file: this assembly waits until it is released."""
    import fcntl

    assert _assembly_seconds_while_another_process_holds_the_lock(tmp_path, fcntl.LOCK_EX, lock_file) >= 1.4


def _assemble_in_child(data: str, keys: list, start) -> None:
    start.wait(30)
    assemble_partitions(OrderStore(data), [tuple(key) for key in keys])


def test_assemblies_of_two_halves_of_one_day_at_once_write_what_one_assembly_writes(tmp_path):
    """Two workers assembling the securities of the same dates at once share the dates' aggregate files
    and the catalog: each rewrites them under its own lock, and nothing of the other's is lost."""

    from orders_assets.core.generate import generate_orders
    from orders_assets_tests.conftest import race_in_children, tree_hashes

    landing = tmp_path / "landing"
    landing.mkdir()
    generate_orders(landing / "orders.csv", rows=40_000, days=2, securities=30, participants=20, seed=5)
    results = {}
    for how in ("one", "halves"):
        store = OrderStore(tmp_path / f"data-{how}")
        ingest_all(landing, store)
        pending = pending_partitions(store)
        if how == "one":
            assemble_partitions(store, pending)
        else:
            halves = [pending[0::2], pending[1::2]]  # every date in both halves
            race_in_children(_assemble_in_child, [(str(store.root), half) for half in halves])
        assert pending_partitions(store) == []
        partition_files = {path: digest for path, digest in tree_hashes(store.root).items() if path.startswith("orders")}
        aggregates = load_partials(store)
        catalog = {key: dataclasses.replace(entry, signature="")  # the signature names the attempt
                   for key, entry in store.catalog().items()}
        results[how] = (partition_files, aggregates.sort_by([(name, "ascending") for name in aggregates.column_names]),
                        catalog)
    assert len(results["one"][0]) == 2 and len(results["one"][2]) == 60  # a file a date, an entry a partition
    assert results["halves"][0] == results["one"][0]
    assert results["halves"][1].equals(results["one"][1])
    assert results["halves"][2] == results["one"][2]



def test_a_manifest_is_parsed_once_per_version_and_a_new_version_is_read(tmp_path):
    from orders_assets.core.store import manifest_cache

    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "a.csv", rows=2_000, days=2, securities=3, seed=5)
    ingest_all(landing, store)
    (first,) = store.manifests()
    assert store.manifests()[0] is first  # the same version: the parse is reused
    path = store.source_folder("a.csv") / "manifest.json"
    atomic_write_json(path, first.with_changes(rows_read=first.rows_read + 1).to_json())  # a new version, by rename
    assert store.manifest("a.csv").rows_read == first.rows_read + 1
    shutil.rmtree(store.source_folder("a.csv"))
    assert store.manifests() == [] and store.manifest("a.csv") is None
    assert not [cached for cached in manifest_cache._PARSED_MANIFESTS if cached.startswith(str(store.staging))]


def test_assembling_some_keys_reads_only_their_contributions(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "a.csv", rows=4_000, days=2, securities=4, seed=6)
    ingest_all(landing, store)
    every, signatures = contributions(store), expected_signatures(store)
    some = sorted(every)[:3]
    assert len(every) > 3
    assert contributions(store, some) == {key: every[key] for key in some}
    assert expected_signatures(store, some) == {key: signatures[key] for key in some}
