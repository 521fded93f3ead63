"""One big CSV file cut into byte-range pieces at row boundaries, each an ingest unit of its own.

The cut points are the ends of the single-pass reader's own blocks (`reader.iter_blocks`): a
piece boundary is exactly where one pass over the file would have ended a block, so the rows,
their physical line numbers and the quoting (a quoted newline near a cut, a stray quote) are
the same as one pass gives, by construction, not by a second grammar. The scan that finds them
reads the file once without parsing it (block cuts and newline counts only); each piece then
knows the physical line of its first row, so its quarantine lines and `source_line` are the
single pass's.

A Parquet file is cut at row groups, from its footer alone (no scan): a piece is a run of whole
row groups of about equal compressed bytes, its first row's number its `first_line`, as the single
pass numbers Parquet rows. Only an uncompressed CSV file with LF line ends, or a Parquet file of
two row groups or more, is cut: a compressed stream cannot be entered in the middle (gzip, xz, bz2,
zstd without seekable frames, a zip's members), and a file with CR line ends is rare and small. Each piece also
hashes the digest segments that start in its byte range (`identity.SEGMENT_BYTES`), so the file's
content digest is the same as one pass computes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orders_assets.core.errors import one_line
from orders_assets.core.read import identity
from orders_assets.core.read.reader import (
    ARROW_CODECS,
    PYTHON_CODECS,
    SourceFormatError,
    iter_blocks,
    open_stream,
    read_header,
    with_line_ends,
)
from orders_assets.core.read.zips import is_zip_name

MIN_PIECE_BYTES = 512 << 20
"""A file is cut only into pieces at least this long: below, a piece's start-up costs more than it saves."""


@dataclass(frozen=True)
class Piece:
    """Rows [start, end) of a file's bytes, the first on physical line `first_line`; piece `index` of `count`."""

    index: int
    count: int
    start: int
    end: int
    first_line: int
    file_bytes: int
    row_groups: tuple[int, int] | None = None
    """A Parquet piece's row groups [first, last); None for a CSV piece (its bytes start..end)."""

    def __post_init__(self) -> None:
        if self.row_groups is not None:  # a list when read back from the cut's JSON record
            object.__setattr__(self, "row_groups", tuple(self.row_groups))

    @property
    def label(self) -> str:
        return f"{self.index + 1}/{self.count}"

    @property
    def hashed(self) -> tuple[int, int]:
        """The bytes whose digest segments this piece computes: the segments that start in its range
        (the first piece's from byte 0, so the header is in the digest)."""
        first = 0 if self.index == 0 else min(_segment_start(self.start), self.file_bytes)
        last = self.file_bytes if self.index == self.count - 1 else min(_segment_start(self.end), self.file_bytes)
        return first, max(first, last)


def _segment_start(offset: int) -> int:
    """The first segment boundary at or after `offset`."""
    return -(-offset // identity.SEGMENT_BYTES) * identity.SEGMENT_BYTES


def can_be_cut(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix not in ARROW_CODECS and suffix not in PYTHON_CODECS and not is_zip_name(path.name)


def piece_count(file_bytes: int, workers: int, min_piece_bytes: int = MIN_PIECE_BYTES) -> int:
    """The hardware rule: one piece per worker that can run one, none shorter than `min_piece_bytes`."""
    return max(1, min(workers, file_bytes // max(1, min_piece_bytes)))


@dataclass(frozen=True)
class BlockStarts:
    """Where one pass over a file starts its blocks: the rows a piece may start on."""

    file_bytes: int
    header_end: int
    first_line: int
    """The physical line of the first row (2 after a header line, 1 without)."""
    starts: tuple[tuple[int, int], ...]
    """(byte offset, physical line) of every block start after the first."""


def block_starts(path: Path, block_bytes: int, header: bool = True) -> BlockStarts:
    """One scan of the file (block cuts and line counts, no parsing); a file with CR line ends has
    none past its first (it is read whole: its bytes are not the stream the reader cuts)."""
    file_bytes = path.stat().st_size
    with open_stream(path) as raw:
        stream, pending = with_line_ends(raw, path)
        header_end, first_line = 0, 1
        if header:
            _names, pending = read_header(stream, path, pending)
            header_end, first_line = raw.file_position() - len(pending), 2
        if stream is not raw:
            return BlockStarts(file_bytes, header_end, first_line, ())
        starts = tuple((header_end + block.offset, block.first_line)
                       for block in iter_blocks(stream, pending, block_bytes, path, first_line) if block.offset)
    return BlockStarts(file_bytes, header_end, first_line, starts)


def pieces_at(blocks: BlockStarts, cuts: list[tuple[int, int]]) -> list[Piece]:
    """The pieces that start at the file's first row and at each of `cuts` (block starts, in order)."""
    starts = [(blocks.header_end, blocks.first_line), *cuts]
    ends = [offset for offset, _line in cuts] + [blocks.file_bytes]
    return [Piece(index, len(starts), start, end, line, blocks.file_bytes)
            for index, ((start, line), end) in enumerate(zip(starts, ends))]


def plan_pieces(path: Path, count: int, block_bytes: int, header: bool = True) -> list[Piece]:
    """`count` pieces of about equal bytes, each cut at the first block start at or after its
    share; fewer when the file has fewer blocks, one when it has CR line ends."""
    blocks = block_starts(path, block_bytes, header)
    body = blocks.file_bytes - blocks.header_end
    targets = [blocks.header_end + body * k // count for k in range(1, max(1, count))]
    cuts: list[tuple[int, int]] = []
    for offset, line in blocks.starts:
        if targets and offset >= targets[0]:
            cuts.append((offset, line))
            while targets and targets[0] <= offset:
                targets.pop(0)
    return pieces_at(blocks, cuts)


def plan_parquet_pieces(path: Path, count: int) -> list[Piece]:
    """`count` runs of whole row groups of about equal compressed bytes, from the footer alone;
    fewer when the file has fewer row groups. Raises SourceFormatError for an unreadable footer."""
    try:
        metadata = pq.ParquetFile(str(path)).metadata
    except (OSError, pa.ArrowException) as error:
        raise SourceFormatError(f"{path}: not a readable Parquet file: {one_line(error)}") from error
    file_bytes = path.stat().st_size
    groups = [metadata.row_group(index) for index in range(metadata.num_row_groups)]
    sizes = [sum(group.column(index).total_compressed_size for index in range(group.num_columns)) for group in groups]
    total = max(1, sum(sizes))
    firsts = [0]
    done = 0
    for index, size in enumerate(sizes[:-1]):
        done += size
        if done * count >= total * len(firsts) and len(firsts) < count:
            firsts.append(index + 1)
    rows_before = [0]
    for group in groups:
        rows_before.append(rows_before[-1] + group.num_rows)
    starts = [0] + [_row_group_offset(groups[first]) for first in firsts[1:]]
    if any(later <= earlier for earlier, later in zip(starts, starts[1:])):
        firsts, starts = [0], [0]  # row groups not in byte order (an unusual writer): one piece
    ends = starts[1:] + [file_bytes]
    lasts = firsts[1:] + [len(groups)]
    return [Piece(index, len(firsts), start, end, rows_before[first] + 1, file_bytes, (first, last))
            for index, (first, last, start, end) in enumerate(zip(firsts, lasts, starts, ends))]


def _row_group_offset(group) -> int:
    """Where a row group's bytes start: its first column chunk's first page (dictionary or data)."""
    chunk = group.column(0)
    offsets = [chunk.data_page_offset] + ([chunk.dictionary_page_offset] if chunk.has_dictionary_page else [])
    return min(offset for offset in offsets if offset is not None and offset > 0)


def byte_range_segments(path: Path, piece: Piece) -> list[str]:
    """The digests of the segments a piece hashes (Piece.hashed), read from the file on their own:
    a Parquet piece reads its rows by column chunks, not in byte order."""
    first, last = piece.hashed
    digest = identity.SegmentDigest()
    with open(path, "rb") as file:
        file.seek(first)
        while first < last:
            chunk = file.read(min(8 << 20, last - first))
            if not chunk:
                raise SourceFormatError(f"{path}: ended at byte {first:,}, before byte {last:,} (the file changed "
                                        "while it was read)")
            digest.update(chunk)
            first += len(chunk)
    return digest.segment_list()


class PieceStream:
    """The rows of one piece as a stream (read from the file, never past what the piece needs),
    hashing the digest segments the piece is responsible for on the way."""

    def __init__(self, path: Path, piece: Piece):
        self.piece = piece
        self.hash_from, self.hash_to = piece.hashed
        self.position = min(piece.start, self.hash_from)
        self.file = open(path, "rb")
        self.file.seek(self.position)
        self.digest = identity.SegmentDigest()

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of the piece's rows (b'' at its end)."""
        while self.position < self.piece.start:  # the first piece's header: hashed, not returned
            self._take(self.piece.start - self.position)
        if self.position >= self.piece.end:
            return b""
        return self._take(min(size, self.piece.end - self.position))

    def _take(self, size: int) -> bytes:
        data = self.file.read(size)
        if not data:
            raise SourceFormatError(f"{self.file.name}: ended at byte {self.position:,}, before the piece's end "
                          f"{self.piece.end:,} (the file changed while it was read)")
        low = max(self.position, self.hash_from) - self.position
        high = min(self.position + len(data), self.hash_to) - self.position
        if high > low:
            self.digest.update(memoryview(data)[low:high])
        self.position += len(data)
        return data

    def segments(self) -> list[str]:
        """The digests of the piece's segments, once its rows are read (reads the rest of them)."""
        while self.position < self.hash_to:
            self._take(min(8 << 20, self.hash_to - self.position))
        return self.digest.segment_list()

    def file_position(self) -> int:
        return self.position

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> PieceStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def plan_id(pieces: list[Piece], fingerprint: str, ingest_fingerprint: str) -> str:
    """Names one cut of one version of a file under one set of rules: the pieces' shared attempt."""
    text = "\x1f".join([fingerprint, ingest_fingerprint, *(f"{p.start}:{p.end}:{p.first_line}" for p in pieces)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def piece_blocks(stream: PieceStream, block_bytes: int, path: Path) -> Iterator:
    """The reader's blocks of one piece, starting on its first row's line."""
    return iter_blocks(stream, b"", block_bytes, path, stream.piece.first_line)
