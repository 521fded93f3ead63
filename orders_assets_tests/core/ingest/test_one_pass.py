"""The one-pass property: a source is opened and read once per ingest, whatever its partitions,
and assembling or re-assembling partitions never reads the source again."""
import pyarrow.parquet as pq
import pytest

from orders_assets.core.ingest import blocks as ingest_module
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore


@pytest.fixture
def counted_opens(monkeypatch):
    """Every stream the ingest opens, with the bytes read from it."""
    opened = []
    real_open = ingest_module.open_source

    def counting_open(source):
        stream = real_open(source)
        record = {"path": source.path, "bytes": 0}
        opened.append(record)
        real_read = stream.read

        def read(size=None):
            data = real_read(size)
            record["bytes"] += len(data)
            return data

        class Counted:
            def __enter__(self):
                return self

            def __exit__(self, *exc_info):
                stream.close()

            def __getattr__(self, name):
                return read if name == "read" else getattr(stream, name)

        return Counted()

    monkeypatch.setattr(ingest_module, "open_source", counting_open)
    return opened


def test_a_source_is_read_once_for_all_its_partitions_and_never_for_reassembly(tmp_path, counted_opens):
    landing = tmp_path / "landing"
    report = generate_orders(landing / "orders.csv", rows=40_000, days=5, securities=30, seed=9)
    store = OrderStore(tmp_path / "data")
    [source] = discover_sources(landing)
    manifest = ingest_source(ChunkedSource(source, IngestSettings(block_bytes=256 << 10)), store)
    assert len(manifest.partitions) > 100
    assert len(counted_opens) == 1
    assert counted_opens[0]["bytes"] == report.path.stat().st_size

    pending = pending_partitions(store)
    assemble_partitions(store, pending)
    first = pending[0]
    before = store.read_partition(first)
    assemble_partitions(store, [first])
    assert store.read_partition(first) == before
    assert len(counted_opens) == 1
