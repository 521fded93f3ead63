"""Partition definitions, made once and imported everywhere.

Both dimensions of the order set are dynamic: securities and dates are discovered from the
data by the ingest, not declared. Keys print date first ("2025-03-03|BHP": dimension names in
alphabetical order). Dagster resolves a range of these keys as the product of its date range and
its security range (each in its dimension's order: securities in the order they were first
seen), so the ranges handed to runs are rectangles (core/ranges.py): a new day across all
securities, the common backfill, is one rectangle and so one single-run step.
"""
from collections.abc import Mapping

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orders_assets.core.ranges import balanced_ranges, partition_rectangles
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


def source_file_ranges(instance: dg.DagsterInstance, weights: Mapping[str, int],
                       parts: int = 1) -> list[tuple[str, str]]:
    """Register the source files and cover them with (first, last) ranges: one single-run backfill each.

    `weights` maps each file to its size: with `parts` > 1 the ranges are cut into about `parts`
    pieces of equal bytes, for as many workers."""
    add_partition_keys(instance, SOURCE_FILES, weights)
    ordered = source_file_partitions.get_partition_keys(dynamic_partitions_store=instance)
    return balanced_ranges(ordered, weights, parts)


def order_partition_ranges(instance: dg.DagsterInstance, weights: Mapping[PartitionKey, int], max_gap: int = 0,
                           parts: int = 1) -> list[tuple[str, str]]:
    """Register the (date, security) keys and cover them with ranges: rectangles of dates x
    securities (how Dagster resolves a multi-partition range), each holding at most `max_gap`
    unwanted keys per date.

    `weights` maps each key to its rows: with `parts` > 1 the rectangles are cut into about
    `parts` pieces of equal rows."""
    register_order_partitions(instance, weights)
    dates = trade_date_partitions.get_partition_keys(dynamic_partitions_store=instance)
    securities = security_partitions.get_partition_keys(dynamic_partitions_store=instance)
    return [(partition_text(first), partition_text(last))
            for first, last in partition_rectangles(dates, securities, weights, parts, max_gap)]


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make a run a single-run backfill of the keys from first to last."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
