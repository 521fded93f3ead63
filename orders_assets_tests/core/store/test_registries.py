"""The duplicates and skipped registries are typed and versioned: the bare maps an earlier release
wrote open (and go on deciding what is read), a later release's are refused with the file and the fix."""
import json
import shutil

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.plan.planner import record_refused
from orders_assets.core.plan.work import plan_work
from orders_assets.core.read.reader import SourceFormatError
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.registries import REGISTRY_VERSION, Copy, Duplicates, Refusal, Skipped
from orders_assets.core.store.versions import StoreVersionError


def store_with_a_copy_and_a_refusal(tmp_path):
    """a.csv ingested, its copy b.csv found by the plan, bad.csv refused by the ingest."""
    landing, store, settings = tmp_path / "landing", OrderStore(tmp_path / "data"), IngestSettings()
    generate_orders(landing / "a.csv", rows=2_000, days=1, securities=2, seed=3)
    plan_work(landing, store, settings.fingerprint_for)
    ingest_source(ChunkedSource(next(s for s in discover_sources(landing) if s.key == "a.csv"), settings), store)
    shutil.copyfile(landing / "a.csv", landing / "b.csv")
    (landing / "bad.csv").write_text("not,the,orders,header\n1,2,3,4\n")
    bad = next(source for source in discover_sources(landing) if source.key == "bad.csv")
    with pytest.raises(SourceFormatError) as error:
        ingest_source(ChunkedSource(bad, settings), store)
    record_refused(store, ["bad.csv"], {"bad.csv": Refusal(str(error.value), bad.fingerprint,
                                                           settings.fingerprint_for("bad.csv"))})
    plan = plan_work(landing, store, settings.fingerprint_for)
    assert plan.ingest.to_ingest == () and plan.ingest.duplicates[0][::2] == ("b.csv", "a.csv")
    return landing, store, settings


def test_registries_written_now_carry_their_version_and_name_every_file_not_read(tmp_path):
    _landing, store, _settings = store_with_a_copy_and_a_refusal(tmp_path)
    assert json.loads(store.duplicates_file.read_text())["version"] == REGISTRY_VERSION
    assert json.loads(store.skipped_file.read_text())["version"] == REGISTRY_VERSION
    listed = {entry["source_file"]: entry["reason"] for entry in store.skipped_list()}
    assert sorted(listed) == ["b.csv", "bad.csv"]
    assert listed["b.csv"].startswith("a copy of a.csv") and "bad.csv" in listed["bad.csv"]


def test_registries_an_earlier_release_wrote_open_and_still_spare_the_copy_and_the_refused_file(tmp_path):
    landing, store, settings = store_with_a_copy_and_a_refusal(tmp_path)
    current_duplicates = json.loads(store.duplicates_file.read_text())
    current_skipped = json.loads(store.skipped_file.read_text())
    store.duplicates_file.write_text(json.dumps(current_duplicates["copies"]))  # v1: the bare map
    store.skipped_file.write_text(json.dumps({"landing": current_skipped["landing"],
                                              "refused": current_skipped["refused"]}))
    assert store.duplicates().copies["b.csv"].original == "a.csv"
    assert store.refused()["bad.csv"].fingerprint == current_skipped["refused"]["bad.csv"]["fingerprint"]
    again = plan_work(landing, store, settings.fingerprint_for).ingest
    assert (again.to_ingest, again.duplicates, again.still_refused) == ((), (), ("bad.csv",))


def test_a_refusal_an_earlier_release_kept_as_its_reason_alone_is_listed_and_retried(tmp_path):
    landing, store, settings = store_with_a_copy_and_a_refusal(tmp_path)
    reason = store.refused()["bad.csv"].reason
    store.skipped_file.write_text(json.dumps({"landing": {}, "refused": {"bad.csv": reason}}))
    assert {"source_file": "bad.csv", "reason": reason} in store.skipped_list()
    assert plan_work(landing, store, settings.fingerprint_for).ingest.to_ingest == ("bad.csv",)  # no rules known: retry


@pytest.mark.parametrize("registry", ["duplicates_file", "skipped_file"])
def test_a_registry_of_a_later_release_is_refused_with_the_file_and_the_fix(tmp_path, registry):
    _landing, store, _settings = store_with_a_copy_and_a_refusal(tmp_path)
    path = getattr(store, registry)
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": REGISTRY_VERSION + 1}))
    with pytest.raises(StoreVersionError) as refused:
        store.skipped_list()
    assert str(path) in str(refused.value) and "upgrade orders_assets" in str(refused.value)


def test_registries_round_trip_through_their_json():
    duplicates = Duplicates({"version": Copy("10:1", "a.csv"), "b.csv": Copy("11:2", "a.csv")})  # a file may be named so
    skipped = Skipped({"x.zip": "an archive"}, {"bad.csv": Refusal("bad.csv: line 1 ...", "10:1", "f")})
    assert Duplicates.from_json(json.loads(json.dumps(duplicates.to_json()))) == duplicates
    assert Duplicates.from_json(json.loads(json.dumps({"version": {"fingerprint": "10:1", "original": "a.csv"}}))
                                ).copies == {"version": Copy("10:1", "a.csv")}  # v1 with a file named "version"
    assert Skipped.from_json(json.loads(json.dumps(skipped.to_json()))) == skipped


def test_files_gone_since_the_plan_are_named_until_the_next_plan_and_never_in_the_summary(tmp_path):
    """The run that planned them says so; the summary describes the landing folder, which no longer holds them."""
    landing, store, settings = store_with_a_copy_and_a_refusal(tmp_path)
    store.write_skipped(store.skipped().with_gone({"bad.csv": "left", "c.csv": "left"}))
    read_back = store.skipped()
    assert read_back.gone == {"bad.csv": "left", "c.csv": "left"} and "bad.csv" not in read_back.refused
    assert Skipped.from_json(json.loads(json.dumps(read_back.to_json()))) == read_back
    assert [entry["source_file"] for entry in store.skipped_list()] == ["b.csv"]
    (landing / "bad.csv").unlink()
    plan_work(landing, store, settings.fingerprint_for)
    assert store.skipped().gone == {} and "gone" not in json.loads(store.skipped_file.read_text())
