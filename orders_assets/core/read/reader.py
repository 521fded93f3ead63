"""Chunked reading of order files: byte blocks cut at row boundaries, never a whole file.

A CSV file (plain, gzip, zstd, xz, bz2, or a member of a zip) is read as a stream of blocks of about `block_bytes`, each
ending at a newline that is outside quotes, and each knowing the physical line number of its
first line. Blocks are what the parser works on, so memory is bounded by the block size
whatever the file size, and every rejected row can be reported with its exact line.
"""
from __future__ import annotations

import bz2
import csv
import lzma
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orders_assets.core.errors import InputError, OrdersAssetsError, one_line
from orders_assets.core.read.csv_rows import last_row_end
from orders_assets.core.read.head import head_problem
from orders_assets.core.read.zips import MemberStream, ZipRefusal, is_zip_name, zip_listing

DEFAULT_BLOCK_BYTES = 16 << 20
"""16 MiB: large enough for Arrow's multi-threaded parsing, small enough to keep memory flat."""

MAX_ROW_BYTES = 64 << 20
"""A single row longer than this is refused, so one malformed file cannot exhaust memory."""

UTF8_BOM = b"\xef\xbb\xbf"


class SourceFormatError(InputError):
    """The file cannot be read as an order file at all (not a row-level problem)."""


LEFT_THE_FOLDER = ("left the landing folder after the run planned it (moved or deleted): not read, none of its rows "
                   "counted; put it back to have it ingested")


class SourceVanishedError(OrdersAssetsError, FileNotFoundError):
    """The file left the landing folder between the plan and its ingest (moved or deleted): nothing
    is wrong with its content, there is none to read. Not a refusal: the step goes on without it."""

    def __init__(self, path: Path):
        super().__init__(f"{path}: {LEFT_THE_FOLDER}")


@dataclass(frozen=True)
class RawBlock:
    """Whole CSV rows as bytes, with the physical line number of the first one."""

    data: bytes
    first_line: int
    offset: int
    """Byte offset of the block in the decompressed stream."""
    lines: int
    """Physical lines in the block (the last may lack its newline)."""


PYTHON_CODECS = {".xz": lzma.open, ".bz2": bz2.open}
"""Compressions Arrow's wheels do not read; Python's own modules stream them (slower, still one pass)."""
ARROW_CODECS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
COMPRESSION_NAMES = {**ARROW_CODECS, ".xz": "xz", ".bz2": "bz2"}
"""The compression open_stream undoes, by suffix."""


class CountedStream:
    """A (decompressing) stream over a file that knows how many of the file's own bytes it has
    consumed, so progress and ETA are in the bytes on disk, compressed or not."""

    def __init__(self, stream, file, owned: tuple = ()):
        self.stream = stream
        self.file = file
        self.owned = owned

    def read(self, size: int) -> bytes:
        return self.stream.read(size)

    def file_position(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        for resource in self.owned:
            resource.close()

    def __enter__(self) -> "CountedStream":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_stream(path: Path) -> CountedStream:
    """Open a file, decompressing gzip / zstd (Arrow) or xz / bz2 (Python) by suffix; a file that
    cannot be opened is refused."""
    suffix = Path(path).suffix.lower()
    try:
        if suffix in PYTHON_CODECS:
            file = open(path, "rb")
            stream = PYTHON_CODECS[suffix](file, "rb")
            return CountedStream(stream, file, (stream, file))
        file = pa.OSFile(str(path))
        if suffix in ARROW_CODECS:
            stream = pa.CompressedInputStream(file, ARROW_CODECS[suffix])
            return CountedStream(stream, file, (stream, file))
        return CountedStream(file, file, (file,))
    except FileNotFoundError as error:
        raise SourceVanishedError(path) from error
    except (OSError, pa.ArrowException) as error:
        raise SourceFormatError(f"{path}: cannot open the file: {one_line(error)}") from error


def open_source(source) -> CountedStream:
    """Open a source file's CSV bytes: a member of a zip (`source.member`), else the file by its
    suffix (open_stream). A zip that the scan found no member to read in is refused with the reason."""
    if not is_zip_name(source.path.name):
        return open_stream(source.path)
    try:
        if source.member is None:
            raise ZipRefusal(zip_listing(source.path).problem or "the zip's members changed since it was listed: "
                             "it is read again at the next run")
        stream = MemberStream(source.path, source.member)
    except FileNotFoundError as error:
        raise SourceVanishedError(source.path) from error
    except ZipRefusal as error:
        raise SourceFormatError(f"{source.location}: {error}") from error
    return CountedStream(stream, stream, (stream,))


def read_chunk(stream, size: int, path: Path, offset: int) -> bytes:
    """Read up to `size` bytes; a truncated or corrupt compressed stream refuses the whole file
    (counting only the rows before the damage would report a partial day as complete)."""
    try:
        return stream.read(size)
    except (OSError, EOFError, lzma.LZMAError, pa.ArrowException) as error:
        raise SourceFormatError(
            f"{path}: cannot read past byte {offset:,} of its content: {one_line(error)}. The file is refused "
            "(truncated or corrupt?); its rows are not counted until a complete copy replaces it"
        ) from error


class CrLineEnds:
    """A file whose lines end in CR alone (classic Mac exports) read as if they ended in LF, so its
    line numbers count its own lines; the digest is taken of the file's bytes, under this."""

    def __init__(self, stream):
        self.stream = stream

    def read(self, size: int) -> bytes:
        return self.stream.read(size).replace(b"\r", b"\n")


def with_line_ends(stream, path: Path) -> tuple[object, bytes]:
    """The stream to read rows from, and its first bytes: a file with CRs but no LF in its first
    64 KiB has CR line ends and is read through CrLineEnds (a lone CR elsewhere stays data).

    Content whose first bytes say it is not UTF-8 text (UTF-16 or UTF-32, compressed twice or
    compressed under a plain name) is refused here, with the cause and the fix (core/read/head.py)."""
    head = read_chunk(stream, 1 << 16, path, 0)
    problem = head_problem(head, Path(path).name, COMPRESSION_NAMES.get(Path(path).suffix.lower()))
    if problem:
        raise SourceFormatError(f"{path}: {problem}")
    if b"\r" in head[:-1] and b"\n" not in head:
        return CrLineEnds(stream), head.replace(b"\r", b"\n")
    return stream, head


def read_header(stream: pa.NativeFile, path: Path, pending: bytes = b"") -> tuple[list[str], bytes]:
    """Read and parse the header line; return the column names and the bytes read past it."""
    buffer = pending
    while b"\n" not in buffer:
        chunk = read_chunk(stream, 1 << 16, path, len(buffer))
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > MAX_ROW_BYTES:
            raise SourceFormatError(f"{path}: line 1: header longer than {MAX_ROW_BYTES} bytes")
    line, _, rest = buffer.partition(b"\n")
    if line.startswith(UTF8_BOM):
        line = line[len(UTF8_BOM):]
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    if not text.strip():
        raise SourceFormatError(f"{path}: line 1: empty file or empty header line")
    try:
        names = [name.strip() for name in next(csv.reader([text]))]
    except csv.Error as error:  # a lone CR outside quotes: Python's csv module takes it for a line end
        raise SourceFormatError(f"{path}: line 1: the header line is not CSV ({error}); remove the CR "
                                "from the column names, or quote the name that holds it") from error
    return names, rest


def iter_blocks(stream: pa.NativeFile, pending: bytes, block_bytes: int, path: Path,
                first_line: int = 2) -> Iterator[RawBlock]:
    """Yield blocks of whole rows from `stream`, starting after the header (line 2; 1 without a header).

    This runs on the ingest's main thread, in order, while workers parse earlier blocks: it
    copies each block once and counts its lines with the compiled pass's count (no GIL held).
    """
    line = first_line
    offset = 0
    buffer = pending
    while True:
        chunk = read_chunk(stream, block_bytes, path, offset + len(buffer))
        if not chunk:
            break
        if b'"' in chunk or b'"' in buffer:
            buffer += chunk
            cut = last_row_end(buffer)
            data, buffer = (buffer[:cut], buffer[cut:]) if cut else (b"", buffer)
        else:
            end = chunk.rfind(b"\n")
            if end >= 0 and len(buffer) + chunk.find(b"\n") >= MAX_ROW_BYTES:
                _refuse_long_row(path, line)
            data, buffer = (buffer + memoryview(chunk)[:end + 1], chunk[end + 1:]) if end >= 0 else (b"", buffer + chunk)
        if not data:
            if len(buffer) > MAX_ROW_BYTES:
                _refuse_long_row(path, line)
            continue
        block = _block(data, line, offset)
        yield block
        line += block.lines
        offset += len(data)
    if buffer:
        yield _block(buffer, line, offset)


def _refuse_long_row(path: Path, line: int) -> None:
    raise SourceFormatError(f"{path}: line {line}: a row longer than {MAX_ROW_BYTES} bytes (unterminated quote?)")


def _block(data: bytes, first_line: int, offset: int) -> RawBlock:
    # the compiled count (about 10 GB/s, no temporary array): its line feeds plus one. Imported
    # here, when bytes are read: a run with nothing new never loads Numba (0.3-0.5 s).
    from orders_assets.core.read.row_kernel import count_lines

    newlines = count_lines(np.frombuffer(data, dtype=np.uint8)) - 1
    lines = newlines + (0 if data.endswith(b"\n") else 1)
    return RawBlock(data=data, first_line=first_line, offset=offset, lines=lines)


def iter_parquet_batches(path: Path, batch_rows: int, row_groups: tuple[int, int] | None = None,
                         first_row: int = 1) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Yield (batch, row number of its first row, 1-based) from a Parquet file, one row group at a
    time; with `row_groups` [first, last), those only, numbered from `first_row`."""
    parquet = pq.ParquetFile(str(path))
    groups = None if row_groups is None else list(range(*row_groups))
    for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=groups):
        yield batch, first_row
        first_row += batch.num_rows
