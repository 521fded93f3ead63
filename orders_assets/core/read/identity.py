"""A source file's identity by content, and when a file in the landing folder is complete.

Names and timestamps say little about order files: a day's export is re-dropped under another
name, copied with a new modification time, or corrected in place. The content digest (SHA-256
of the file's bytes, decompressed for gzip / zstd so a recompressed copy is the same content)
decides: same content, nothing to do, whatever the name or the time. SHA-256 because it runs
at 1.8 GB/s here with the CPU's SHA instructions (BLAKE2b 0.9 GB/s), well ahead of the parser.

The ingest computes the digest of what it reads in its one pass (`HashingStream`), so a new file
is read once; the digest is read separately only to check a file that looks changed or new
against what was ingested (a touched file, a renamed copy).

A content of more than SEGMENT_BYTES is digested by segments: the SHA-256 of each 128 MiB segment
at fixed offsets of the content, then the SHA-256 of that list (`segments:` before it). That is
what lets a file cut into pieces that run at once (core/read/pieces.py) have one digest: each
piece hashes the segments that start in its byte range, whatever the number of pieces, and the
single-pass ingest of a compressed copy gives the same digest. A content up to one segment long
keeps the plain SHA-256 of its bytes, so the manifests of smaller files are unchanged.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from orders_assets.core.read.reader import open_stream
from orders_assets.core.read.sources import SourceFile

DIGEST_CHUNK = 8 << 20
SEGMENT_BYTES = 128 << 20
"""The content length of one digest segment: fixed, so the digest is the same however a file is read."""
SEGMENTED = "segments:"
DONE_MARKER = ".done"
"""`orders.csv.done` next to `orders.csv` says the writer has finished it."""


def new_digest():
    return hashlib.sha256()


class SegmentDigest:
    """The content digest of bytes fed in order from a segment boundary: the plain SHA-256 when
    they fit in one segment, else the digest of the segments' digests (same cost as one hash)."""

    def __init__(self) -> None:
        self.segment_bytes = SEGMENT_BYTES
        self.segments: list[str] = []
        self._current = new_digest()
        self._filled = 0

    def update(self, data) -> None:
        view = memoryview(data)
        while len(view):
            take = min(len(view), self.segment_bytes - self._filled)
            self._current.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self.segment_bytes:
                self.segments.append(self._current.hexdigest())
                self._current, self._filled = new_digest(), 0

    def segment_list(self) -> list[str]:
        """The digests of every segment fed, the last one partly filled included (if any)."""
        return self.segments + ([self._current.hexdigest()] if self._filled else [])

    def hexdigest(self) -> str:
        return combined_digest(self.segment_list())


def combined_digest(segments: list[str]) -> str:
    """The content digest from its segments' digests, in order (pieces' lists joined give the file's)."""
    if not segments:
        return new_digest().hexdigest()
    if len(segments) == 1:
        return segments[0]
    return SEGMENTED + hashlib.sha256("\n".join(segments).encode()).hexdigest()


def content_digest(source: SourceFile) -> str:
    """Digest of the file's content (decompressed CSV bytes, or the Parquet file's bytes).

    A file that cannot be read to the end gets a digest of its own (it equals no content), so it
    goes to the ingest, which refuses it with the reason.
    """
    digest = SegmentDigest()
    try:
        if source.is_parquet:
            with open(source.path, "rb") as file:
                while chunk := file.read(DIGEST_CHUNK):
                    digest.update(chunk)
        else:
            with open_stream(source.path) as stream:
                while chunk := stream.read(DIGEST_CHUNK):
                    digest.update(chunk)
    except (OSError, ValueError) as error:  # pyarrow's errors derive from these
        return f"unreadable:{source.key}:{source.fingerprint}:{type(error).__name__}"
    return digest.hexdigest()


class HashingStream:
    """Wraps a stream so that every byte read also goes into a digest (hashlib releases the GIL)."""

    def __init__(self, stream):
        self.stream = stream
        self.digest = SegmentDigest()

    def read(self, size: int) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        return chunk

    def hexdigest_to_end(self) -> str:
        """The digest of the whole stream (reads what the caller left unread, normally nothing)."""
        while self.read(DIGEST_CHUNK):
            pass
        return self.digest.hexdigest()


@dataclass(frozen=True)
class Observation:
    size: int
    mtime_ns: int


def stable_sources(sources: list[SourceFile], previous: dict[str, Observation]) -> list[SourceFile]:
    """Files complete enough to ingest: a `.done` marker exists, or size and modification time are
    the same as at the previous look (a writer still appending changes at least one of them)."""
    return [
        source for source in sources
        if source.path.with_name(source.path.name + DONE_MARKER).exists()
        or previous.get(source.key) == Observation(source.size, source.mtime_ns)
    ]


def observations(sources: list[SourceFile]) -> dict[str, Observation]:
    return {source.key: Observation(source.size, source.mtime_ns) for source in sources}
