"""What a run has to do: which sources to ingest or retire, and how to batch partition keys.

Pure functions over the landing folder listing and the store's manifests, so the decision
"nothing new, do no work" is made without launching anything.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orders_assets.core.sources import SourceFile, discover_sources

DEFAULT_MAX_GAP = 64
"""Keys between two wanted keys that a range may include rather than start a new run.

Re-assembling an unchanged partition is idempotent and costs milliseconds; a run costs
about a second of Dagster start-up, so small gaps are cheaper to cover than to split."""


@dataclass(frozen=True)
class IngestPlan:
    to_ingest: tuple[str, ...]
    """Source keys that are new, changed, or were ingested under another filter."""
    to_retire: tuple[str, ...]
    """Source keys ingested before but no longer in the landing folder."""

    @property
    def nothing_new(self) -> bool:
        return not self.to_ingest and not self.to_retire


def plan_ingest(sources: Iterable[SourceFile], manifests: Iterable[dict], filter_fingerprint: str) -> IngestPlan:
    current = {manifest["source_key"]: manifest for manifest in manifests}
    present = {source.key: source for source in sources}
    to_ingest = [
        key for key, source in present.items()
        if key not in current
        or current[key]["fingerprint"] != source.fingerprint
        or current[key]["filter_fingerprint"] != filter_fingerprint
    ]
    to_retire = [key for key in current if key not in present]
    return IngestPlan(tuple(sorted(to_ingest)), tuple(sorted(to_retire)))


def key_ranges(ordered_keys: Sequence[str], wanted: Iterable[str], max_gap: int = 0) -> list[tuple[str, str]]:
    """Cover the wanted keys with (first, last) ranges of `ordered_keys`.

    Consecutive wanted keys at most `max_gap` positions apart share a range; so a run
    materializes the whole range, including up to `max_gap` keys between wanted ones.
    """
    position = {key: index for index, key in enumerate(ordered_keys)}
    unknown = [key for key in wanted if key not in position]
    if unknown:
        raise KeyError(f"partition keys not defined: {', '.join(sorted(unknown)[:5])}")
    indexes = sorted(position[key] for key in set(wanted))
    ranges: list[tuple[int, int]] = []
    for index in indexes:
        if ranges and index - ranges[-1][1] <= max_gap + 1:
            ranges[-1] = (ranges[-1][0], index)
        else:
            ranges.append((index, index))
    return [(ordered_keys[first], ordered_keys[last]) for first, last in ranges]


@dataclass(frozen=True)
class WorkPlan:
    """Everything a run would do, known before any run is launched."""

    ingest: IngestPlan
    pending_partitions: int
    reports_missing: bool

    @property
    def nothing_to_do(self) -> bool:
        return self.ingest.nothing_new and not self.pending_partitions and not self.reports_missing


def plan_work(landing, store, filter_fingerprint: str) -> WorkPlan:
    """The work a run of `landing` into `store` has to do (pure: reads the folder and the store)."""
    from orders_assets.core.assemble import pending_partitions
    from orders_assets.core.report_files import reports_complete

    ingest = plan_ingest(discover_sources(landing), store.manifests(), filter_fingerprint)
    return WorkPlan(ingest, len(pending_partitions(store)), not reports_complete(store))
