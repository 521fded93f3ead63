"""next_stage on a real store: each stage waits for the one before, sources gone are retired only
when no partition run could be reading them, and the reports are asked for once the partitions
are assembled and only while they are not built from the current inputs."""
import shutil

from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.plan.planner import IngestPlan, survey_landing
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.plan.stages import InFlight, next_stage
from orders_assets.core.read.sources import discover_sources, scan_landing
from orders_assets.core.store.order_store import OrderStore

NOTHING_PLANNED = IngestPlan(to_ingest=(), to_retire=())


def landing_and_store(tmp_path, *names):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    for seed, name in enumerate(names):
        generate_orders(landing / name, rows=1_500, days=1, securities=3, seed=seed)
    return landing, store


def ingest_all(landing, store):
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)


def stage_of(store, present, in_flight=InFlight(), plan=NOTHING_PLANNED, built_from=None):
    return next_stage(plan, StoreSnapshot.of(store), present, in_flight, lambda: built_from,
                      lambda snapshot: snapshot.inputs_signature(store))


def test_new_files_are_ingested_first_whatever_is_in_flight(tmp_path):
    landing, store = landing_and_store(tmp_path, "a.csv")
    plan = survey_landing(store, scan_landing(landing), IngestSettings().fingerprint_for)
    stage = stage_of(store, ["a.csv"], InFlight(True, True, True), plan)
    assert stage.ingest == ("a.csv",) and not stage.partitions and stage.reports is None


def test_partitions_wait_for_the_ingest_and_then_are_the_pending_ones(tmp_path):
    landing, store = landing_and_store(tmp_path, "a.csv")
    ingest_all(landing, store)
    waiting = stage_of(store, ["a.csv"], InFlight(ingest=True))
    assert (waiting.partitions, waiting.reason) == ((), "ingest run(s) in flight")
    stage = stage_of(store, ["a.csv"])
    assert list(stage.partitions) == pending_partitions(store) and len(stage.partitions) == 3
    assert stage_of(store, ["a.csv"], InFlight(partitions=True)).partitions == ()


def test_a_source_gone_is_retired_only_when_no_partition_run_is_in_flight(tmp_path):
    landing, store = landing_and_store(tmp_path, "a.csv", "b.csv")
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))
    (landing / "b.csv").unlink()
    held = stage_of(store, ["a.csv"], InFlight(partitions=True))
    assert held.retire == () and [m.source_key for m in held.snapshot.manifests] == ["a.csv", "b.csv"]
    stage = stage_of(store, ["a.csv"])
    assert stage.retire == ("b.csv",) and [m.source_key for m in stage.snapshot.manifests] == ["a.csv"]
    assert stage.partitions  # b.csv's rows leave the partitions it touched
    assert set(stage.partitions) == set(StoreSnapshot.of(store).without(["b.csv"]).pending_partitions())


def test_reports_follow_the_partitions_and_only_while_they_are_not_current(tmp_path):
    landing, store = landing_and_store(tmp_path, "a.csv")
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))
    assert stage_of(store, ["a.csv"], InFlight(reports=True)).reports is None
    stage = stage_of(store, ["a.csv"])
    assert stage.reports == store.inputs_signature()
    current = stage_of(store, ["a.csv"], built_from=stage.reports)
    assert (current.reports, current.reason) == (None, "nothing new")
    assert stage_of(store, ["a.csv"], built_from="").reports == stage.reports  # a summary that did not record it


def test_an_empty_store_asks_for_nothing_and_one_emptied_rebuilds_its_reports(tmp_path):
    landing, store = landing_and_store(tmp_path)
    landing.mkdir(parents=True)
    assert stage_of(store, []).reason == "nothing new"
    generate_orders(landing / "a.csv", rows=500, days=1, securities=2, seed=1)
    ingest_all(landing, store)
    assemble_partitions(store, pending_partitions(store))
    built = store.inputs_signature()
    shutil.rmtree(store.source_folder("a.csv"))  # every source retired: the reports must say so
    assemble_partitions(store, pending_partitions(store))
    assert stage_of(store, [], built_from=built).reports not in (None, built)
