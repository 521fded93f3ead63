"""One ingest step without Dagster (core/plan/ingest_step.py): of its files one is ingested, one
refused with its reason, one found gone, one taken as a copy, and the store says each."""
import gzip

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.ingest.watch import IngestWatch, progress_file
from orders_assets.core.plan.ingest_step import (IngestStep, file_line, ingest_each, settle_copies_and_refusals,
                                                 settle_gone)
from orders_assets.core.read.reader import LEFT_THE_FOLDER
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore


def test_a_step_ingests_refuses_finds_gone_and_takes_copies_and_the_store_says_each(tmp_path):
    landing, store = tmp_path / "landing", OrderStore(tmp_path / "data")
    generated = generate_orders(landing / "a.csv", rows=800, days=1, securities=3, seed=5)
    (landing / "a_again.csv.gz").write_bytes(gzip.compress((landing / "a.csv").read_bytes()))
    (landing / "broken.csv").write_text("order_id,price\n1,2\n")  # no contract header
    generate_orders(landing / "gone.csv", rows=100, days=1, securities=1, seed=6)
    files = {source.key: ChunkedSource(source, IngestSettings()) for source in discover_sources(landing)}
    (landing / "gone.csv").unlink()  # listed by the run, gone when its ingest opens it

    step, shown, refusals = IngestStep(), [], []
    watch = IngestWatch(progress_file(tmp_path / "state", "run"), "run", [chunked.source.size for chunked in files.values()],
                        log=lambda _line: None, log_every=60)
    ingest_each(store, files, watch, step, lambda key, manifest: shown.append(file_line(key, manifest)),
                lambda key, refused: refusals.append((key, refused.reason)))
    watch.close()
    settle_gone(store, step.gone)
    copies = settle_copies_and_refusals(store, files, step.refused)

    assert sorted(manifest.source_key for manifest in step.manifests) == ["a.csv", "a_again.csv.gz"]
    assert [key for key, _reason in refusals] == ["broken.csv"] and "broken.csv" in step.refused
    assert step.gone == {"gone.csv": LEFT_THE_FOLDER}
    assert [(key, original) for key, _fingerprint, original in copies] == [("a_again.csv.gz", "a.csv")]
    assert shown[0].startswith(f"a.csv: {generated.rows:,} rows read, ") and "time per stage" in shown[0]
    assert store.manifest("a_again.csv.gz") is None and store.manifest("a.csv").rows_read == generated.rows
    assert set(store.refused()) == {"broken.csv"} and store.skipped().gone == {"gone.csv": LEFT_THE_FOLDER}
