"""Manifests are typed and versioned: a store an earlier release wrote opens, a later one's is refused."""
import json

import pytest

from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.plan.work import plan_work
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.manifest import MANIFEST_VERSION, Manifest, StoreVersionError
from orders_assets.core.store.order_store import OrderStore

FIELDS_EARLIER_RELEASES_COULD_LACK = ("version", "layout", "workers", "stage_seconds", "renamed_columns",
                                      "rows_not_orders")


def ingested_store(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "a.csv", rows=3_000, days=2, securities=3, seed=9)
    settings = IngestSettings()
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, settings), store)
    return landing, store, settings


def test_a_manifest_written_before_versions_opens_with_its_defaults_and_the_rerun_has_nothing_to_do(tmp_path):
    landing, store, settings = ingested_store(tmp_path)
    path = store.source_folder("a.csv") / "manifest.json"
    current = json.loads(path.read_text())
    assert current["version"] == MANIFEST_VERSION
    earlier = {name: value for name, value in current.items() if name not in FIELDS_EARLIER_RELEASES_COULD_LACK}
    path.write_text(json.dumps(earlier))
    manifest = store.manifest("a.csv")
    assert (manifest.version, manifest.layout, manifest.workers, manifest.rows_not_orders) == (
        MANIFEST_VERSION, "canonical", 1, 0)
    assert (manifest.rows_read, manifest.partitions) == (current["rows_read"], current["partitions"])
    assemble_partitions(store, pending_partitions(store))
    rows = sum(store.read_partition(key).num_rows for key in store.catalog())
    assert rows == manifest.rows_kept
    assert plan_work(landing, store, settings.fingerprint_for).ingest.nothing_new


def test_a_manifest_of_a_later_release_is_refused_with_the_file_and_the_fix(tmp_path):
    _landing, store, _settings = ingested_store(tmp_path)
    path = store.source_folder("a.csv") / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": MANIFEST_VERSION + 1}))
    with pytest.raises(StoreVersionError) as refused:
        store.manifests()
    assert str(path) in str(refused.value) and "upgrade orders_assets" in str(refused.value)


def test_a_manifest_round_trips_through_its_json():
    manifest = Manifest(source_key="a.csv", fingerprint="10:1", content_digest="d", filter_fingerprint="f", bytes=10,
                        rows_read=3, rows_kept=1, rows_filtered_out=1, rows_rejected=1,
                        partitions={"2025-03-03|BHP": [["s0.arrow", 0, 1]]}, stage_seconds={"parse": 0.5})
    assert manifest.balanced and Manifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
