"""The landing files and their one-pass ingest (order_files): the step's work is core's
(core/plan/ingest_step.py); this module shows it in Dagster. The order sets are in order_sets.py."""

import os
import time

import dagster as dg

from orders_assets.core.ingest.progress import DEFAULT_INTERVAL_SECONDS, mb_per_second
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.ingest.watch import IngestWatch, progress_file
from orders_assets.core.plan.ingest_step import (IngestStep, file_line, ingest_each, refusal,
                                                 settle_copies_and_refusals, settle_gone, time_hint)
from orders_assets.core.read.reader import LEFT_THE_FOLDER, SourceFormatError, SourceVanishedError
from orders_assets.core.report.markdown import markdown_text
from orders_assets.core.store.keys import PartitionKey
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.registries import Refusal
from orders_assets.glue.assets.pieces import cut_in_run, run_piece, with_piece_workers
from orders_assets.glue.console_logger import REFUSED_LOG, REFUSED_METADATA
from orders_assets.glue.machine import machine_metadata
from orders_assets.glue.names import (CHUNKED_SOURCE_IO_MANAGER, CUT_TAG, ENGINE_SECONDS, INGEST_GROUP, LANDING_GROUP,
                                      LANDING_ORDERS, ORDER_FILES, PIECE_TAG)
from orders_assets.glue.partitions import register_order_partitions, source_file_partitions
from orders_assets.glue.resources import OrdersSettings, step_lease
from orders_assets.platform.partition_metadata import add_partition_metadata

PROGRESS_ENV = "ORDERS_ASSETS_PROGRESS_SECONDS"
"""Seconds between two progress lines in the run's logs (default 5)."""
FILE_LINES_LOGGED = 20
"""Files of a step whose line (file_line) the run's log shows one by one; past them one line says how
many more, each file's figures staying on its order_files partition. Dagster stores every log line as
an event of its own (two SQLite transactions): a thousand-file step spent most of its time on them."""

landing_orders = dg.AssetSpec(
    LANDING_ORDERS,
    partitions_def=source_file_partitions,
    group_name=LANDING_GROUP,
    kinds={"csv", "parquet"},
    description="Order files as exported by the exchange, one partition per file in the landing folder.",
).with_io_manager_key(CHUNKED_SOURCE_IO_MANAGER)


@dg.asset(
    name=ORDER_FILES,
    partitions_def=source_file_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={LANDING_ORDERS: dg.AssetIn(key=landing_orders.key)},
    group_name=INGEST_GROUP,
    kinds={"pyarrow"},
    output_required=False,
)
def order_files(
    context: dg.AssetExecutionContext, settings: OrdersSettings, landing_orders: dict[str, ChunkedSource]
):
    """Each order file of the landing folder, read once for every (date, security) it holds.

    Every row is checked against the data contract: a row that breaks it goes to the file's
    quarantine with its line, column and reason; the others are filtered (by default Centre Point
    orders in trading hours) and kept for their (date, security). Each file's partition shows its
    row accounting (read = kept + filtered out + rejected) and where its time went. A file that
    cannot be read at all is refused with the reason and the fix; the other files are ingested.
    The (date, security) partitions found appear under filtered_orders, ready to materialize.

    A big file may be cut into pieces, each a run of its own (assets/pieces.py): the file is
    materialized by the step that finds every piece done, its cut and pieces shown as
    observations of its partition meanwhile.

    A file that left the landing folder after the run was planned is not read, and is not a
    refusal: it is named in the step's metadata and the run's output, and any earlier rows of it
    are retired, as the next plan would.
    """
    tags = context.run.tags
    gone = {key: LEFT_THE_FOLDER for key in context.partition_keys if key not in landing_orders}  # not handed
    with step_lease(settings):
        if not landing_orders:
            _settle_gone(context, settings.store(), gone)
            return
        if PIECE_TAG in tags:
            result = _ingest_one_piece(context, settings, landing_orders)
        elif CUT_TAG in tags and _cut_only(context, settings, landing_orders, int(tags[CUT_TAG])):
            result = None  # cut and recorded: its pieces are the next runs
        else:
            result = _ingest_files(context, settings, landing_orders, gone=gone)
    if result is not None:
        yield result


def _cut_only(context: dg.AssetExecutionContext, settings: OrdersSettings, landing_orders: dict[str, ChunkedSource],
              parts: int) -> bool:
    [(key, chunked)] = landing_orders.items()
    return cut_in_run(context, settings.store(), key, chunked, parts, settings.piece_bytes)


def _ingest_files(context: dg.AssetExecutionContext, settings: OrdersSettings,
                  landing_orders: dict[str, ChunkedSource], committed_pieces: Manifest | None = None,
                  started: float | None = None, gone: dict[str, str] | None = None) -> dg.MaterializeResult:
    """The step over whole files (or over the manifest the last piece of a file committed); `gone`:
    the step's files the IO manager found no longer in the landing folder."""
    gone = dict(gone or {})
    started = started if started is not None else time.perf_counter()
    store = settings.store()
    profile = settings.machine_profile()
    tuning = settings.tuning(profile)
    watch = IngestWatch(progress_file(store.state, context.run.run_id), context.run.run_id,
                        [chunked.source.size for chunked in landing_orders.values()],
                        log=context.log.info, log_every=_progress_seconds())
    figures: dict[str, dict] = {}
    """Each file's figures, for its partition of order_files (added in one pass at the step's end)."""
    try:
        step = IngestStep(gone=gone)
        if committed_pieces is not None:
            step.manifests.append(committed_pieces)
            watch.file_done(committed_pieces.bytes, committed_pieces)
            _show_file(context, store, committed_pieces.source_key, committed_pieces, figures)
        else:
            ingest_each(store, landing_orders, watch, step,
                        lambda key, manifest: _show_file(context, store, key, manifest, figures),
                        lambda key, refused: context.log.error(f"{key}: {REFUSED_LOG}: {refused.reason}"))
            if len(figures) > FILE_LINES_LOGGED:
                context.log.info(f"... and {len(figures) - FILE_LINES_LOGGED:,} more file(s) ingested: each file's "
                                 "rows and time are on its partition of order_files")
        add_partition_metadata(context, figures, context.partition_keys)
        _settle_gone(context, store, step.gone)
        copies = _settle_copies_and_refusals(context, store, landing_orders, step.refused)
        touched = {PartitionKey.from_text(text) for manifest in step.manifests for text in manifest.partitions}
        register_order_partitions(context.instance, touched)
        engine_seconds = time.perf_counter() - started
        step_figures = watch.finish(engine_seconds)
    finally:
        watch.close()
    if step.refused:
        raise _refused_failure(step.refused, len(landing_orders))
    return dg.MaterializeResult(
        metadata={
            "files": len(landing_orders),
            "partitions_touched": len(touched),
            **_copies_metadata(copies),
            **_gone_metadata(gone),
            **_skipped_metadata(store),
            **step_figures,
            "dagster_overhead_seconds": round(max(0.0, _run_seconds(context) - engine_seconds), 3),
            ENGINE_SECONDS: round(engine_seconds, 3),
            **machine_metadata(profile, tuning),
        }
    )


def _ingest_one_piece(context: dg.AssetExecutionContext, settings: OrdersSettings,
                      landing_orders: dict[str, ChunkedSource]) -> dg.MaterializeResult | None:
    """One piece of one file; the file's materialization when this step finds all its pieces done."""
    started = time.perf_counter()
    [(key, chunked)] = landing_orders.items()
    store = settings.store()
    try:
        manifest = run_piece(context, store, key, with_piece_workers(chunked, context.run.tags),
                             context.run.tags[PIECE_TAG], _progress_seconds())
    except SourceFormatError as error:  # the file changed or broke since it was cut: refused, as one step does
        refused = refusal(key, chunked, error)
        _settle_copies_and_refusals(context, store, landing_orders, {key: refused})
        raise _refused_failure({key: refused}, 1) from None
    except SourceVanishedError:
        _settle_gone(context, store, {key: LEFT_THE_FOLDER})
        return None
    if manifest is None:
        return None
    return _ingest_files(context, settings, landing_orders, manifest, started)


def _progress_seconds() -> float:
    return float(os.environ.get(PROGRESS_ENV, DEFAULT_INTERVAL_SECONDS))


def _show_file(context: dg.AssetExecutionContext, store, key: str, manifest: Manifest, figures: dict) -> None:
    """A file's figures into `figures` (for its partition of order_files); its line in the run's log
    while the step has shown at most FILE_LINES_LOGGED; a column renamed is always said. Dagster's
    add_asset_metadata lists the step's keys at each call: a thousand files' metadata cost 36 s one by
    one, so the step adds them all in one pass (platform/partition_metadata.py)."""
    figures[key] = _file_metadata(manifest, store)
    if manifest.renamed_columns:
        context.log.warning(f"{key}: its own column(s) renamed where the pipeline adds a column of that "
                            f"name: {manifest.renamed_columns}")
    if len(figures) <= FILE_LINES_LOGGED:
        context.log.info(file_line(key, manifest))


def _settle_gone(context: dg.AssetExecutionContext, store, gone: dict[str, str]) -> None:
    """Files that left the landing folder after the plan: retired and named (core), and logged."""
    settle_gone(store, gone)
    for key, reason in sorted(gone.items()):
        context.log.warning(f"{key}: {reason}")


def _settle_copies_and_refusals(context: dg.AssetExecutionContext, store, landing_orders: dict[str, ChunkedSource],
                                refused: dict[str, Refusal]) -> list:
    """Copies taken and refusals recorded (core), each copy said in the run's log."""
    copies = settle_copies_and_refusals(store, landing_orders, refused)
    for key, _fingerprint, original in copies:
        context.log.warning(f"{key}: the same content as {original} (decompressed): taken as a copy, its rows "
                            "not counted twice")
    return copies


def _refused_failure(refused: dict[str, Refusal], files: int) -> dg.Failure:
    return dg.Failure(
        description=f"{len(refused)} of {files} file(s) refused, the others were ingested: "
        + "; ".join(f"{key}: {entry.reason}" for key, entry in refused.items()),
        metadata={REFUSED_METADATA: dg.MetadataValue.md("\n".join(f"- {markdown_text(key)}: {markdown_text(entry.reason)}"
                                                                   for key, entry in refused.items()))},
    )


def _copies_metadata(copies: list) -> dict:
    if not copies:
        return {}
    return {"copies": dg.MetadataValue.md("\n".join(f"- {markdown_text(key)}: a copy of {markdown_text(original)}"
                                                    for key, _, original in copies))}


def _gone_metadata(gone: dict[str, str]) -> dict:
    if not gone:
        return {}
    return {"gone": dg.MetadataValue.md("\n".join(f"- {markdown_text(key)}: {markdown_text(reason)}"
                                                 for key, reason in sorted(gone.items())))}


def _skipped_metadata(store) -> dict:
    """The landing folder's files not read or not counted, with the reason, for the UI."""
    skipped = store.skipped_list()
    if not skipped:
        return {}
    return {"skipped": dg.MetadataValue.md("\n".join(
        f"- {markdown_text(entry['source_file'])}: {markdown_text(entry['reason'])}" for entry in skipped))}


def _run_seconds(context: dg.AssetExecutionContext) -> float:
    """Seconds since this run started (its record's start time), to tell Dagster's share of it."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    start = record.start_time if record is not None else None
    return time.time() - start if start else 0.0


def _file_metadata(manifest: Manifest, store) -> dict:
    seconds = manifest.seconds
    return {
        "rows_read": manifest.rows_read,
        "rows_kept": manifest.rows_kept,
        "rows_filtered_out": manifest.rows_filtered_out,
        "rows_rejected": manifest.rows_rejected,
        "rows_not_orders": manifest.rows_not_orders,
        "rows_read_compiled": manifest.rows_by_path[0],
        "rows_read_exact": manifest.rows_by_path[1],
        "rows_rounded": manifest.rows_rounded,
        "layout": manifest.layout,
        "pieces": manifest.pieces,
        "partitions": len(manifest.partitions),
        "bytes": manifest.bytes,
        "seconds": seconds,
        "throughput_mb_per_s": mb_per_second(manifest.bytes, seconds),
        **{f"{stage}_seconds": value for stage, value in manifest.stage_seconds.items()},
        "bottleneck": dg.MetadataValue.text(time_hint(manifest)),
        **({"quarantine": dg.MetadataValue.path(str(store.quarantine_file(manifest.source_key)))}
           if manifest.rows_rejected else {}),
        **({"renamed_columns": dg.MetadataValue.json(manifest.renamed_columns)}
           if manifest.renamed_columns else {}),
    }
