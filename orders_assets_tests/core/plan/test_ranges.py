"""Cutting wanted keys into single-run backfill ranges: runs of files, rectangles of partitions."""
import itertools

import pytest

from orders_assets.core.plan.ranges import balanced_ranges, key_ranges, partition_cover, partition_rectangles

DATES = ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]
SECURITIES = ["ANZ", "BHP", "CBA", "CSL", "WOW"]


def test_key_ranges_merge_keys_within_the_gap():
    ordered = [f"k{i:02d}" for i in range(20)]
    assert key_ranges(ordered, ["k01", "k02", "k03", "k10"]) == [("k01", "k03"), ("k10", "k10")]
    assert key_ranges(ordered, ["k01", "k03", "k10"], max_gap=1) == [("k01", "k03"), ("k10", "k10")]
    assert key_ranges(ordered, ["k01", "k10"], max_gap=8) == [("k01", "k10")]
    assert key_ranges(ordered, []) == []
    with pytest.raises(KeyError, match="nope"):
        key_ranges(ordered, ["nope"])


def test_files_of_equal_size_go_one_to_each_part():
    ordered = ["a.csv", "b.csv"]
    assert balanced_ranges(ordered, {"a.csv": 100, "b.csv": 101}, parts=1) == [("a.csv", "b.csv")]
    assert balanced_ranges(ordered, {"a.csv": 100, "b.csv": 101}, parts=2) == [("a.csv", "a.csv"), ("b.csv", "b.csv")]


def test_a_heavy_file_is_never_split_and_the_light_ones_share_a_part():
    ordered = ["a.csv", "b.csv", "c.csv", "d.csv"]
    weights = {"a.csv": 1_000, "b.csv": 10, "c.csv": 10, "d.csv": 10}
    assert balanced_ranges(ordered, weights, parts=2) == [("a.csv", "a.csv"), ("b.csv", "d.csv")]
    assert balanced_ranges(ordered, weights, parts=9) == [(key, key) for key in ordered]


def covered(rectangles):
    """The keys Dagster materializes for each rectangle: the product of its dates and securities."""
    keys = []
    for (first_date, first_security), (last_date, last_security) in rectangles:
        dates = DATES[DATES.index(first_date):DATES.index(last_date) + 1]
        securities = SECURITIES[SECURITIES.index(first_security):SECURITIES.index(last_security) + 1]
        keys.append(set(itertools.product(dates, securities)))
    return keys


def assert_exact_disjoint_cover(rectangles, wanted, max_extra=0):
    pieces = covered(rectangles)
    union = set().union(*pieces)
    assert wanted <= union
    assert len(union - wanted) <= max_extra
    assert sum(len(piece) for piece in pieces) == len(union), "a partition is in two rectangles"


def test_a_full_load_is_one_rectangle_and_splits_by_dates_for_two_workers():
    wanted = dict.fromkeys(itertools.product(DATES, SECURITIES), 10)
    assert partition_rectangles(DATES, SECURITIES, wanted) == [(("2025-03-03", "ANZ"), ("2025-03-06", "WOW"))]
    halves = partition_rectangles(DATES, SECURITIES, wanted, parts=2)
    assert halves == [(("2025-03-03", "ANZ"), ("2025-03-04", "WOW")), (("2025-03-05", "ANZ"), ("2025-03-06", "WOW"))]
    assert_exact_disjoint_cover(halves, set(wanted))


def test_one_day_splits_by_securities_weighted_by_rows():
    wanted = {("2025-03-05", security): rows for security, rows in zip(SECURITIES, [50, 10, 10, 10, 20])}
    halves = partition_rectangles(DATES, SECURITIES, wanted, parts=2)
    assert halves == [(("2025-03-05", "ANZ"), ("2025-03-05", "ANZ")), (("2025-03-05", "BHP"), ("2025-03-05", "WOW"))]
    assert_exact_disjoint_cover(halves, set(wanted))


def test_scattered_corrections_are_not_widened_into_one_large_rectangle():
    wanted = {("2025-03-03", "WOW"): 1, ("2025-03-04", "ANZ"): 1}
    rectangles = partition_rectangles(DATES, SECURITIES, wanted, max_gap=0)
    assert rectangles == [(("2025-03-03", "WOW"), ("2025-03-03", "WOW")), (("2025-03-04", "ANZ"), ("2025-03-04", "ANZ"))]
    widened = partition_rectangles(DATES, SECURITIES, wanted, max_gap=4)
    assert widened == [(("2025-03-03", "ANZ"), ("2025-03-04", "WOW"))]
    assert_exact_disjoint_cover(widened, set(wanted), max_extra=8)


def test_ragged_keys_over_many_parts_stay_an_exact_disjoint_cover():
    wanted = {(date, security): 1 + (index * 7) % 5
              for index, (date, security) in enumerate(itertools.product(DATES, SECURITIES)) if index % 3}
    for parts in range(1, 8):
        rectangles = partition_rectangles(DATES, SECURITIES, wanted, parts=parts, max_gap=2)
        assert len(rectangles) >= min(parts, 2)
        assert_exact_disjoint_cover(rectangles, set(wanted), max_extra=len(DATES) * 2)


def test_a_ragged_year_over_the_same_securities_is_one_widened_rectangle_not_one_a_date():
    """Each date misses a fifth of the securities, a different fifth each date: every date alone
    holds more unwanted keys than max_gap, yet joining the dates adds none, so it is one run."""
    dates = [f"2025-{month:02d}-{day:02d}" for month in (3, 4) for day in range(1, 21)]
    securities = [f"S{index:02d}" for index in range(30)]
    wanted = {(date, security): 1 for day, date in enumerate(dates) for index, security in enumerate(securities)
              if (7 * day + 3 * index) % 5}
    assert partition_cover(dates, securities, wanted, max_gap=4, exact_run_budget=16) == [
        (("2025-03-01", "S00"), ("2025-04-20", "S29"))]
    exact = partition_cover(dates, securities, wanted, max_gap=4, exact_run_budget=10_000)
    held = [set(itertools.product(dates[dates.index(first[0]):dates.index(last[0]) + 1],
                                  securities[securities.index(first[1]):securities.index(last[1]) + 1]))
            for first, last in exact]
    assert len(exact) > len(dates) and set().union(*held) == set(wanted) and sum(map(len, held)) == len(wanted)


def test_keys_not_in_the_dimensions_are_refused():
    with pytest.raises(KeyError, match="2024-01-01"):
        partition_rectangles(DATES, SECURITIES, {("2024-01-01", "BHP"): 1})


def test_a_days_securities_far_apart_in_the_dimension_are_separate_rectangles():
    wanted = {("2025-03-04", "ANZ"): 1, ("2025-03-04", "BHP"): 1, ("2025-03-04", "WOW"): 1}
    assert partition_rectangles(DATES, SECURITIES, wanted, max_gap=1) == [
        (("2025-03-04", "ANZ"), ("2025-03-04", "BHP")), (("2025-03-04", "WOW"), ("2025-03-04", "WOW"))]
    assert partition_rectangles(DATES, SECURITIES, wanted, max_gap=2) == [(("2025-03-04", "ANZ"), ("2025-03-04", "WOW"))]


def test_the_cover_is_exact_while_the_runs_it_takes_fit_the_budget():
    """A day with holes: the exact cover holds only the wanted keys (the UI's grid stays true) while it
    fits the run budget; past the budget it widens, and says how many unwanted keys it holds."""
    wanted = {("2025-03-03", security): 1 for security in SECURITIES}
    wanted.update({("2025-03-04", "ANZ"): 1, ("2025-03-04", "CBA"): 1, ("2025-03-04", "WOW"): 1})
    exact = partition_cover(DATES, SECURITIES, wanted, exact_run_budget=4)
    assert len(exact) == 4 and set().union(*covered(exact)) == set(wanted)
    assert_exact_disjoint_cover(exact, set(wanted))
    widened = partition_cover(DATES, SECURITIES, wanted, exact_run_budget=3)
    assert widened == [(("2025-03-03", "ANZ"), ("2025-03-04", "WOW"))]
    assert len(set().union(*covered(widened)) - set(wanted)) == 2
    assert_exact_disjoint_cover(widened, set(wanted), max_extra=2)
    # With as many workers as exact rectangles, exactness costs no extra run: it is taken.
    exact_for_workers = partition_cover(DATES, SECURITIES, wanted, parts=4, exact_run_budget=0)
    assert set().union(*covered(exact_for_workers)) == set(wanted)
