"""The output invariants hold on real outputs and catch each kind of damage."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, load_partials, pending_partitions
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, IngestSettings, ingest_source
from orders_assets.core.invariants import partition_problems, report_problems
from orders_assets.core.report.files import write_report
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore


@pytest.fixture
def store(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=2, securities=5, seed=12, bad_rows=0.01)
    store = OrderStore(tmp_path / "data")
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    for name in schema.REPORT_NAMES:
        write_report(build_report(name, partials), store.reports, name)
    return store


def test_the_invariants_hold_on_real_outputs(store):
    assert report_problems(store) == []
    assert partition_problems(store) == []


def test_a_report_with_a_wrong_column_a_repeated_key_or_unsorted_rows_is_caught(store):
    path = store.reports / "by_security.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["participants"]), path)
    assert "columns" in report_problems(store)[0]
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path)
    assert any("appears more than once" in problem for problem in report_problems(store))
    pq.write_table(table.take(list(reversed(range(table.num_rows)))), path)
    assert report_problems(store) == [f"{path}: rows are not sorted by security_code"]


def test_lost_or_doubled_rows_and_a_missing_partition_file_are_caught(store):
    first_key = sorted(key for key, entry in store.catalog().items() if entry["rows"])[0]
    manifest_path = next(store.staging.glob("*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "rows_kept": manifest["rows_kept"] + 1}))
    assert "the ingests kept" in partition_problems(store)[0]
    manifest_path.write_text(json.dumps(manifest))
    date_file = store.date_file(first_key[0])
    expected = {key[1]: entry["rows"] for key, entry in store.catalog().items() if key[0] == first_key[0] and entry["rows"]}
    date_file.unlink()
    assert partition_problems(store) == [f"{date_file}: missing ({sum(expected.values())} rows of "
                                         f"{len(expected)} securities expected)"]
