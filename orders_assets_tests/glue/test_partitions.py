"""Ranges handed to Dagster resolve, under Dagster's own rules, to exactly the wanted partitions."""
import itertools

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context

from orders_assets.glue.partitions import order_partition_ranges, order_partitions, source_file_partitions, source_file_ranges


def resolved(partitions_def, ranges, instance):
    """Each range's keys as Dagster materializes them in a single-run backfill."""
    with partition_loading_context(dynamic_partitions_store=instance):
        return [set(partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))
                for first, last in ranges]


def test_order_ranges_are_disjoint_rectangles_that_hold_every_wanted_partition():
    instance = dg.DagsterInstance.ephemeral()
    first_load = dict.fromkeys(itertools.product(["2025-03-03", "2025-03-04"], ["BHP", "CBA", "WOW"]), 5)
    order_partition_ranges(instance, first_load)
    # A later file brings a new date and a security that sorts first but is registered last.
    wanted = {("2025-03-05", "AAA"): 40, ("2025-03-05", "BHP"): 10, ("2025-03-05", "WOW"): 10, ("2025-03-03", "CBA"): 30}
    last_range = {}
    for parts in (1, 2, 3):
        ranges = order_partition_ranges(instance, wanted, parts, max_gap=1, exact_run_budget=0)
        pieces = resolved(order_partitions, ranges, instance)
        union = set().union(*pieces)
        assert {f"{date}|{security}" for date, security in wanted} <= union
        assert sum(len(piece) for piece in pieces) == len(union)
        assert len(ranges) == max(2, parts)  # dates 03 and 05 apart (04 between), then halves by rows
        last_range[parts] = ranges[-1]
    # Securities in the dynamic order (AAA was registered last); with three parts the exact cover
    # (2025-03-05's BHP, then WOW..AAA: CBA has no rows there) takes no extra run, so it is taken.
    assert last_range == {1: ("2025-03-05|BHP", "2025-03-05|AAA"), 2: ("2025-03-05|BHP", "2025-03-05|AAA"),
                          3: ("2025-03-05|WOW", "2025-03-05|AAA")}


def test_source_files_are_cut_by_bytes_into_one_range_per_worker():
    instance = dg.DagsterInstance.ephemeral()
    ranges = source_file_ranges(instance, {"a.csv": 500, "b.csv": 400, "c.csv": 120}, parts=2)
    assert ranges == [("a.csv", "a.csv"), ("b.csv", "c.csv")]
    assert [len(piece) for piece in resolved(source_file_partitions, ranges, instance)] == [1, 2]
