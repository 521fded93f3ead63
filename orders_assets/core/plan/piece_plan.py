"""The piece rule `orders-assets run` and the sensor share: which files to ingest go in pieces, which
are still to cut, which go whole (the cut itself and the pieces' ingest: core/ingest/pieces.py)."""
from __future__ import annotations

from dataclasses import dataclass

from orders_assets.core.ingest.pieces import cut_files, recorded_cuts
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.read.pieces import Piece


@dataclass(frozen=True)
class PiecePlan:
    """How the files to ingest go: the pieces of the cut ones, the big ones still to cut, the rest whole."""

    pieces: dict[str, tuple[str, list[Piece]]]
    to_cut: tuple[str, ...] = ()
    whole: tuple[str, ...] = ()


def piece_plan(store, chunked_by_key: dict[str, ChunkedSource], parts: int, piece_bytes: int,
               scan: bool) -> PiecePlan:
    """A file worth cutting for the `parts` steps that can run at once (Dask workers, or the
    machine's `file_pieces`) is cut into one piece per step. With `scan` (the command) big files are
    cut here; without (a sensor tick, which cannot scan 200 GB within its time limit) a big file
    without a recorded cut is left `to_cut`, by a run of its own."""
    if parts < 2:
        return PiecePlan({}, whole=tuple(chunked_by_key))
    if scan:
        pieces, to_cut = cut_files(store, chunked_by_key, parts, piece_bytes), ()
    else:
        pieces, still_to_cut = recorded_cuts(store, chunked_by_key, parts, piece_bytes)
        to_cut = tuple(still_to_cut)
    whole = tuple(key for key in chunked_by_key if key not in pieces and key not in to_cut)
    return PiecePlan(pieces, to_cut, whole)
