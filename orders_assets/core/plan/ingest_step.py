"""One ingest step over the files a run hands it, Dagster aside: each file ingested (one after
another, each reading its blocks on the step's workers), refused with its reason and the rules it was
refused under, or found gone; then what the step learnt settled in the store: gone files' earlier
rows retired and named, files whose content is another's taken as copies, refusals recorded. The
asset (glue/assets/orders.py) calls it and shows what it returns."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from orders_assets.core.ingest.progress import STAGES, bottleneck_hint
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.watch import IngestWatch
from orders_assets.core.plan.planner import ingested_copies, record_copies, record_refused
from orders_assets.core.read.identity import content_digest
from orders_assets.core.read.reader import LEFT_THE_FOLDER, SourceFormatError, SourceVanishedError
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.registries import Refusal


@dataclass
class IngestStep:
    """What one step did with its files."""

    manifests: list[Manifest] = field(default_factory=list)
    refused: dict[str, Refusal] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)
    """Files that left the landing folder after the plan, with the reason."""


def ingest_each(store, files: dict[str, ChunkedSource], watch: IngestWatch, step: IngestStep,
                on_file: Callable[[str, Manifest], None], on_refused: Callable[[str, Refusal], None]) -> None:
    """The files ingested one after another into `step`: each manifest passed to `on_file` as its
    file ends, each refusal to `on_refused`; a file gone by the time it is opened joins step.gone;
    the others go on."""
    for key, chunked in files.items():
        try:
            manifest = ingest_source(chunked, store, watch.on_block)
        except SourceVanishedError:
            step.gone[key] = LEFT_THE_FOLDER
            watch.file_done(chunked.source.size, None)
            continue
        except SourceFormatError as error:
            step.refused[key] = refusal(key, chunked, error)
            on_refused(key, step.refused[key])
            watch.file_done(chunked.source.size, None)
            continue
        watch.file_done(chunked.source.size, manifest)
        step.manifests.append(manifest)
        on_file(key, manifest)


def settle_gone(store, gone: dict[str, str]) -> None:
    """Files that left the landing folder after the plan: any earlier rows of theirs retired (as the
    next plan would), each named in the skipped registry until the next plan."""
    if not gone:
        return
    for key in gone:
        store.retire(key)
    store.write_skipped(store.skipped().with_gone(gone))


def settle_copies_and_refusals(store, files: dict[str, ChunkedSource],
                               refused: dict[str, Refusal]) -> list[tuple[str, str, str]]:
    """Files whose content turned out to be another's are taken as copies (their rows counted once);
    the refused files are recorded, so the summary names both. Returns the copies (key, its
    fingerprint, the original)."""
    if not files:
        return []
    rules = next(iter(files.values())).settings  # resolved once for the step, by the IO manager
    copies = ingested_copies(store.manifests(), [key for key in files if key not in refused],
                             rules.layouts.name_fields,
                             lambda key, algorithm: content_digest(files[key].source, algorithm))
    record_copies(store, copies)
    record_refused(store, files, refused)
    return copies


def refusal(key: str, chunked: ChunkedSource, error: Exception) -> Refusal:
    """A file the ingest could not read: the error, and the file and rules it was refused under."""
    source = chunked.source
    return Refusal.of(str(error), (key, str(source.path), str(source.location)), source.fingerprint,
                      chunked.settings.fingerprint_for(key))


def time_hint(manifest: Manifest) -> str:
    """Where a file's ingest spent its time, stage by stage, and what bounded it."""
    stages = manifest.stage_seconds
    split = ", ".join(f"{stage} {stages[stage]:.1f} s" for stage in STAGES if stage in stages)
    return f"time per stage (summed over threads): {split}; {bottleneck_hint(stages, manifest.seconds, manifest.workers)}"


def file_line(key: str, manifest: Manifest) -> str:
    """A file's line in the run's log: its row accounting, time, paths and where the time went."""
    return (f"{key}: {manifest.rows_read:,} rows read, {manifest.rows_kept:,} kept, "
            f"{manifest.rows_filtered_out:,} filtered out, {manifest.rows_rejected:,} rejected "
            f"in {manifest.seconds:.1f} s ({manifest.rows_by_path[0]:,} by the compiled pass, "
            f"{manifest.rows_by_path[1]:,} by the exact path); {time_hint(manifest)}")
