"""Partition definitions, made once and imported everywhere.

Both dimensions of the order set are dynamic: securities and dates are discovered from the
data by the ingest, not declared. Keys print date first ("2025-03-03|BHP": dimension names in
alphabetical order). Dagster resolves a range of these keys as the product of its date range and
its security range (each in its dimension's order: securities in the order they were first
seen), so the ranges handed to runs are rectangles (core/plan/ranges.py): a new day across all
securities, the common backfill, is one rectangle and so one single-run step.
"""
from collections.abc import Mapping
from urllib.parse import unquote

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orders_assets.core.plan.ranges import DEFAULT_MAX_GAP, EXACT_RUN_BUDGET, balanced_ranges, partition_cover
from orders_assets.core.store.keys import PartitionKey

from orders_assets.glue.names import DATE_DIMENSION, SECURITIES, SECURITY_DIMENSION, SOURCE_FILES, TRADE_DATES

source_file_partitions = dg.DynamicPartitionsDefinition(name=SOURCE_FILES)
trade_date_partitions = dg.DynamicPartitionsDefinition(name=TRADE_DATES)
security_partitions = dg.DynamicPartitionsDefinition(name=SECURITIES)
order_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: trade_date_partitions, SECURITY_DIMENSION: security_partitions}
)


ESCAPED_IN_KEYS = frozenset("%|,[]")
"""Characters of a security code that its Dagster key escapes: `|` joins the dimensions of a
multi-partition key (Dagster would split "2025-03-03|A|B" into three), `,` and `[]` delimit key
lists and ranges in the UI and CLI, and `%` is the escape itself."""


def security_key(code: str) -> str:
    """The Dagster key of a security code: the code itself unless it holds a character of
    ESCAPED_IN_KEYS or a control character, which are written %XX (UTF-8 bytes). Reversible
    (security_code), so the code stays exact in the data and reports; only the key differs."""
    return "".join("".join(f"%{byte:02X}" for byte in char.encode()) if _escaped_in_keys(char) else char
                   for char in code)


def _escaped_in_keys(char: str) -> bool:
    return char in ESCAPED_IN_KEYS or ord(char) < 0x20 or ord(char) == 0x7F


def security_code(key: str) -> str:
    """The security code of a Dagster security key (security_key's inverse)."""
    return unquote(key) if "%" in key else key


def dagster_key(key: PartitionKey) -> str:
    """The Dagster multi-partition key of a (date, security) partition: '2025-03-03|BHP'."""
    return f"{key[0]}|{security_key(key[1])}"


def store_key(text: str) -> PartitionKey:
    """The (date, security) partition of a Dagster multi-partition key (dagster_key's inverse)."""
    trade_date, security = PartitionKey.from_text(text)
    return PartitionKey(trade_date, security_code(security))


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
    add_partition_keys(instance, SECURITIES, [security_key(code) for code in sorted({key[1] for key in keys})])


def source_file_ranges(instance: dg.DagsterInstance, weights: Mapping[str, int],
                       parts: int = 1) -> list[tuple[str, str]]:
    """Register the source files and cover them with (first, last) ranges: one single-run backfill each.

    `weights` maps each file to its size: with `parts` > 1 the ranges are cut into about `parts`
    pieces of equal bytes, for as many workers."""
    add_partition_keys(instance, SOURCE_FILES, weights)
    ordered = source_file_partitions.get_partition_keys(dynamic_partitions_store=instance)
    return balanced_ranges(ordered, weights, parts)


def order_partition_ranges(instance: dg.DagsterInstance, weights: Mapping[PartitionKey, int], parts: int = 1,
                           max_gap: int = DEFAULT_MAX_GAP,
                           exact_run_budget: int = EXACT_RUN_BUDGET) -> list[tuple[str, str]]:
    """Register the (date, security) keys and cover them with ranges: rectangles of dates x
    securities (how Dagster resolves a multi-partition range) holding exactly the wanted keys
    when that takes at most `exact_run_budget` runs, else joined while that adds at most `max_gap`
    unwanted keys per date (core.plan.ranges.partition_cover).

    `weights` maps each key to its rows: with `parts` > 1 the rectangles are cut into about
    `parts` pieces of equal rows."""
    register_order_partitions(instance, weights)
    dates = trade_date_partitions.get_partition_keys(dynamic_partitions_store=instance)
    securities = [security_code(key) for key in security_partitions.get_partition_keys(dynamic_partitions_store=instance)]
    return [(dagster_key(first), dagster_key(last))
            for first, last in partition_cover(dates, securities, weights, parts, max_gap, exact_run_budget)]


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make a run a single-run backfill of the keys from first to last."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def retire_sources(store, instance: dg.DagsterInstance, keys) -> None:
    """Forget sources that left the landing folder: staged rows and their file partitions."""
    for key in keys:
        store.retire(key)
        if instance.has_dynamic_partition(SOURCE_FILES, key):
            instance.delete_dynamic_partition(SOURCE_FILES, key)
