"""Partition definitions, made once and imported everywhere.

Both dimensions of the order set are dynamic: securities and dates are discovered from the
data by the ingest, not declared. The dimension names are chosen so that Dagster orders keys
date-major ("2025-03-03|BHP"): a new day across all securities, the common backfill, is one
contiguous key range and so one single-run step.
"""
import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orders_assets.core.plan import key_ranges
from orders_assets.core.store import PartitionKey, partition_text

SOURCE_FILES = "source_files"
TRADE_DATES = "trade_dates"
SECURITIES = "securities"
DATE_DIMENSION = "date"
SECURITY_DIMENSION = "security"

source_file_partitions = dg.DynamicPartitionsDefinition(name=SOURCE_FILES)
trade_date_partitions = dg.DynamicPartitionsDefinition(name=TRADE_DATES)
security_partitions = dg.DynamicPartitionsDefinition(name=SECURITIES)
order_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: trade_date_partitions, SECURITY_DIMENSION: security_partitions}
)


def add_partition_keys(instance: dg.DagsterInstance, name: str, keys) -> list[str]:
    """Add the keys not yet in dynamic partitions `name`, in the given order; return those added.

    Runs that start together (the sensor's and a manual one) may add the same key at once; the
    instance's unique constraint then refuses the second insert, which here just means 'already
    there': the known keys are read again and only the rest is added.
    """
    from sqlalchemy.exc import IntegrityError  # Dagster's SQL storages raise it as is

    wanted = list(dict.fromkeys(keys))
    for _ in range(5):
        known = set(instance.get_dynamic_partitions(name))
        new = [key for key in wanted if key not in known]
        if not new:
            return []
        try:
            instance.add_dynamic_partitions(name, new)
            return new
        except IntegrityError:
            continue
    raise RuntimeError(f"could not register partitions {new[:5]} of {name}: other processes keep adding them")


def register_order_partitions(instance: dg.DagsterInstance, keys) -> None:
    """Add the dates and securities not yet known, in sorted order (dates stay chronological)."""
    add_partition_keys(instance, TRADE_DATES, sorted({key[0] for key in keys}))
    add_partition_keys(instance, SECURITIES, sorted({key[1] for key in keys}))


def source_file_ranges(instance: dg.DagsterInstance, keys) -> list[tuple[str, str]]:
    """Register the source files and cover them with (first, last) ranges: one single-run backfill each."""
    add_partition_keys(instance, SOURCE_FILES, keys)
    return key_ranges(source_file_partitions.get_partition_keys(dynamic_partitions_store=instance), keys)


def order_partition_ranges(instance: dg.DagsterInstance, keys: list[PartitionKey],
                           max_gap: int = 0) -> list[tuple[str, str]]:
    """Register the (date, security) keys and cover them with ranges, spanning at most `max_gap` others."""
    register_order_partitions(instance, keys)
    ordered = order_partitions.get_partition_keys(dynamic_partitions_store=instance)
    return key_ranges(ordered, [partition_text(key) for key in keys], max_gap)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make a run a single-run backfill of the keys from first to last."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
