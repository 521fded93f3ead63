"""The landing files, their one-pass ingest, and the (date, security) filtered order sets."""

import os
import time
from decimal import Decimal

import dagster as dg

from orders_assets.core.store.manifest import Manifest
from orders_assets.core.assemble.assembly import assemble_partitions
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.plan.planner import ingested_copies, record_copies, record_refused
from orders_assets.core.ingest.progress import (
    DEFAULT_INTERVAL_SECONDS,
    STAGES,
    MiB,
    ProgressMonitor,
    ProgressSnapshot,
    PROGRESS_FOLDER,
    StageClock,
    bottleneck_hint,
    mb_per_second,
    peak_rss_bytes,
    write_progress,
)
from orders_assets.core.read.reader import SourceFormatError
from orders_assets.core.store.order_store import parse_partition_text
from orders_assets.machine import machine_metadata
from orders_assets.partitions import (
    SOURCE_FILES,
    dagster_key,
    order_partitions,
    register_order_partitions,
    source_file_partitions,
    store_key,
)
from orders_assets.resources import OrdersSettings

CHUNKED_SOURCE_IO_MANAGER = "chunked_source_io_manager"
ENGINE_SECONDS = "engine_seconds"
"""Metadata: seconds the step spent in the core engine; the rest of a run is Dagster's."""
PROGRESS_ENV = "ORDERS_ASSETS_PROGRESS_SECONDS"
"""Seconds between two progress lines in the run's logs (default 5)."""
PER_PARTITION_METADATA_LIMIT = 100
RUN_PREFIX = "run_"
PROGRESS_FILE_SECONDS = 1.0
"""How often <data>/state/progress/<run id>.json (the terminal's progress bar) is refreshed."""

landing_orders = dg.AssetSpec(
    "landing_orders",
    partitions_def=source_file_partitions,
    group_name="landing",
    kinds={"csv", "parquet"},
    description="Order files as exported by the exchange, one partition per file in the landing folder.",
).with_io_manager_key(CHUNKED_SOURCE_IO_MANAGER)


@dg.asset(
    partitions_def=source_file_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={"landing_orders": dg.AssetIn(key=landing_orders.key)},
    group_name="ingest",
    kinds={"pyarrow"},
)
def order_files(
    context: dg.AssetExecutionContext, settings: OrdersSettings, landing_orders: dict[str, ChunkedSource]
) -> dg.MaterializeResult:
    """Parses each source file once, for all its partitions.

    Rows are validated (rejects go to the quarantine with line and reason), filtered, and the
    kept rows staged per (date, security); the (date, security) partitions found are
    registered so they can be materialized. Metadata per file: the row accounting.
    """
    started = time.perf_counter()
    store = settings.store()
    profile = settings.machine_profile()
    tuning = settings.tuning(profile)
    touched: set[tuple[str, str]] = set()
    refused: dict[str, dict] = {}
    watch = IngestWatch(context, store, [chunked.source.size for chunked in landing_orders.values()])
    try:
        for key, chunked in landing_orders.items():
            try:
                manifest = ingest_source(chunked, store, watch.on_block)
            except SourceFormatError as error:
                refused[key] = {"reason": str(error), "fingerprint": chunked.source.fingerprint,
                                "filter_fingerprint": chunked.settings.fingerprint_for(key)}
                context.log.error(f"{key}: file refused, the others go on: {error}")
                watch.file_done(chunked.source.size, None)
                continue
            watch.file_done(chunked.source.size, manifest)
            touched.update(parse_partition_text(text) for text in manifest.partitions)
            context.add_asset_metadata(_file_metadata(manifest, store), partition_key=key)
            if manifest.renamed_columns:
                context.log.warning(f"{key}: its own column(s) renamed where the pipeline adds a column of that "
                                    f"name: {manifest.renamed_columns}")
            context.log.info(
                f"{key}: {manifest.rows_read:,} rows read, {manifest.rows_kept:,} kept, "
                f"{manifest.rows_filtered_out:,} filtered out, {manifest.rows_rejected:,} rejected "
                f"in {manifest.seconds:.1f} s; {_hint(manifest)}"
            )
        copies = ingested_copies(store.manifests(), [key for key in landing_orders if key not in refused],
                                 settings.ingest_rules().layouts.name_fields)
        record_copies(store, copies)
        record_refused(store, landing_orders, refused)
        for key, _fingerprint, original in copies:
            context.log.warning(f"{key}: the same content as {original} (decompressed): taken as a copy, its rows "
                                "not counted twice")
        register_order_partitions(context.instance, touched)
        engine_seconds = time.perf_counter() - started
        summary = watch.finish(engine_seconds)
    finally:
        watch.close()
    if refused:
        raise dg.Failure(
            description=f"{len(refused)} of {len(landing_orders)} file(s) refused, the others were ingested: "
            + "; ".join(entry["reason"] for entry in refused.values()),
            metadata={"refused": dg.MetadataValue.md("\n".join(f"- {entry['reason']}" for entry in refused.values()))},
        )
    return dg.MaterializeResult(
        metadata={
            "files": len(landing_orders),
            "partitions_touched": len(touched),
            **({"copies": dg.MetadataValue.md("\n".join(f"- {key}: a copy of {original}" for key, _, original in copies))}
               if copies else {}),
            **_skipped_metadata(store),
            **summary,
            "dagster_overhead_seconds": round(max(0.0, _run_seconds(context) - engine_seconds), 3),
            ENGINE_SECONDS: round(engine_seconds, 3),
            **machine_metadata(profile, tuning),
        }
    )


def _skipped_metadata(store) -> dict:
    """The landing folder's files not read or not counted, with the reason, for the UI."""
    skipped = store.skipped_list()
    if not skipped:
        return {}
    return {"skipped": dg.MetadataValue.md("\n".join(f"- {entry['source_file']}: {entry['reason']}" for entry in skipped))}


class IngestWatch:
    """The step's progress: logged at a steady cadence, written to <data>/state/progress/<run>.json for
    `orders-assets run`'s progress bar, and summed up (throughput, memory, time split) at the end.

    Each file's partition shows its own figures (rows_read, throughput_mb_per_s, ...); the step's
    totals over all its files are named run_rows_read, run_throughput_mb_per_s, ... so that the
    file's figures do not hide them."""

    def __init__(self, context: dg.AssetExecutionContext, store, file_sizes: list[int]):
        self.context = context
        self.log_every = float(os.environ.get(PROGRESS_ENV, DEFAULT_INTERVAL_SECONDS))
        self.monitor = ProgressMonitor(file_sizes, interval_seconds=min(PROGRESS_FILE_SECONDS, self.log_every))
        self.last_log = time.monotonic()
        self.progress_file = store.state / PROGRESS_FOLDER / f"{context.run.run_id}.json"
        self.stages = StageClock()
        self.wall_seconds = 0.0
        self.workers = 1
        self.totals = dict.fromkeys(("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "bytes"), 0)

    def on_block(self, bytes_done: int, counts) -> None:
        snapshot = self.monitor.update(bytes_done, counts.rows_read, counts.rows_kept, counts.rows_rejected)
        if snapshot is not None:
            self._publish(snapshot)

    def file_done(self, size: int, manifest: Manifest | None) -> None:
        counts = (0, 0, 0) if manifest is None else (manifest.rows_read, manifest.rows_kept,
                                                      manifest.rows_rejected)
        self.monitor.file_done(size, *counts)
        if manifest is not None:
            for stage, seconds in manifest.stage_seconds.items():
                self.stages.add(stage, seconds)
            self.wall_seconds += manifest.seconds
            self.workers = manifest.workers
            for name in self.totals:
                self.totals[name] += getattr(manifest, name)

    def finish(self, engine_seconds: float) -> dict:
        """The last snapshot (published) and the step's metadata."""
        snapshot = self.monitor.snapshot()
        self._publish(snapshot, force_log=True, done=True)
        run_figures = {
            **self.totals,
            "throughput_mb_per_s": mb_per_second(self.totals["bytes"], engine_seconds),
            "rows_per_s": round(self.totals["rows_read"] / engine_seconds) if engine_seconds else 0,
            **{f"{stage}_seconds": round(seconds, 3) for stage, seconds in self.stages.seconds.items()},
            "bottleneck": dg.MetadataValue.text(bottleneck_hint(self.stages.seconds, self.wall_seconds, self.workers)),
        }
        return {"peak_rss_mib": round(snapshot.peak_rss_bytes / MiB, 1),
                **{f"{RUN_PREFIX}{name}": value for name, value in run_figures.items()}}

    def close(self) -> None:
        """Progress is a live view, not an output: its file goes when the step ends."""
        self.progress_file.unlink(missing_ok=True)

    def _publish(self, snapshot: ProgressSnapshot, force_log: bool = False, done: bool = False) -> None:
        write_progress(self.progress_file, snapshot, self.context.run.run_id, done)
        now = time.monotonic()
        if force_log or now - self.last_log >= self.log_every:
            self.last_log = now
            self.context.log.info(snapshot.line())


def _hint(manifest: Manifest) -> str:
    stages = manifest.stage_seconds
    split = ", ".join(f"{stage} {stages[stage]:.1f} s" for stage in STAGES if stage in stages)
    hint = bottleneck_hint(stages, manifest.seconds, manifest.workers)
    return f"time per stage (summed over threads): {split}; {hint}"


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
        "layout": manifest.layout,
        "partitions": len(manifest.partitions),
        "bytes": manifest.bytes,
        "seconds": seconds,
        "throughput_mb_per_s": mb_per_second(manifest.bytes, seconds),
        **{f"{stage}_seconds": value for stage, value in manifest.stage_seconds.items()},
        "bottleneck": dg.MetadataValue.text(_hint(manifest)),
        **({"quarantine": dg.MetadataValue.path(str(store.quarantine_file(manifest.source_key)))}
           if manifest.rows_rejected else {}),
        **({"renamed_columns": dg.MetadataValue.json(manifest.renamed_columns)}
           if manifest.renamed_columns else {}),
    }


def retire_sources(store, instance: dg.DagsterInstance, keys) -> None:
    """Forget sources that left the landing folder: staged rows and their file partitions."""
    for key in keys:
        store.retire(key)
        if instance.has_dynamic_partition(SOURCE_FILES, key):
            instance.delete_dynamic_partition(SOURCE_FILES, key)


@dg.asset(
    partitions_def=order_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep(order_files, partition_mapping=dg.AllPartitionMapping())],
    group_name="orders",
    kinds={"parquet"},
)
def filtered_orders(context: dg.AssetExecutionContext, settings: OrdersSettings) -> dg.MaterializeResult:
    """The filtered order set of each (date, security): by default Centre Point orders in trading hours.

    Assembled from the slices the ingest staged for this partition, from every source file
    that touches it: never a rescan of a source. Stored in orders/trade_date=D/orders.parquet
    (one file per date, rows sorted by security) with the source file and line of each row.

    Every key of the run gets its own materialization (the UI's partition status), carrying only
    per-key figures: a step's MaterializeResult metadata is copied into each of them, so the
    step's own figures (keys, totals, engine seconds, memory) go once per run in an
    AssetObservation of filtered_orders, not 75,000 times. Each key's orders and
    value are numeric metadata (Dagster plots them over its materializations) when a run builds
    at most PER_PARTITION_METADATA_LIMIT keys, as the sensor's runs do; a large backfill leaves
    them to the timeseries_daily report: in Dagster 1.13 each `add_asset_metadata(partition_key=...)`
    re-lists the dynamic partitions from the instance, so it costs O(partitions) per call.
    """
    started = time.perf_counter()
    keys = [store_key(key) for key in context.partition_keys]
    assembled = assemble_partitions(settings.store(), keys, settings.edges(), workers=settings.tuning().workers)
    if len(assembled) <= PER_PARTITION_METADATA_LIMIT:
        for part in assembled:
            context.add_asset_metadata({"orders": part.rows, "value": float(part.value)},
                                       partition_key=dagster_key(part.key))
    seconds = time.perf_counter() - started
    orders = sum(part.rows for part in assembled)
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, metadata={
        "partitions": len(assembled),
        "orders": orders,
        "value": float(sum(Decimal(part.value) for part in assembled)),
        "empty_partitions": sum(1 for part in assembled if part.rows == 0),
        "orders_per_s": round(orders / seconds) if seconds else 0,
        "peak_rss_mib": round(peak_rss_bytes() / MiB, 1),
        ENGINE_SECONDS: round(seconds, 3),
    }))
    return dg.MaterializeResult()
