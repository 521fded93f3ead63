"""Planning: which sources to ingest or retire, and how much work each partition holds."""
from pathlib import Path

from orders_assets.core.plan.planner import assembly_weights, ingest_weights, plan_ingest, staged_rows
from orders_assets.core.read.sources import SourceFile
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.registries import Refusal


def source(key, size=10, mtime=1):
    return SourceFile(key=key, path=Path(key), size=size, mtime_ns=mtime)


def manifest(key="a.csv", fingerprint="10:1", filter_fingerprint="f", **fields):
    """A manifest of a 10-byte file with no rows, but for the given fields (this release's: with the
    market's totals kept)."""
    return Manifest(**{"source_key": key, "fingerprint": fingerprint, "content_digest": None,
                       "filter_fingerprint": filter_fingerprint, "bytes": 10, "rows_read": 0, "rows_kept": 0,
                       "rows_filtered_out": 0, "rows_rejected": 0, "market_totals": True, **fields})


def test_new_changed_and_refiltered_sources_are_ingested_and_gone_ones_retired():
    sources = [source("a.csv"), source("b.csv", size=11), source("c.csv"), source("d.csv")]
    manifests = [manifest("a.csv"), manifest("b.csv"), manifest("c.csv", filter_fingerprint="old"), manifest("z.csv")]
    plan = plan_ingest(sources, manifests, "f")
    assert plan.to_ingest == ("b.csv", "c.csv", "d.csv")
    assert plan.to_retire == ("z.csv",)


def test_nothing_new_when_every_source_matches_its_manifest():
    assert plan_ingest([source("a.csv")], [manifest("a.csv")], "f").nothing_new


def test_staged_rows_sum_every_slice_of_a_partition_over_the_manifests():
    manifests = [manifest(partitions={"2025-03-03|BHP": [["s0.arrow", 0, 7], ["s0.arrow", 1, 3]],
                                      "2025-03-04|BHP": [["s1.arrow", 0, 5]]}),
                 manifest(partitions={"2025-03-03|BHP": [["s0.arrow", 0, 2]]})]
    assert staged_rows(manifests) == {"2025-03-03|BHP": 12, "2025-03-04|BHP": 5}


def test_assembly_weights_are_staged_rows_and_at_least_one_for_an_emptied_partition():
    manifests = [manifest(partitions={"2025-03-03|BHP": [["s0.arrow", 0, 7]]})]
    assert assembly_weights(manifests, [("2025-03-03", "BHP"), ("2025-03-04", "CBA")]) == {
        ("2025-03-03", "BHP"): 7, ("2025-03-04", "CBA"): 1}


def test_ingest_weights_are_the_sizes_of_the_files_to_ingest_only():
    sources = [source("a.csv", size=500), source("b.csv", size=40), source("c.csv", size=7)]
    assert ingest_weights(sources, ("c.csv", "a.csv")) == {"c.csv": 7, "a.csv": 500}


def digested(key, digest, fingerprint="10:1"):
    return manifest(key, fingerprint, content_digest=digest)


def test_files_just_ingested_with_the_content_of_another_are_its_copies():
    from orders_assets.core.plan.planner import ingested_copies

    manifests = [digested("old.csv", "x"), digested("new.csv.gz", "x", "7:2"), digested("b.csv", "y"),
                 digested("a.csv.gz", "y"), digested("alone.csv", "z")]
    copies = ingested_copies(manifests, ["new.csv.gz", "b.csv", "a.csv.gz", "alone.csv"])
    # a file current before stays the original; among new ones, the first by name
    assert copies == [("b.csv", "10:1", "a.csv.gz"), ("new.csv.gz", "7:2", "old.csv")]
    assert ingested_copies(manifests, []) == []  # never a file that was current before


def test_files_whose_names_give_other_fields_are_not_copies_whatever_their_content():
    from orders_assets.core.plan.planner import ingested_copies

    manifests = [digested("AAPL_20250303.csv", "x"), digested("MSFT_20250303.csv", "x")]
    by_name = {"AAPL_20250303.csv": {"security_code": "AAPL"}, "MSFT_20250303.csv": {"security_code": "MSFT"}}
    assert ingested_copies(manifests, list(by_name), by_name.get) == []


def test_the_plan_takes_no_file_as_a_copy_when_its_name_gives_other_fields():
    """Same size and content, but the file name gives another security: both files are ingested
    (before, the second was planned as a duplicate and its rows were lost)."""
    sources = [source("AAPL_20250303.csv"), source("MSFT_20250303.csv"), source("MSFT_copy_20250303.csv")]
    by_name = {"AAPL_20250303.csv": {"security_code": "AAPL"}, "MSFT_20250303.csv": {"security_code": "MSFT"},
               "MSFT_copy_20250303.csv": {"security_code": "MSFT"}}
    plan = plan_ingest(sources, [], "f", digest_of=lambda _source: "same", name_fields=by_name.get)
    assert plan.to_ingest == ("AAPL_20250303.csv", "MSFT_20250303.csv")
    assert plan.duplicates == (("MSFT_copy_20250303.csv", "10:1", "MSFT_20250303.csv"),)
    assert plan_ingest(sources, [], "f", digest_of=lambda _source: "same").to_ingest == ("AAPL_20250303.csv",)


def test_a_refused_file_is_not_retried_until_it_or_the_rules_change():
    refused = {"bad.csv": Refusal("bad.csv: line 1: ...", fingerprint="10:1", filter_fingerprint="f")}
    unchanged = plan_ingest([source("bad.csv")], [], "f", known_refused=refused)
    assert unchanged.to_ingest == () and unchanged.still_refused == ("bad.csv",) and unchanged.nothing_new
    assert plan_ingest([source("bad.csv", size=11)], [], "f", known_refused=refused).to_ingest == ("bad.csv",)
    assert plan_ingest([source("bad.csv")], [], "a layout since", known_refused=refused).to_ingest == ("bad.csv",)
    assert plan_ingest([source("bad.csv")], [], "f", known_refused=refused, rehash=True).to_ingest == ("bad.csv",)


def test_rehash_finds_a_file_corrected_in_place_with_its_old_size_and_time():
    """`touch -r`: same name, size and time, other content. Only the digest can tell."""
    ingested = manifest("a.csv", content_digest="old")
    corrected = source("a.csv")
    assert plan_ingest([corrected], [ingested], "f", digest_of=lambda _source: "new").nothing_new  # trusted by default
    rehashed = plan_ingest([corrected], [ingested], "f", digest_of=lambda _source: "new", rehash=True)
    assert rehashed.to_ingest == ("a.csv",)
    same = plan_ingest([corrected], [ingested], "f", digest_of=lambda _source: "old", rehash=True)
    assert same.to_ingest == () and same.touched == (("a.csv", "10:1"),)


def test_rehash_reads_again_a_file_an_earlier_release_read_without_the_market_totals():
    older = manifest(content_digest="old", market_totals=None)
    same = [source("a.csv")]
    assert plan_ingest(same, [older], "f", digest_of=lambda _source: "old").nothing_new  # not without --rehash
    assert plan_ingest(same, [older], "f", digest_of=lambda _source: "old", rehash=True).to_ingest == ("a.csv",)
    current = manifest(content_digest="old")
    assert plan_ingest(same, [current], "f", digest_of=lambda _source: "old", rehash=True).to_ingest == ()
