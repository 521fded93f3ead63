"""A stage's runs, built once for the sensor and the command (glue/stage_runs.py), on real files and
a real (temporary) instance: the ingest's ranges of whole files, a big file's pieces, the pending
keys' backfills and the reports' run, each run key naming its inputs."""
import dagster as dg

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.store.order_store import OrderStore
from orders_assets.glue.names import CUT_TAG, INGEST_JOB, PARTITIONS_JOB, PIECE_TAG, REPORTS_JOB, SOURCE_FILES
from orders_assets.glue.stage_runs import IngestSplit, ingest_runs, partition_runs, reports_run


def test_whole_files_go_in_ranges_whose_run_keys_name_their_contents(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    for name, seed in (("a.csv", 1), ("b.csv", 2), ("c.csv", 3)):
        generate_orders(landing / name, rows=300, days=1, securities=2, seed=seed)
    sources = discover_sources(landing)
    keys = tuple(source.key for source in sources)
    with dg.instance_for_test() as instance:
        one = ingest_runs(instance, store, IngestSettings(), keys, sources, IngestSplit(1, 1, None), 1 << 30, scan=False)
        again = ingest_runs(instance, store, IngestSettings(), keys, sources, IngestSplit(1, 1, None), 1 << 30, scan=False)
        two = ingest_runs(instance, store, IngestSettings(), keys, sources, IngestSplit(2, 2, None), 1 << 30, scan=False)
        assert sorted(instance.get_dynamic_partitions(SOURCE_FILES)) == list(keys)
        generate_orders(landing / "b.csv", rows=400, days=1, securities=2, seed=9)  # b changes
        changed = ingest_runs(instance, store, IngestSettings(), keys, discover_sources(landing), IngestSplit(1, 1, None),
                              1 << 30, scan=False)
    assert [(run.job, run.keys, run.tags) for run in one] == [(INGEST_JOB, ("a.csv", "c.csv"), {})]
    assert one[0].run_key.startswith("ingest:") and [run.run_key for run in again] == [run.run_key for run in one]
    assert changed[0].run_key != one[0].run_key  # a new state of the files: a new request
    assert len(two) == 2 and two[0].keys[0] == "a.csv" and two[-1].keys[1] == "c.csv"
    request = one[0].request()
    assert request.job_name == INGEST_JOB and request.run_key == one[0].run_key
    assert request.tags["dagster/asset_partition_range_start"] == "a.csv"


def test_a_big_file_is_cut_by_a_run_of_its_own_then_one_run_per_piece(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "big.csv", rows=40_000, days=1, securities=4, seed=4)
    sources = discover_sources(landing)
    piece_bytes, rules = sources[0].size // 3, IngestSettings(block_bytes=64 << 10)  # blocks small enough to cut at
    with dg.instance_for_test() as instance:
        tick = ingest_runs(instance, store, rules, ("big.csv",), sources, IngestSplit(2, 1, 1), piece_bytes, scan=False)
        command = ingest_runs(instance, store, rules, ("big.csv",), sources, IngestSplit(2, 1, 1), piece_bytes, scan=True)
    assert [(run.keys, run.tags) for run in tick] == [(("big.csv", "big.csv"), {CUT_TAG: "2"})]
    assert [run.is_piece for run in command] == [True, True]
    assert {run.tags[PIECE_TAG].rsplit(":", 1)[1] for run in command} == {"0", "1"}
    assert len({run.run_key for run in command}) == 2


def test_pending_keys_go_as_backfills_and_the_reports_as_one_run_named_by_their_inputs(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generate_orders(landing / "a.csv", rows=2_000, days=2, securities=3, seed=5)
    ingest_source(ChunkedSource(discover_sources(landing)[0], IngestSettings()), store)
    snapshot = StoreSnapshot.of(store)
    pending = snapshot.pending_partitions()
    with dg.instance_for_test() as instance:
        runs = partition_runs(instance, snapshot, pending)
    assert len(pending) == 6 and [run.job for run in runs] == [PARTITIONS_JOB]
    assert runs[0].run_key.startswith("partitions:") and runs[0].keys[0] < runs[0].keys[1]
    reports = reports_run("abc")
    assert (reports.job, reports.keys, reports.run_key) == (REPORTS_JOB, None, "reports:abc")
    assert reports.request().tags == {}
