"""The landing files, their one-pass ingest, and the (date, security) filtered order sets."""

import time

import dagster as dg

from orders_assets.core.assemble import assemble_partitions
from orders_assets.core.ingest import ChunkedSource, ingest_source
from orders_assets.core.reader import SourceFormatError
from orders_assets.core.store import parse_partition_text
from orders_assets.machine import machine_metadata
from orders_assets.partitions import (
    SOURCE_FILES,
    order_partitions,
    register_order_partitions,
    source_file_partitions,
)
from orders_assets.resources import OrdersSettings

CHUNKED_SOURCE_IO_MANAGER = "chunked_source_io_manager"
ENGINE_SECONDS = "engine_seconds"
"""Metadata: seconds the step spent in the core engine; the rest of a run is Dagster's."""

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
    refused: dict[str, str] = {}
    for key, chunked in landing_orders.items():
        try:
            manifest = ingest_source(chunked, store)
        except SourceFormatError as error:
            refused[key] = str(error)
            context.log.error(f"{key}: file refused, the others go on: {error}")
            continue
        touched.update(parse_partition_text(text) for text in manifest["partitions"])
        context.add_asset_metadata(_file_metadata(manifest, store), partition_key=key)
        context.log.info(
            f"{key}: {manifest['rows_read']} rows read, {manifest['rows_kept']} kept, "
            f"{manifest['rows_filtered_out']} filtered out, {manifest['rows_rejected']} rejected"
        )
    register_order_partitions(context.instance, touched)
    if refused:
        raise dg.Failure(
            description=f"{len(refused)} of {len(landing_orders)} file(s) refused, the others were ingested: "
            + "; ".join(refused.values()),
            metadata={"refused": dg.MetadataValue.md("\n".join(f"- {error}" for error in refused.values()))},
        )
    return dg.MaterializeResult(
        metadata={
            "files": len(landing_orders),
            "partitions_touched": len(touched),
            ENGINE_SECONDS: round(time.perf_counter() - started, 3),
            **machine_metadata(profile, tuning),
        }
    )


def _file_metadata(manifest: dict, store) -> dict:
    return {
        "rows_read": manifest["rows_read"],
        "rows_kept": manifest["rows_kept"],
        "rows_filtered_out": manifest["rows_filtered_out"],
        "rows_rejected": manifest["rows_rejected"],
        "rows_not_orders": manifest.get("rows_not_orders", 0),
        "layout": manifest.get("layout", "canonical"),
        "partitions": len(manifest["partitions"]),
        "bytes": manifest["bytes"],
        "seconds": manifest["seconds"],
        "quarantine": dg.MetadataValue.path(str(store.quarantine_file(manifest["source_key"]))),
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
    that touches it: never a rescan of a source. Written to
    orders/trade_date=D/security_code=S.parquet with the source file and line of each row.

    Figures per partition are in the timeseries_daily report rather than in per-partition
    metadata: in Dagster 1.13 each `add_asset_metadata(partition_key=...)` re-lists the dynamic
    partitions from the instance, so per-partition metadata costs O(partitions) per call.
    """
    started = time.perf_counter()
    keys = [parse_partition_text(key) for key in context.partition_keys]
    assembled = assemble_partitions(settings.store(), keys, settings.edges(), workers=settings.tuning().workers)
    return dg.MaterializeResult(
        metadata={
            "partitions": len(assembled),
            "orders": sum(part.rows for part in assembled),
            "empty_partitions": sum(1 for part in assembled if part.rows == 0),
            ENGINE_SECONDS: round(time.perf_counter() - started, 3),
        }
    )
