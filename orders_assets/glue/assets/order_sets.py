"""The (date, security) filtered order sets: filtered_orders, assembled from what the ingest staged
(core/assemble), each key's own figures on its materialization."""
import time

import dagster as dg

from orders_assets.core.assemble.assembly import assemble_partitions
from orders_assets.core.assemble.sums import exact_decimal_sum
from orders_assets.core.ingest.progress import MiB, peak_rss_bytes
from orders_assets.glue.assets.orders import order_files
from orders_assets.glue.names import ENGINE_SECONDS, FILTERED_ORDERS, ORDERS_GROUP
from orders_assets.glue.partitions import dagster_key, order_partitions, store_key
from orders_assets.glue.resources import OrdersSettings, step_lease
from orders_assets.platform.partition_metadata import add_partition_metadata


def partition_metadata(part) -> dict:
    """One (date, security) key's own figures, exact: money as text, never a float."""
    return {
        "dagster/row_count": part.rows,
        "quantity": part.quantity if isinstance(part.quantity, int) else dg.MetadataValue.text(str(part.quantity)),
        "value": dg.MetadataValue.text(part.value),
        "stored_in": dg.MetadataValue.path(str(part.path)) if part.path is not None else dg.MetadataValue.text(
            "no rows: no file holds this key"),
        **({} if part.overlap.empty else {
            "rows_duplicated_across_files": part.overlap.rows_duplicated,
            "rows_superseded": part.overlap.rows_superseded,
            "rows_deduplicated": part.overlap.rows_deduplicated,
            "overlapping_files": dg.MetadataValue.text(", ".join(sorted(
                {name for pair in part.overlap.pairs for name in pair[:2]} | set(part.overlap.superseded)))),
        }),
    }


@dg.asset(
    name=FILTERED_ORDERS,
    partitions_def=order_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep(order_files, partition_mapping=dg.AllPartitionMapping())],
    group_name=ORDERS_GROUP,
    kinds={"parquet"},
)
def filtered_orders(context: dg.AssetExecutionContext, settings: OrdersSettings) -> dg.MaterializeResult:
    """The filtered order set of each (date, security): by default Centre Point orders in trading hours.

    Built from what the ingest kept of every source file that holds this (date, security), never
    by reading a source file again. Stored in orders/trade_date=D/orders.parquet (one file per
    date, rows sorted by security), each row with the source file and line it came from. Each
    partition shows its own figures: its order events (dagster/row_count: every event of the
    order set, AMEND and CANCEL rows included, as the contract counts them), quantity, value
    (exact, as text) and the file that holds its rows.

    The grid is every trade date seen by every security seen; a cell the grid shows as missing is
    a (date, security) no current file has rows for (a security that did not trade that day, or
    traded no order of the filter): nothing to build, not a fault. A load too ragged for an exact
    cover of at most 16 runs (a year's first load, core/plan/ranges.py) records such cells inside
    its rectangles as materialized, with 0 rows and "no rows: no file holds this key".
    """
    # Each key gets its own materialization (the UI's partition status) carrying only its own
    # figures: Dagster copies a step's MaterializeResult metadata into each of them, so the step's
    # own figures go once per run in an AssetObservation, not 75,000 times. The keys' figures are
    # added in one pass (platform/partition_metadata.py), at every backfill size.
    started = time.perf_counter()
    step_keys = context.partition_keys  # listed once: each access lists the definition's keys again
    store = settings.store()
    with step_lease(settings):
        assembled = assemble_partitions(store, [store_key(key) for key in step_keys],
                                        workers=settings.tuning().workers)
    add_partition_metadata(context, {dagster_key(part.key): partition_metadata(part)
                                     for part in assembled if not part.alongside}, step_keys)
    for part in assembled:
        if part.alongside:  # its date's columns changed, so its rows were written again: the UI says so
            context.log_event(dg.AssetMaterialization(asset_key=context.asset_key, partition=dagster_key(part.key),
                                                      metadata=partition_metadata(part)))
    seconds = time.perf_counter() - started
    orders = sum(part.rows for part in assembled)
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, metadata={
        "partitions": len(assembled),
        "orders": orders,
        "value": dg.MetadataValue.text(str(exact_decimal_sum(part.value for part in assembled))),
        "empty_partitions": sum(1 for part in assembled if part.rows == 0),
        "overlap": dg.MetadataValue.text(store.overlap.text),
        "rows_duplicated_across_files": sum(part.overlap.rows_duplicated for part in assembled),
        "rows_superseded": sum(part.overlap.rows_superseded for part in assembled),
        "rows_deduplicated": sum(part.overlap.rows_deduplicated for part in assembled),
        "orders_per_s": round(orders / seconds) if seconds else 0,
        "peak_rss_mib": round(peak_rss_bytes() / MiB, 1),
        ENGINE_SECONDS: round(seconds, 3),
    }))
    return dg.MaterializeResult()
