"""How wanted partition keys become runs: (first, last) ranges, each one single-run backfill.

Dagster resolves a range over a one-dimension partition set as the keys between first and last
in the definition's order, and a range over a two-dimension (date x security) set as the PRODUCT
of the per-dimension ranges: a rectangle of dates x securities (MultiPartitionsDefinition.
get_partition_keys_in_range). So source files are covered with runs of consecutive keys, and
order partitions with rectangles. Either way the cover can be cut into `parts` pieces of about
equal work, one per worker of a cluster: the heaviest piece is halved until there are enough.
Pieces never overlap, so no partition is assembled by two runs at once.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orders_assets.core.store.keys import PartitionKey

DEFAULT_MAX_GAP = 64
"""Keys between two wanted keys that a range may include rather than start a new run.

Re-assembling an unchanged partition is idempotent and costs milliseconds; a run costs
about a second of Dagster start-up, so small gaps are cheaper to cover than to split."""

EXACT_RUN_BUDGET = 16
"""Runs an exact cover of (date, security) keys may take before the cover widens to DEFAULT_MAX_GAP.

Every key of a range run is recorded as materialized, so a key without rows inside a widened
rectangle shows in the UI's grid as materialized (with row count 0). An exact cover, which
holds only the wanted keys, keeps the grid true; it costs one run per hole-free block, so it is
taken while it needs at most this many runs (a daily file with a few securities missing) and
widened past that (a year's first load over a ragged calendar), where a second a run counts."""


def key_ranges(ordered_keys: Sequence[str], wanted: Iterable[str], max_gap: int = 0) -> list[tuple[str, str]]:
    """Cover the wanted keys with (first, last) ranges of `ordered_keys`.

    Consecutive wanted keys at most `max_gap` positions apart share a range; so a run
    materializes the whole range, including up to `max_gap` keys between wanted ones.
    """
    position = _positions(ordered_keys, wanted)
    indexes = sorted(position[key] for key in set(wanted))
    ranges: list[tuple[int, int]] = []
    for index in indexes:
        if ranges and index - ranges[-1][1] <= max_gap + 1:
            ranges[-1] = (ranges[-1][0], index)
        else:
            ranges.append((index, index))
    return [(ordered_keys[first], ordered_keys[last]) for first, last in ranges]


def balanced_ranges(ordered_keys: Sequence[str], weights: Mapping[str, int], parts: int = 1,
                    max_gap: int = 0) -> list[tuple[str, str]]:
    """`key_ranges` of the weighted keys, the heaviest range halved (by weight, between keys)
    until there are `parts` ranges or none can be cut: a heavy key (a large file) is never split."""
    position = _positions(ordered_keys, weights)
    pieces = [[ordered_keys[index] for index in range(position[first], position[last] + 1) if ordered_keys[index] in weights]
              for first, last in key_ranges(ordered_keys, weights, max_gap)]
    pieces = _halve_until(pieces, parts, lambda piece: _halve_keys(piece, weights),
                          lambda piece: sum(weights[key] for key in piece))
    return [(piece[0], piece[-1]) for piece in pieces]


def _halve_keys(keys: list[str], weights: Mapping[str, int]) -> list[list[str]]:
    cut = _weighted_middle([weights[key] for key in keys])
    return [keys[:cut], keys[cut:]]


@dataclass(frozen=True)
class Rectangle:
    """Wanted (date, security) keys and the rectangle of the two orders' positions that holds them."""

    keys: tuple[PartitionKey, ...]
    dates: tuple[int, int]
    securities: tuple[int, int]

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def area(self) -> int:
        return (self.dates[1] - self.dates[0] + 1) * (self.securities[1] - self.securities[0] + 1)


def partition_cover(dates: Sequence[str], securities: Sequence[str], weights: Mapping[PartitionKey, int],
                    parts: int = 1, max_gap: int = DEFAULT_MAX_GAP,
                    exact_run_budget: int = EXACT_RUN_BUDGET) -> list[tuple[PartitionKey, PartitionKey]]:
    """The rectangles (corners) of the exact cover of the weighted keys when it takes at most
    max(parts, `exact_run_budget`) rectangles, else of the cover with up to `max_gap` unwanted keys
    between wanted ones."""
    exact = _rectangles(dates, securities, weights, parts, max_gap=0)
    chosen = exact if len(exact) <= max(parts, exact_run_budget) else _rectangles(dates, securities, weights, parts,
                                                                                 max_gap)
    return _corners(chosen, dates, securities)


def partition_rectangles(dates: Sequence[str], securities: Sequence[str], weights: Mapping[PartitionKey, int],
                         parts: int = 1, max_gap: int = 0) -> list[tuple[PartitionKey, PartitionKey]]:
    """Cover the weighted (date, security) keys with rectangles, as ((first date, first security),
    (last date, last security)) corners in the dimensions' orders.

    A date's securities are cut where more than `max_gap` unwanted ones lie between two wanted;
    consecutive dates share a rectangle while joining them adds at most `max_gap` unwanted keys per
    date to those their parts hold (a full load is one rectangle, and so is a ragged year over the
    same securities; a correction of a few securities on scattered dates is several small ones).
    Then the heaviest rectangle is halved, across dates if it spans several, else across
    securities, until there are `parts` rectangles or none can be cut.
    """
    return _corners(_rectangles(dates, securities, weights, parts, max_gap), dates, securities)


def _rectangles(dates: Sequence[str], securities: Sequence[str], weights: Mapping[PartitionKey, int], parts: int,
                max_gap: int) -> list[Rectangle]:
    date_at = _positions(dates, {key[0] for key in weights})
    security_at = _positions(securities, {key[1] for key in weights})
    by_date: dict[int, list[PartitionKey]] = defaultdict(list)
    for key in weights:
        by_date[date_at[key[0]]].append(key)
    rectangles: list[Rectangle] = []
    for date_index in sorted(by_date):
        segments = _segments(by_date[date_index], date_at, security_at, max_gap)
        joined = _join(rectangles[-1], segments[0], max_gap) if rectangles and len(segments) == 1 else None
        if joined:
            rectangles[-1] = joined
        else:
            rectangles.extend(segments)
    return _halve_until(rectangles, parts, lambda rectangle: _halves(rectangle, weights, date_at, security_at),
                        lambda rectangle: sum(weights[key] for key in rectangle.keys))


def _join(rectangle: Rectangle, segment: Rectangle, max_gap: int) -> Rectangle | None:
    """The one rectangle holding both when it costs fewer than a run more: it adds at most `max_gap`
    unwanted keys per date to those the two already hold (the gaps a segment bridged are paid
    for once, not again at every date that repeats them: a ragged year over the same securities
    is one rectangle, not a run a date); else None. Its corners come from the two's, not from
    their keys again (a year's cover would rescan every key joined so far at each date)."""
    joined = Rectangle(rectangle.keys + segment.keys,
                       (min(rectangle.dates[0], segment.dates[0]), max(rectangle.dates[1], segment.dates[1])),
                       (min(rectangle.securities[0], segment.securities[0]),
                        max(rectangle.securities[1], segment.securities[1])))
    added = joined.area - rectangle.area - segment.area
    return joined if added <= max_gap * (joined.dates[1] - joined.dates[0] + 1) else None


def _corners(rectangles: list[Rectangle], dates: Sequence[str],
             securities: Sequence[str]) -> list[tuple[PartitionKey, PartitionKey]]:
    return [(PartitionKey(dates[r.dates[0]], securities[r.securities[0]]),
             PartitionKey(dates[r.dates[1]], securities[r.securities[1]])) for r in rectangles]


def _segments(keys: list[PartitionKey], date_at: Mapping[str, int], security_at: Mapping[str, int],
              max_gap: int) -> list[Rectangle]:
    """One date's keys as runs of securities with at most `max_gap` unwanted ones between two wanted."""
    ordered = sorted(keys, key=lambda key: security_at[key[1]])
    segments: list[list[PartitionKey]] = []
    for key in ordered:
        if segments and security_at[key[1]] - security_at[segments[-1][-1][1]] <= max_gap + 1:
            segments[-1].append(key)
        else:
            segments.append([key])
    return [_enclosing(tuple(segment), date_at, security_at) for segment in segments]


def _enclosing(keys: tuple[PartitionKey, ...], date_at: Mapping[str, int], security_at: Mapping[str, int]) -> Rectangle:
    date_indexes = [date_at[key[0]] for key in keys]
    security_indexes = [security_at[key[1]] for key in keys]
    return Rectangle(keys, (min(date_indexes), max(date_indexes)), (min(security_indexes), max(security_indexes)))


def _halves(rectangle: Rectangle, weights: Mapping[PartitionKey, int], date_at: Mapping[str, int],
            security_at: Mapping[str, int]) -> list[Rectangle]:
    """Two rectangles of about half the weight each: split between dates, or between securities
    when all the keys are on one date; each shrunk to the keys it holds."""
    across_dates = rectangle.dates[0] != rectangle.dates[1]
    position = (lambda key: date_at[key[0]]) if across_dates else (lambda key: security_at[key[1]])
    lines: dict[int, list[PartitionKey]] = defaultdict(list)
    for key in rectangle.keys:
        lines[position(key)].append(key)
    ordered = [lines[index] for index in sorted(lines)]
    cut = _weighted_middle([sum(weights[key] for key in line) for line in ordered])
    return [_enclosing(tuple(key for line in side for key in line), date_at, security_at)
            for side in (ordered[:cut], ordered[cut:])]


def _halve_until(pieces: list, parts: int, halves, weight_of) -> list:
    """Halve the heaviest piece that can be cut until there are `parts` pieces; keep their order."""
    pieces = list(pieces)
    while len(pieces) < parts:
        cuttable = [index for index, piece in enumerate(pieces) if len(piece) > 1]
        if not cuttable:
            break
        heaviest = max(cuttable, key=lambda index: weight_of(pieces[index]))
        pieces[heaviest:heaviest + 1] = halves(pieces[heaviest])
    return pieces


def _weighted_middle(weights: Sequence[int]) -> int:
    """The cut (1..len-1) whose left side's weight is nearest half the total."""
    total, running, best, best_gap = sum(weights), 0, 1, None
    for cut in range(1, len(weights)):
        running += weights[cut - 1]
        gap = abs(2 * running - total)
        if best_gap is None or gap < best_gap:
            best, best_gap = cut, gap
    return best


def _positions(ordered_keys: Sequence[str], wanted: Iterable[str]) -> dict[str, int]:
    position = {key: index for index, key in enumerate(ordered_keys)}
    unknown = [key for key in wanted if key not in position]
    if unknown:
        raise KeyError(f"partition keys not defined: {', '.join(sorted(unknown)[:5])}")
    return position
