"""The Dagster UI's partition status of filtered_orders, brought up to date after a backfill.

The UI shows which (date, security) cells exist from Dagster's asset status cache, stored on the
instance and updated from the materializations recorded since the last update. The first page
that asks after a large backfill pays for all of them: measured at 150,000 keys, 13.3 s for the
first partition-status query against 2.9 s once the cache was current (75,000 keys: building it
took 5.0 s, bringing a current one up to date 0.2 s). `orders-assets run` updates the cache
itself when its partition runs end, with Dagster's own function, so the analyst who opens the
UI after a year's backfill does not wait for it.
"""
import time

import dagster as dg
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from orders_assets.glue.assets.order_sets import filtered_orders


def refresh_partition_status(instance: dg.DagsterInstance) -> float:
    """Update the stored status of filtered_orders' partitions; the seconds it took."""
    started = time.perf_counter()
    get_and_update_asset_status_cache_value(instance, filtered_orders.key, filtered_orders.partitions_def)
    return time.perf_counter() - started
