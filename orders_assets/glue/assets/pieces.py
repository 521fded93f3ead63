"""The steps of a big file in pieces: the cut run, and one run per piece (core/ingest/pieces.py).

Who plans them: `orders-assets run` (with or without `--dask`) and the sensor, by the same rule
(core/plan/piece_plan.py): a file worth cutting for the steps that can run at once (Dask workers, or the
machine's `file_pieces`) is cut into one piece per step. Runs carry what their step does in tags (glue/names.py):
- CUT_TAG '<pieces>': cut the run's one file and record the cut (the sensor's first step for a
  big file: a tick cannot scan 200 GB within its time limit, a run can); a file that cannot be cut
  after all is ingested whole by the same step;
- PIECE_TAG '<cut id>:<piece index>': ingest that piece only; the step that finds every piece done
  commits the file as one;
- PIECE_WORKERS_TAG '<threads>': on one machine the pieces share its cores, each step this many.
"""
from __future__ import annotations

import dataclasses

import dagster as dg

from orders_assets.core.ingest.pieces import (
    commit_pieces,
    cut_files,
    ingest_piece,
    load_cut,
    pieces_done,
)
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.ingest.watch import IngestWatch, progress_file
from orders_assets.core.machine.tuning import piece_workers
from orders_assets.core.read.pieces import Piece
from orders_assets.core.store.manifest import Manifest
from orders_assets.glue.names import ENGINE_SECONDS, PIECE_TAG, PIECE_WORKERS_TAG


def piece_run_tags(cut_id: str, piece: Piece, shared_workers: int | None) -> dict[str, str]:
    """The tags of one piece's run; `shared_workers`: this machine's threads, shared by the pieces."""
    tags = {PIECE_TAG: f"{cut_id}:{piece.index}"}
    if shared_workers is not None:
        tags[PIECE_WORKERS_TAG] = str(piece_workers(shared_workers, piece.count))
    return tags


def with_piece_workers(chunked: ChunkedSource, tags: dict) -> ChunkedSource:
    """The source read with the piece's share of the threads, when the run says so."""
    workers = tags.get(PIECE_WORKERS_TAG)
    if not workers:
        return chunked
    return dataclasses.replace(chunked, settings=dataclasses.replace(chunked.settings, workers=int(workers)))


def cut_in_run(context: dg.AssetExecutionContext, store, key: str, chunked: ChunkedSource, parts: int,
               piece_bytes: int) -> bool:
    """The cut run's work: cut and record the file; False when it is not cut (then ingested whole)."""
    cuts = cut_files(store, {key: chunked}, parts, piece_bytes)
    if key not in cuts:
        context.log.info(f"{key}: not cut into pieces (too short, or unreadable where it was planned): one step")
        return False
    cut_id, pieces = cuts[key]
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, partition=key, metadata={
        "cut": cut_id, "pieces_done": f"0/{len(pieces)}",
        "piece_starts": dg.MetadataValue.json([[piece.start, piece.first_line] for piece in pieces])}))
    context.log.info(f"{key}: cut into {len(pieces)} pieces (cut {cut_id}); the sensor's next tick runs them")
    return True


def run_piece(context: dg.AssetExecutionContext, store, key: str, chunked: ChunkedSource,
              piece_tag: str, log_every: float) -> Manifest | None:
    """Ingest one piece (its progress logged every `log_every` seconds and drawn by `orders-assets
    run`, the piece shown as an observation of the file's partition when done); the file's
    committed manifest when this step finds every piece done, else None. Raises SourceFormatError
    when the file changed or broke since it was cut."""
    cut_id, index_text = piece_tag.rsplit(":", 1)
    pieces = load_cut(store, chunked, cut_id)
    piece = pieces[int(index_text)]
    run_id = context.run.run_id
    watch = IngestWatch(progress_file(store.state, run_id), run_id, [piece.end - piece.start],
                        log=lambda line: context.log.info(f"{key}, piece {piece.label}: {line}"), log_every=log_every)
    try:
        outcome = ingest_piece(chunked, pieces, piece.index, store,
                               lambda done, counts: watch.on_block(max(0, done - piece.start), counts))
        watch.finish(outcome.seconds)  # its last line: 100%
    finally:
        watch.close()
    done = pieces_done(store, chunked, pieces)
    counts = outcome.counts
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, partition=key, metadata={
        "piece": piece.label,
        "pieces_done": f"{len(done)}/{len(pieces)}",
        "bytes": piece.end - piece.start,
        "first_line": piece.first_line,
        **{name: counts[name] for name in ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected")},
        "seconds": outcome.seconds,
        "threads": chunked.settings.worker_count,
        ENGINE_SECONDS: outcome.seconds if outcome.redone else 0.0,
        "found_done": not outcome.redone,  # a rerun after a crash: this piece was not read again
    }))
    context.log.info(f"{key}: piece {piece.label} {'ingested' if outcome.redone else 'was done'}: "
                     f"{counts['rows_read']:,} rows in {outcome.seconds:.1f} s; {len(done)} of {len(pieces)} pieces done")
    if len(done) < len(pieces):
        return None  # the file is materialized once, by the step that completes it
    return commit_pieces(chunked, pieces, store)
