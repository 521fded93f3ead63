"""The runs of a stage, built once for the sensor and `orders-assets run`: the job, the keys (a
single-run backfill's range, or none), the tags, and the run key under which a sensor's request of
the same inputs is requested once. The sensor turns each into a RunRequest; the command launches
them (cli/runner.py, cli/launch.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.plan.piece_plan import piece_plan
from orders_assets.core.plan.planner import ingest_weights
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.read.digests import short_digest
from orders_assets.core.read.sources import SourceFile
from orders_assets.core.store.keys import PartitionKey
from orders_assets.glue.assets.pieces import piece_run_tags
from orders_assets.glue.names import CUT_TAG, INGEST_JOB, PARTITIONS_JOB, PIECE_TAG, REPORTS_JOB, SOURCE_FILES
from orders_assets.glue.partitions import add_partition_keys, order_partition_ranges, range_tags, source_file_ranges


@dataclass(frozen=True)
class StageRun:
    """One run of a stage."""

    job: str
    keys: tuple[str, str] | None
    """(first, last) partition keys of a single-run backfill; None for an unpartitioned run."""
    run_key: str
    """Names the run's inputs: a sensor tick that sees the same state again requests nothing new."""
    tags: dict[str, str] = field(default_factory=dict)
    """What the run's step does besides its keys (a cut, a piece: glue/names.py)."""

    @property
    def is_piece(self) -> bool:
        return PIECE_TAG in self.tags

    def request(self) -> dg.RunRequest:
        """The sensor's request of this run."""
        keys = range_tags(*self.keys) if self.keys else {}
        return dg.RunRequest(job_name=self.job, run_key=self.run_key, tags={**keys, **self.tags})


@dataclass(frozen=True)
class IngestSplit:
    """How the ingest's files are shared: `parts` steps at once for a big file's pieces and for the
    ranges of whole files (`range_parts`), and the threads each piece gets when the pieces share
    this machine's cores (`piece_threads`, None on a cluster)."""

    parts: int
    range_parts: int
    piece_threads: int | None


def ingest_runs(instance: dg.DagsterInstance, store, rules: IngestSettings, keys, sources: list[SourceFile],
                split: IngestSplit, piece_bytes: int, scan: bool) -> list[StageRun]:
    """The ingest's runs: a big file still to cut gets a run that cuts it (`scan` False: a sensor
    tick cannot read 200 GB within its time limit; with `scan` the cut is made here), a cut file
    one run per piece, all at once, and the other files one run per range of about equal bytes."""
    by_key = {source.key: source for source in sources}
    plan = piece_plan(store, {key: ChunkedSource(by_key[key], rules) for key in keys}, split.parts, piece_bytes, scan)
    add_partition_keys(instance, SOURCE_FILES, [*plan.to_cut, *plan.pieces])
    runs = [StageRun(INGEST_JOB, (key, key), f"cut:{short_digest(key, by_key[key].fingerprint)}:{key}",
                     {CUT_TAG: str(split.parts)}) for key in plan.to_cut]
    runs += [StageRun(INGEST_JOB, (key, key), f"piece:{cut_id}:{piece.index}",
                      piece_run_tags(cut_id, piece, split.piece_threads))
             for key, (cut_id, pieces) in sorted(plan.pieces.items()) for piece in pieces]
    if not plan.whole:
        return runs
    identity = short_digest(*(f"{key}\x1f{by_key[key].fingerprint}" for key in plan.whole))
    return runs + [StageRun(INGEST_JOB, (first, last), f"ingest:{identity}:{first}")
                   for first, last in source_file_ranges(instance, ingest_weights(sources, plan.whole), split.range_parts)]


def partition_runs(instance: dg.DagsterInstance, snapshot: StoreSnapshot, pending: list[PartitionKey],
                   parts: int = 1) -> list[StageRun]:
    """The pending (date, security) keys as single-run backfills, `parts` of about equal staged rows."""
    expected = snapshot.expected_signatures
    identity = short_digest(*(f"{key.text}\x1f{expected.get(key)}" for key in pending))
    return [StageRun(PARTITIONS_JOB, (first, last), f"partitions:{identity}:{first}")
            for first, last in order_partition_ranges(instance, snapshot.assembly_weights(pending), parts)]


def reports_run(inputs_signature: str) -> StageRun:
    """The reports, built once for these inputs."""
    return StageRun(REPORTS_JOB, None, f"reports:{inputs_signature}")
