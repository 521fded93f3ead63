"""Identity by content and completeness of landing files, on real files and a real store."""
import gzip
import os
import shutil

from orders_assets.core.generate import generate_orders
from orders_assets.core.read.identity import Observation, content_digest, observations, stable_sources
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.plan.planner import apply_identity, plan_ingest
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore


def plan_and_apply(landing, store, digests):
    sources = discover_sources(landing)

    def digest_of(source):
        digests.append(source.key)
        return content_digest(source)

    plan = plan_ingest(sources, store.manifests(), IngestSettings().order_filter.fingerprint, digest_of,
                       store.duplicates().copies)
    apply_identity(store, plan, [source.key for source in sources])
    return plan


def ingest(landing, store, keys):
    for source in discover_sources(landing):
        if source.key in keys:
            ingest_source(ChunkedSource(source, IngestSettings()), store)


def test_the_ingest_records_the_digest_of_what_it_read_and_gz_content_is_the_same(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "a.csv", rows=3_000, days=1, securities=3, seed=1)
    (landing / "b.csv.gz").write_bytes(gzip.compress((landing / "a.csv").read_bytes()))
    store = OrderStore(tmp_path / "data")
    ingest(landing, store, {"a.csv"})
    [a, b] = discover_sources(landing)
    assert store.manifest("a.csv").content_digest == content_digest(a) == content_digest(b)


def test_touched_renamed_copied_and_corrected_files(tmp_path):
    landing, store, digests = tmp_path / "landing", OrderStore(tmp_path / "data"), []
    generate_orders(landing / "day1.csv", rows=3_000, days=1, securities=3, seed=1)
    generate_orders(landing / "day2.csv", rows=2_000, days=1, securities=3, seed=2)
    first = plan_and_apply(landing, store, digests)
    assert first.to_ingest == ("day1.csv", "day2.csv") and digests == []  # different sizes: nothing to compare
    ingest(landing, store, set(first.to_ingest))

    os.utime(landing / "day1.csv", ns=(1, 10**18))  # touched, same content
    shutil.copyfile(landing / "day2.csv", landing / "copy of day2.csv")  # re-dropped under another name
    plan = plan_and_apply(landing, store, digests)
    assert (plan.to_ingest, plan.nothing_new) == ((), True)
    assert [key for key, _ in plan.touched] == ["day1.csv"]
    assert [(key, original) for key, _, original in plan.duplicates] == [("copy of day2.csv", "day2.csv")]
    assert store.duplicates().copies["copy of day2.csv"].original == "day2.csv"

    digests.clear()
    again = plan_and_apply(landing, store, digests)
    assert (again.to_ingest, again.touched, again.duplicates, digests) == ((), (), (), [])

    text = (landing / "day1.csv").read_text().splitlines()
    text[5] = text[5][:-1] + ("1" if text[5][-1] != "1" else "2")  # corrected in place, same size
    (landing / "day1.csv").write_text("\n".join(text) + "\n")
    corrected = plan_and_apply(landing, store, digests)
    assert corrected.to_ingest == ("day1.csv",)

    (landing / "day2.csv").unlink()  # the original leaves: its copy is now the file to ingest
    moved = plan_and_apply(landing, store, digests)
    assert (moved.to_ingest, moved.to_retire) == (("copy of day2.csv", "day1.csv"), ("day2.csv",))
    assert store.duplicates().copies == {}


def test_two_new_files_with_the_same_content_are_ingested_once(tmp_path):
    landing, store, digests = tmp_path / "landing", OrderStore(tmp_path / "data"), []
    generate_orders(landing / "a.csv", rows=1_000, days=1, securities=2, seed=4)
    shutil.copyfile(landing / "a.csv", landing / "b.csv")
    plan = plan_and_apply(landing, store, digests)
    assert plan.to_ingest == ("a.csv",)
    assert [(key, original) for key, _, original in plan.duplicates] == [("b.csv", "a.csv")]


def test_a_file_is_stable_when_unchanged_between_two_looks_or_marked_done(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "growing.csv").write_text("order_id,timestamp\n1,x\n")
    (landing / "marked.csv").write_text("order_id\n")
    (landing / "marked.csv.done").write_text("")
    first = discover_sources(landing)
    assert [source.key for source in stable_sources(first, {})] == ["marked.csv"]
    seen = observations(first)
    assert [source.key for source in stable_sources(discover_sources(landing), seen)] == ["growing.csv", "marked.csv"]
    with open(landing / "growing.csv", "a") as file:
        file.write("2,y\n")
    assert [source.key for source in stable_sources(discover_sources(landing), seen)] == ["marked.csv"]
    assert seen["growing.csv"] == Observation(size=len("order_id,timestamp\n1,x\n"), mtime_ns=seen["growing.csv"].mtime_ns)


def test_a_store_an_earlier_release_digested_with_sha256_opens_without_ingesting_again(tmp_path):
    """Digests were SHA-256 (plain hex); they are XXH3-128 now (`xxh3:`). A store written before keeps
    its files: a touched file is touched, a renamed or a compressed copy is a copy, nothing is read
    twice but the files that need the comparison, each in the algorithm its counterpart was stored in."""
    from orders_assets.core.plan.planner import ingested_copies
    from orders_assets.core.read.identity import SHA256, digest_algorithm
    from orders_assets.core.store.atomic import atomic_write_json

    landing = tmp_path / "landing"
    generate_orders(landing / "a.csv", rows=3_000, days=1, securities=3, seed=7)
    store = OrderStore(tmp_path / "data")
    ingest(landing, store, {"a.csv"})
    [a] = discover_sources(landing)
    assert digest_algorithm(store.manifest("a.csv").content_digest) != SHA256  # today's digests name XXH3
    earlier = store.manifest("a.csv").with_changes(content_digest=content_digest(a, SHA256))
    atomic_write_json(store.source_folder("a.csv") / "manifest.json", earlier.to_json())
    assert len(earlier.content_digest) == 64 and all(c in "0123456789abcdef" for c in earlier.content_digest)

    os.utime(landing / "a.csv", ns=(1, 1))  # touched: a new time, the same content
    shutil.copyfile(landing / "a.csv", landing / "renamed.csv")
    plan = plan_ingest(discover_sources(landing), store.manifests(), IngestSettings().order_filter.fingerprint,
                       content_digest, store.duplicates().copies)
    assert plan.to_ingest == () and [key for key, _ in plan.touched] == ["a.csv"]
    assert [(copy, original) for copy, _fingerprint, original in plan.duplicates] == [("renamed.csv", "a.csv")]

    (landing / "renamed.csv").unlink()
    (landing / "zipped.csv.gz").write_bytes(gzip.compress((landing / "a.csv").read_bytes()))
    ingest(landing, store, {"zipped.csv.gz"})
    sources = {source.key: source for source in discover_sources(landing)}
    copies = ingested_copies(store.manifests(), ["zipped.csv.gz"],
                             digest_in=lambda key, algorithm: content_digest(sources[key], algorithm))
    assert [(copy, original) for copy, _fingerprint, original in copies] == [("zipped.csv.gz", "a.csv")]
    assert ingested_copies(store.manifests(), ["zipped.csv.gz"]) == []  # without reading again it could not tell


def test_with_a_settle_time_a_file_counts_once_unwritten_that_long_and_one_moved_in_whole_at_once(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "fresh.csv").write_text("order_id\n1\n")
    (landing / "old.csv").write_text("order_id\n2\n")
    written = os.stat(landing / "fresh.csv").st_mtime_ns
    os.utime(landing / "old.csv", ns=(written - 60 * 10**9, written - 60 * 10**9))  # moved in, written a minute ago
    settle = 5 * 10**9
    first = discover_sources(landing)
    assert [source.key for source in stable_sources(first, {}, settle, now_ns=written + 10**9)] == ["old.csv"]
    seen = observations(first)
    again = discover_sources(landing)
    assert [source.key for source in stable_sources(again, seen, settle, now_ns=written + 2 * 10**9)] == ["old.csv"]
    assert [source.key for source in stable_sources(again, seen, settle, now_ns=written + settle)] == ["fresh.csv",
                                                                                                      "old.csv"]
    with open(landing / "old.csv", "a") as file:  # written again: it waits for the settle time once more
        file.write("3\n")
    later = os.stat(landing / "old.csv").st_mtime_ns
    assert [source.key for source in stable_sources(discover_sources(landing), seen, settle, now_ns=later + settle)] \
        == ["fresh.csv"]
