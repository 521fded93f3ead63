"""A source file's identity by content, and when a file in the landing folder is complete.

Names and timestamps say little about order files: a day's export is re-dropped under another
name, copied with a new modification time, or corrected in place. The content digest (of the
file's bytes, decompressed for gzip / zstd / zip so a recompressed copy is the same content) decides:
same content, nothing to do, whatever the name or the time.

The digest is XXH3-128 (xxhash, 8.7 GB/s on one core here, about 5% of the ingest's CPU; SHA-256,
which releases before this one used, took 1.5 GB/s, a quarter of it). It names its algorithm
(`xxh3:...`), so a digest an earlier release wrote (plain SHA-256 hex) is still compared with a
file digested by SHA-256 when it must be (ContentDigests, planner): a store written by an earlier release
opens with nothing ingested again. XXH3 is no cryptographic hash: two files made on purpose to
share a digest would be taken as copies, which the run names (`skipped ...: a copy of ...`).

The ingest computes the digest of what it reads during its one pass (`HashingStream`), so a new file
is read once; the digest is read separately only to check a file that looks changed or new
against what was ingested (a touched file, a renamed copy).

A content of more than SEGMENT_BYTES is digested by segments: the digest of each 128 MiB segment
at fixed offsets of the content, then the digest of that list. That is what lets a file cut into
pieces that run at once (core/read/pieces.py) have one digest: each piece hashes the segments that
start in its byte range, whatever the number of pieces, and the single-pass ingest of a compressed
copy gives the same digest. A content up to one segment long is the digest of its bytes.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import xxhash

from orders_assets.core.read.reader import open_source
from orders_assets.core.read.sources import SourceFile

DIGEST_CHUNK = 8 << 20
SEGMENT_BYTES = 128 << 20
"""The content length of one digest segment: fixed, so the digest is the same however a file is read."""
XXH3, SHA256 = "xxh3", "sha256"
CURRENT = XXH3
HASHES = {XXH3: xxhash.xxh3_128, SHA256: hashlib.sha256}
PLAIN_PREFIX = {XXH3: "xxh3:", SHA256: ""}
SEGMENTED_PREFIX = {XXH3: "xxh3-segments:", SHA256: "segments:"}
"""How a digest names its algorithm: an earlier release's SHA-256 digests have no prefix."""
DONE_MARKER = ".done"
"""`orders.csv.done` next to `orders.csv` says the writer has finished it."""


def new_digest(algorithm: str = CURRENT):
    return HASHES[algorithm]()


def digest_algorithm(digest: str | None) -> str:
    """The algorithm a stored digest was made with (an earlier release's: SHA-256, no prefix)."""
    return XXH3 if digest is not None and digest.startswith("xxh3") else SHA256


class SegmentDigest:
    """The content digest of bytes fed in order from a segment boundary: the plain digest when
    they fit in one segment, else the digest of the segments' digests (same cost as one hash)."""

    def __init__(self, algorithm: str = CURRENT) -> None:
        self.algorithm = algorithm
        self.segment_bytes = SEGMENT_BYTES
        self.segments: list[str] = []
        self._current = new_digest(algorithm)
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
                self._current, self._filled = new_digest(self.algorithm), 0

    def segment_list(self) -> list[str]:
        """The digests of every segment fed, the last one partly filled included (if any)."""
        return self.segments + ([self._current.hexdigest()] if self._filled else [])

    def hexdigest(self) -> str:
        return combined_digest(self.segment_list(), self.algorithm)


def combined_digest(segments: list[str], algorithm: str = CURRENT) -> str:
    """The content digest from its segments' digests, in order (pieces' lists joined give the file's)."""
    if not segments:
        return PLAIN_PREFIX[algorithm] + new_digest(algorithm).hexdigest()
    if len(segments) == 1:
        return PLAIN_PREFIX[algorithm] + segments[0]
    return SEGMENTED_PREFIX[algorithm] + HASHES[algorithm]("\n".join(segments).encode()).hexdigest()


def content_digest(source: SourceFile, algorithm: str = CURRENT) -> str:
    """Digest of the file's content (decompressed CSV bytes, a zip member's among them, or the Parquet
    file's bytes).

    A file that cannot be read to the end gets a digest of its own (it equals no content), so it
    goes to the ingest, which refuses it with the reason.
    """
    digest = SegmentDigest(algorithm)
    try:
        if source.is_parquet:
            with open(source.path, "rb") as file:
                while chunk := file.read(DIGEST_CHUNK):
                    digest.update(chunk)
        else:
            with open_source(source) as stream:
                while chunk := stream.read(DIGEST_CHUNK):
                    digest.update(chunk)
    except (OSError, ValueError) as error:  # pyarrow's errors derive from these
        return f"unreadable:{source.key}:{source.fingerprint}:{type(error).__name__}"
    return digest.hexdigest()


class ContentDigests:
    """A file's content digest in whichever algorithm a stored digest needs, each read at most once."""

    def __init__(self, source: SourceFile):
        self.source = source
        self._by_algorithm: dict[str, str] = {}

    def of(self, algorithm: str = CURRENT) -> str:
        if algorithm not in self._by_algorithm:
            self._by_algorithm[algorithm] = content_digest(self.source, algorithm)
        return self._by_algorithm[algorithm]

    def matches(self, stored: str | None) -> bool:
        """The file's content is the one `stored` (a manifest's digest) names."""
        return stored is not None and self.of(digest_algorithm(stored)) == stored


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


def stable_sources(sources: list[SourceFile], previous: dict[str, Observation], settle_ns: int = 0,
                   now_ns: int | None = None) -> list[SourceFile]:
    """Files complete enough to ingest: a `.done` marker exists, or size and modification time are
    the same as at the previous look (a writer still appending changes at least one of them) and,
    with `settle_ns`, the file was last written at least that long ago. The settle time lets looks
    come often (a sensor ticking every few seconds moves the stages on quickly) while a file still
    needs that long without a write to count as complete; with it, a file seen for the first time
    that has not been written for that long (moved in whole) is complete at once."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    return [source for source in sources
            if source.path.with_name(source.path.name + DONE_MARKER).exists()
            or _settled(previous.get(source.key), source, settle_ns, now_ns)]


def _settled(seen: Observation | None, source: SourceFile, settle_ns: int, now_ns: int) -> bool:
    quiet = now_ns - source.mtime_ns >= settle_ns
    if seen is None:
        return settle_ns > 0 and quiet
    return quiet and seen == Observation(source.size, source.mtime_ns)


def observations(sources: list[SourceFile]) -> dict[str, Observation]:
    return {source.key: Observation(source.size, source.mtime_ns) for source in sources}
