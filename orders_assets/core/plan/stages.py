"""The next stage of the pipeline, decided in one pure function: what the sensor requests and what
`orders-assets run` launches next.

From the landing folder's ingest plan, one StoreSnapshot and what is in flight, `next_stage` says
what comes next: the files to ingest, the sources to retire and the partitions to assemble, the
reports, or nothing (and why). The sensor only carries it out: it retires, and turns the keys into
run requests. One stage a tick, each waiting for the runs of the one before.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orders_assets.core.plan.planner import IngestPlan
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.store.keys import PartitionKey


@dataclass(frozen=True)
class InFlight:
    """Which stages have runs queued or running."""

    ingest: bool = False
    partitions: bool = False
    reports: bool = False


@dataclass(frozen=True)
class NextStage:
    """One stage's work, or the reason there is none."""

    snapshot: StoreSnapshot
    """The store as the stage sees it (the retired sources' manifests gone)."""
    ingest: tuple[str, ...] = ()
    retire: tuple[str, ...] = ()
    """Sources gone from the landing folder: their rows leave before the partitions are assembled."""
    partitions: tuple[PartitionKey, ...] = ()
    reports: str | None = None
    """The inputs signature of the reports to build (None: no reports to build)."""
    reason: str = ""
    """Why nothing is requested, when nothing is."""


def next_stage(plan: IngestPlan, snapshot: StoreSnapshot, present: Iterable[str], in_flight: InFlight,
               reports_built_from: Callable[[], str | None], inputs_signature: Callable[[StoreSnapshot], str],
               waiting: int = 0, reports_without_files: bool = False) -> NextStage:
    """The stage a look at the landing folder (`plan`, the `present` complete files, `waiting` ones
    still growing) and the store (`snapshot`) calls for. `reports_built_from` gives the inputs
    signature the reports on disk were built from (None when any is missing); `inputs_signature` the
    signature reports built from a snapshot would have. Both are called only when the stage is the
    reports'. `reports_without_files`: reports are built even when no file was ingested (the
    command's page then names the files refused or skipped; the sensor waits for a first file).

    The sensor asks once a tick and requests the stage's runs; `orders-assets run` asks again after
    each stage's runs end (cli/runner.py), so the order of the stages is this function's alone."""
    if plan.to_ingest:
        return NextStage(snapshot, ingest=plan.to_ingest)
    if in_flight.ingest:
        return NextStage(snapshot, reason="ingest run(s) in flight")
    gone = () if in_flight.partitions else tuple(snapshot.sources_not_in(present))
    snapshot = snapshot.without(gone)
    pending = tuple(snapshot.pending_partitions())
    if pending:
        if in_flight.partitions:
            return NextStage(snapshot, retire=gone, reason="partition run(s) in flight")
        return NextStage(snapshot, retire=gone, partitions=pending)
    if in_flight.partitions or in_flight.reports:
        return NextStage(snapshot, retire=gone, reason="partition or report run in flight")
    built_from = reports_built_from()
    if snapshot.manifests or built_from is not None or reports_without_files:
        inputs = inputs_signature(snapshot)
        if built_from != inputs:
            return NextStage(snapshot, retire=gone, reports=inputs)
    return NextStage(snapshot, retire=gone, reason=_nothing_new(plan, waiting))


def _nothing_new(plan: IngestPlan, waiting: int) -> str:
    reason = f"nothing new; {waiting} file(s) not complete yet" if waiting else "nothing new"
    if plan.still_refused:
        reason += (f"; {len(plan.still_refused)} refused file(s) unchanged, not retried until mended: "
                   + ", ".join(plan.still_refused))
    return reason


def reports_problem(snapshot: StoreSnapshot, fingerprint_for: Callable[[str], str]) -> str | None:
    """Why reports built now from the store (`snapshot`) would not describe one order set under
    these rules (`fingerprint_for`: the ingest fingerprint each file should have), with the fix;
    None when they would. The reports name the rules they are built under, so every file must have
    been ingested under them: a run under new settings that meets files of the old ones (a sensor's
    reports run after a command under another config) would otherwise mix the two. Partitions a
    concurrent run under the same settings has yet to assemble are no such mix: the reports then
    name inputs that are not current, and that run builds them again."""
    stale = [manifest.source_key for manifest in snapshot.manifests
             if manifest.filter_fingerprint != fingerprint_for(manifest.source_key)]
    if stale:
        return (f"{len(stale)} file(s) were ingested under other settings than this run's (e.g. {stale[0]}): "
                "the reports would name these settings over rows kept under the others; ingest them again first "
                "(orders-assets run does, as do the sensor's next runs)")
    return None
