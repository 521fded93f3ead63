"""Planning: which sources to ingest or retire, and how keys are batched into ranges."""
from pathlib import Path

import pytest

from orders_assets.core.plan import key_ranges, plan_ingest
from orders_assets.core.sources import SourceFile


def source(key, size=10, mtime=1):
    return SourceFile(key=key, path=Path(key), size=size, mtime_ns=mtime)


def manifest(key, fingerprint="10:1", filter_fingerprint="f"):
    return {"source_key": key, "fingerprint": fingerprint, "filter_fingerprint": filter_fingerprint}


def test_new_changed_and_refiltered_sources_are_ingested_and_gone_ones_retired():
    sources = [source("a.csv"), source("b.csv", size=11), source("c.csv"), source("d.csv")]
    manifests = [manifest("a.csv"), manifest("b.csv"), manifest("c.csv", filter_fingerprint="old"), manifest("z.csv")]
    plan = plan_ingest(sources, manifests, "f")
    assert plan.to_ingest == ("b.csv", "c.csv", "d.csv")
    assert plan.to_retire == ("z.csv",)


def test_nothing_new_when_every_source_matches_its_manifest():
    assert plan_ingest([source("a.csv")], [manifest("a.csv")], "f").nothing_new


def test_key_ranges_merge_keys_within_the_gap():
    ordered = [f"k{i:02d}" for i in range(20)]
    assert key_ranges(ordered, ["k01", "k02", "k03", "k10"]) == [("k01", "k03"), ("k10", "k10")]
    assert key_ranges(ordered, ["k01", "k03", "k10"], max_gap=1) == [("k01", "k03"), ("k10", "k10")]
    assert key_ranges(ordered, ["k01", "k10"], max_gap=8) == [("k01", "k10")]
    assert key_ranges(ordered, []) == []
    with pytest.raises(KeyError, match="nope"):
        key_ranges(ordered, ["nope"])
