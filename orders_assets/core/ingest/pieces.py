"""The pieces of one big file ingested at once (each its own step), then committed as one file.

Every piece of one cut (`pieces.plan_id`) writes into one shared attempt folder of the source:
`piece-<i>.partial/` while it runs, renamed to `piece-<i>/` with its `piece.json` (its counts,
staged slices, digest segments) when it is done, so a piece killed half-way leaves only a
`.partial` folder, removed when it runs again, and a rerun redoes exactly the pieces not done.
The file's manifest, the commit point, is written once every piece is done (`commit_pieces`):
its counts are the pieces' sums, its slices theirs in piece order, its quarantine theirs joined,
its content digest the one the single pass computes (identity.combined_digest). Until then the
previous manifest, and every partition built from it, stays whole.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from orders_assets.core.errors import AccountingError, InputError, StoreError
from orders_assets.core.ingest.progress import StageClock
from orders_assets.core.ingest.source import ChunkedSource, Progress, RowCounts, stage_blocks, write_market
from orders_assets.core.ingest.blocks import header_parser
from orders_assets.core.read.market import MARKET_FILE, combined
from orders_assets.core.read.identity import combined_digest
from orders_assets.core.read.values_seen import filter_values
from orders_assets.core.read.pieces import Piece, can_be_cut, piece_count, plan_id, plan_parquet_pieces, plan_pieces
from orders_assets.core.store.atomic import atomic_write, atomic_write_json
from orders_assets.core.store.locks import file_lock
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore

PIECE_RECORD = "piece.json"
CUT_RECORD = "pieces.json"


@dataclass(frozen=True)
class PieceOutcome:
    """What one piece produced (its `piece.json`)."""

    index: int
    counts: dict
    partitions: dict
    """'date|security' -> slices, their files relative to the shared attempt folder."""
    segments: list
    renamed: dict
    seconds: float
    stage_seconds: dict
    redone: bool = True
    """False when the piece was found done (a rerun after a crash) and not read again."""


def pieces_attempt(store: OrderStore, chunked: ChunkedSource, pieces: list[Piece]) -> Path:
    """The attempt folder the pieces of this cut share (created once, by whichever piece comes first)."""
    folder = store.source_folder(chunked.source.key) / _attempt_name(chunked, pieces)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _attempt_name(chunked: ChunkedSource, pieces: list[Piece]) -> str:
    source = chunked.source
    return f"attempt-p{plan_id(pieces, source.fingerprint, chunked.settings.fingerprint_for(source.key))}"


def save_cut(store: OrderStore, chunked: ChunkedSource, pieces: list[Piece]) -> str:
    """Record a cut where its pieces' steps find it (they run elsewhere, later); return its id."""
    attempt = pieces_attempt(store, chunked, pieces)
    atomic_write_json(attempt / CUT_RECORD, {"pieces": [dataclasses.asdict(piece) for piece in pieces]})
    return attempt.name.removeprefix("attempt-p")


def load_cut(store: OrderStore, chunked: ChunkedSource, cut_id: str) -> list[Piece]:
    """The pieces of a recorded cut of this file as it is now; a cut that is gone (committed, or
    dropped by a later ingest) or was planned on another version of the file is refused."""
    key = chunked.source.key
    record = store.source_folder(key) / f"attempt-p{cut_id}" / CUT_RECORD
    try:
        pieces = [Piece(**piece) for piece in json.loads(record.read_text())["pieces"]]
    except FileNotFoundError:
        raise StoreError(f"{key}: cut {cut_id} is not in the store (committed, or the file changed since "
                         "it was planned): run the ingest again to plan the file anew") from None
    if _attempt_name(chunked, pieces) != record.parent.name:
        raise StoreError(f"{key}: the file or the ingest settings changed since cut {cut_id} was planned: "
                         "run the ingest again to plan the file anew")
    return pieces


def committed(store: OrderStore, chunked: ChunkedSource, pieces: list[Piece]) -> bool:
    """The cut is the file's published attempt already (another piece's step committed it)."""
    manifest = store.manifest(chunked.source.key)
    return manifest is not None and manifest.attempt == _attempt_name(chunked, pieces)


def ingest_piece(chunked: ChunkedSource, pieces: list[Piece], index: int, store: OrderStore,
                 progress: Progress | None = None) -> PieceOutcome:
    """Ingest piece `index` of the cut `pieces`, unless it is already done; two runs of the same
    piece (a retry beside a stuck one) take turns on its lock."""
    attempt = pieces_attempt(store, chunked, pieces)
    with file_lock(attempt / f"piece-{index}.lock"):
        done = attempt / f"piece-{index}"
        if (done / PIECE_RECORD).is_file():
            return _outcome(done, redone=False)
        partial = attempt / f"piece-{index}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(done, ignore_errors=True)
        partial.mkdir()
        _ingest_into(chunked, pieces[index], partial, progress)
        os.replace(partial, done)
    return _outcome(done, redone=True)


def _ingest_into(chunked: ChunkedSource, piece: Piece, folder: Path, progress: Progress | None) -> None:
    started = time.perf_counter()
    segments: list[str] = []
    renamed: dict[str, str] = {}
    clock = StageClock()
    blocks = chunked.blocks(segments, clock, renamed, piece=piece)
    counts, partitions = stage_blocks(blocks, folder, chunked.settings, clock, progress)
    prefix = f"piece-{piece.index}/"
    record = {
        "index": piece.index,
        "counts": counts.__dict__,
        "partitions": {key.text: [[prefix + part[0], *part[1:]] for part in slices]
                       for key, slices in sorted(partitions.items())},
        "segments": segments,
        "renamed": renamed,
        "seconds": round(time.perf_counter() - started, 3),
        "stage_seconds": {stage: round(seconds, 3) for stage, seconds in clock.seconds.items()},
    }
    atomic_write_json(folder / PIECE_RECORD, record)


def _outcome(folder: Path, redone: bool) -> PieceOutcome:
    record = json.loads((folder / PIECE_RECORD).read_text())
    return PieceOutcome(**record, redone=redone)


def pieces_done(store: OrderStore, chunked: ChunkedSource, pieces: list[Piece]) -> list[int]:
    attempt = pieces_attempt(store, chunked, pieces)
    return [piece.index for piece in pieces if (attempt / f"piece-{piece.index}" / PIECE_RECORD).is_file()]


def commit_pieces(chunked: ChunkedSource, pieces: list[Piece], store: OrderStore) -> Manifest | None:
    """Publish the file's manifest from its pieces, once every one is done; the file's quarantine
    is theirs joined in order, byte for byte what one pass writes. None when another step
    committed this cut first (two last pieces ending at once: one commits)."""
    source, settings = chunked.source, chunked.settings
    with store.source_locked(source.key):
        if committed(store, chunked, pieces):
            return None
        attempt = pieces_attempt(store, chunked, pieces)
        missing = [piece.label for piece in pieces if not (attempt / f"piece-{piece.index}" / PIECE_RECORD).is_file()]
        if missing:
            raise StoreError(f"{source.key}: piece(s) {', '.join(missing)} not done; the file is not committed "
                             "(its previous state stands): run the ingest again to finish them")
        outcomes = [_outcome(attempt / f"piece-{piece.index}", redone=False) for piece in pieces]
        named = filter_values(settings.order_filter)
        counts = RowCounts.summed([outcome.counts for outcome in outcomes], named)
        if not counts.balanced():
            raise AccountingError(f"{source.key}: row accounting does not balance over its pieces: {counts}")
        _join_quarantines(attempt, len(pieces))
        write_market(attempt, combined([pq.read_table(attempt / f"piece-{piece.index}" / MARKET_FILE) for piece in pieces]))
        manifest = Manifest(
            source_key=source.key,
            fingerprint=source.fingerprint,
            content_digest=combined_digest([segment for outcome in outcomes for segment in outcome.segments]),
            filter_fingerprint=settings.fingerprint_for(source.key),
            layout=settings.layouts.layout_for(source.key).name,
            renamed_columns=outcomes[0].renamed,
            bytes=source.size,
            **counts.manifest_fields(named),
            partitions=_joined_partitions(outcomes),
            seconds=round(max(outcome.seconds for outcome in outcomes), 3),
            workers=settings.worker_count,
            stage_seconds=_summed_stages(outcomes),
            pieces=len(pieces),
            market_totals=True,
        )
        store.publish_attempt(source.key, attempt, manifest)
        store.drop_attempts_except(source.key, attempt.name)
        return store.manifest(source.key)


def _joined_partitions(outcomes: list[PieceOutcome]) -> dict:
    joined: dict[str, list] = {}
    for outcome in outcomes:
        for key, slices in outcome.partitions.items():
            joined.setdefault(key, []).extend(slices)
    return dict(sorted(joined.items()))


def _summed_stages(outcomes: list[PieceOutcome]) -> dict:
    stages: dict[str, float] = {}
    for outcome in outcomes:
        for stage, seconds in outcome.stage_seconds.items():
            stages[stage] = round(stages.get(stage, 0.0) + seconds, 3)
    return stages


def _join_quarantines(attempt: Path, count: int) -> None:
    """The pieces' quarantines as one CSV: the first one's header, every piece's rows in order."""
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as joined:
            for index in range(count):
                with open(attempt / f"piece-{index}" / "quarantine.csv", "rb") as part:
                    if index:
                        part.readline()  # the header, written by every piece
                    shutil.copyfileobj(part, joined)
    atomic_write(attempt / "quarantine.csv", write)


def pieces_wanted(chunked: ChunkedSource, parts: int, piece_bytes: int) -> int:
    """How many pieces this file is worth for `parts` steps at once (below 2: it is one step)."""
    if not can_be_cut(chunked.source.path):
        return 1
    return piece_count(chunked.source.size, parts, piece_bytes)


def find_cut(store: OrderStore, chunked: ChunkedSource) -> tuple[str, list[Piece]] | None:
    """A cut recorded for this version of the file under these rules (by an earlier run, or the
    sensor's cut run), whatever its piece count: (cut id, pieces); None when there is none. Reading
    it costs no scan of the file, so a rerun after a crash, and the sensor, plan without one."""
    folder = store.source_folder(chunked.source.key)
    published = getattr(store.manifest(chunked.source.key), "attempt", None)
    for record in sorted(folder.glob(f"attempt-p*/{CUT_RECORD}")):
        if record.parent.name == published:
            continue  # committed already: asked again (run --rehash), the file is read as one step
        try:
            pieces = [Piece(**piece) for piece in json.loads(record.read_text())["pieces"]]
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a cut record being written or from another release: planned anew
        if _attempt_name(chunked, pieces) == record.parent.name:
            return record.parent.name.removeprefix("attempt-p"), pieces
    return None


def recorded_cuts(store: OrderStore, chunked_by_key: dict[str, ChunkedSource], parts: int,
                  piece_bytes: int) -> tuple[dict[str, tuple[str, list[Piece]]], dict[str, int]]:
    """Without reading any file: the recorded cuts of the files worth cutting for `parts` steps at
    once (key -> (cut id, pieces)), and the rest of those files with the piece count each is worth
    (key -> count), still to cut. Files not worth cutting are in neither."""
    found, to_cut = {}, {}
    for key, chunked in chunked_by_key.items():
        count = pieces_wanted(chunked, parts, piece_bytes)
        if count < 2:
            continue
        recorded = find_cut(store, chunked)
        if recorded is None:
            to_cut[key] = count
        else:
            found[key] = recorded
    return found, to_cut


def cut_files(store: OrderStore, chunked_by_key: dict[str, ChunkedSource], parts: int,
              piece_bytes: int) -> dict[str, tuple[str, list[Piece]]]:
    """The files worth cutting for `parts` steps at once, each cut and recorded (or its recorded
    cut found): key -> (cut id, pieces). A file that cannot be cut, is too short for two pieces, or
    is found unreadable while it is planned is not in it: it is one step, as before, whose ingest
    refuses it with the reason."""
    cuts, to_cut = recorded_cuts(store, chunked_by_key, parts, piece_bytes)
    for key, count in to_cut.items():
        chunked = chunked_by_key[key]
        try:
            pieces = _plan(chunked, count)
        except (InputError, OSError):
            continue
        if len(pieces) >= 2 and not committed(store, chunked, pieces):  # committed: --rehash compares in one step
            cuts[key] = (save_cut(store, chunked, pieces), pieces)
    return cuts


def _plan(chunked: ChunkedSource, count: int) -> list[Piece]:
    """A Parquet file by its row groups (its footer), a CSV file by one scan of its block starts
    (its header read first: a header the contract cannot read is the one step's refusal)."""
    source = chunked.source
    if source.is_parquet:
        return plan_parquet_pieces(source.path, count)
    header_parser(source, chunked.settings)
    return plan_pieces(source.path, count, chunked.settings.block_bytes,
                       header=chunked.settings.layouts.layout_for(source.key).header)
