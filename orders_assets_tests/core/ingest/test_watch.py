"""The step's watch over real ingests: its totals are the manifests' sums, its progress file is
live while the step runs and gone after, and its log lines come at the cadence it was given."""
import json

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.progress import STAGES, latest_progress
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.ingest.watch import RUN_PREFIX, TOTALS, IngestWatch, progress_file
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore


def watched_ingest(tmp_path, log_every: float):
    for seed, name in enumerate(("day1.csv", "day2.csv.gz")):
        generate_orders(tmp_path / "landing" / name, rows=60_000, days=1, securities=4, seed=seed)
    store = OrderStore(tmp_path / "data")
    sources = discover_sources(tmp_path / "landing")
    lines: list[str] = []
    seen_live: list[dict] = []
    live = progress_file(store.state, "run-1")
    watch = IngestWatch(live, "run-1", [source.size for source in sources], lines.append, log_every)
    manifests = []
    for source in sources:
        manifest = ingest_source(ChunkedSource(source, IngestSettings(block_bytes=1 << 20)), store, watch.on_block)
        watch.file_done(source.size, manifest)
        manifests.append(manifest)
        if live.exists():
            seen_live.append(json.loads(live.read_text()))
    return watch, manifests, lines, seen_live, live, store


def test_the_step_figures_are_the_sums_of_its_files_and_the_progress_file_lives_with_the_step(tmp_path):
    watch, manifests, lines, seen_live, live, store = watched_ingest(tmp_path, log_every=3600.0)
    figures = watch.finish(engine_seconds=2.0)
    for name in TOTALS:
        assert figures[f"{RUN_PREFIX}{name}"] == sum(getattr(manifest, name) for manifest in manifests), name
    assert figures[f"{RUN_PREFIX}rows_read"] == 120_000
    assert figures[f"{RUN_PREFIX}rows_per_s"] == 60_000
    assert set(STAGES) <= {name.removeprefix(RUN_PREFIX).removesuffix("_seconds") for name in figures}
    assert "busy" in figures[f"{RUN_PREFIX}bottleneck"]  # which stage bounds the step, from the manifests' split
    assert figures["peak_rss_mib"] > 0
    final = latest_progress(store.state)
    assert final["done"] and final["bytes_done"] == final["bytes_total"] == sum(m.bytes for m in manifests)
    assert len(lines) == 1 and "100.0%" in lines[0]  # the cadence (an hour) held every line back but the last
    watch.close()
    assert not live.exists()


def test_a_refused_file_counts_its_bytes_as_done_and_no_rows(tmp_path):
    watch = IngestWatch(progress_file(tmp_path, "run-2"), "run-2", [100, 50], lambda line: None, 5.0)
    watch.file_done(100, None)
    watch.file_done(50, None)
    figures = watch.finish(engine_seconds=1.0)
    assert figures[f"{RUN_PREFIX}rows_read"] == 0 and figures[f"{RUN_PREFIX}bytes"] == 0
    assert json.loads(progress_file(tmp_path, "run-2").read_text())["bytes_done"] == 150
    watch.close()


def test_every_block_can_log_when_the_cadence_is_zero(tmp_path):
    _watch, _manifests, lines, seen_live, _live, _store = watched_ingest(tmp_path, log_every=0.0)
    assert len(lines) > 2 and all("rows (" in line for line in lines)
    assert len(seen_live) == 2 and all(entry["run_id"] == "run-1" and not entry["done"] for entry in seen_live)
