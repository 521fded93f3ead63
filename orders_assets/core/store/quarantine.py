"""A source's quarantine, `quarantine/<source id>.csv`: its rejected rows (source_file, line, column,
reason, raw), written by the ingest and read back by the store by one set of options, here.

The raw text is the source's own row: quoted newlines, doubled quotes, and as long as the reader
accepts (reader.MAX_ROW_BYTES of source bytes, twice that once quotes are doubled; a Parquet
row's JSON has no limit). Arrow's CSV reader with its default options failed on every quarantine
past 1 MB holding a quoted newline, or holding one row over 1 MiB (1 MiB blocks, no newline
inside a value); and its streaming reader, given blocks as long as the longest row, reads dozens
of them ahead (docs/performance.md). So the file is cut here at row ends, into blocks of about
BLOCK_BYTES (or one longer row), and Arrow parses one block at a time with the writer's grammar:
memory follows the block and the longest row, never the file.
Text cells are written spreadsheet-safe (csv_cells) and read back exact.
"""
from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orders_assets.core.errors import StoreError
from orders_assets.core.read.parse import QUARANTINE_SCHEMA
from orders_assets.core.store.csv_cells import formulas_escaped, formulas_unescaped

WRITE_OPTIONS = pacsv.WriteOptions(quoting_style="needed")
PARSE_OPTIONS = pacsv.ParseOptions(newlines_in_values=True)
"""The writer quotes a value holding a newline, a quote or a comma, and doubles its quotes."""
BLOCK_BYTES = 16 << 20
QUOTE, LF = ord('"'), ord("\n")


class QuarantineWriter:
    """Streams rejected rows to a CSV file (written even when empty, so its absence means no ingest)."""

    def __init__(self, path: Path):
        self.path = path
        self._writer = pacsv.CSVWriter(str(path), QUARANTINE_SCHEMA, write_options=WRITE_OPTIONS)

    def write(self, rejects: pa.Table) -> None:
        if rejects.num_rows:
            self._writer.write_table(formulas_escaped(rejects))

    def __enter__(self) -> "QuarantineWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self._writer.close()


def quarantine_batches(path: Path, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The rows of a quarantine file, a block at a time, with the values they had before they were
    written; `columns`: only those (the others are parsed, never kept)."""
    with open(path, "rb") as file:
        names = next(csv.reader([file.readline().decode("utf-8")]), [])
        convert = pacsv.ConvertOptions(column_types=QUARANTINE_SCHEMA, include_columns=columns,
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)
        for block in _row_blocks(file):
            yield formulas_unescaped(_parsed(path, block, names, convert))


def _parsed(path: Path, block: bytes, names: list[str], convert: pacsv.ConvertOptions) -> pa.Table:
    """One block of whole rows, by the writer's grammar; a block it cannot read is a damaged file."""
    try:
        return pacsv.read_csv(pa.py_buffer(block), parse_options=PARSE_OPTIONS, convert_options=convert,
                              read_options=pacsv.ReadOptions(column_names=names, use_threads=False,
                                                             block_size=len(block) + 1))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as error:
        manifest = path.parent.parent / "staging" / path.stem / "manifest.json"
        raise StoreError(f"{path}: not a quarantine file as orders_assets writes them ({str(error)[:200]}); "
                         f"delete it and {manifest}, and the next run ingests its source again") from error


def _row_blocks(file) -> Iterator[bytes]:
    """The rest of the file in blocks of whole rows, each about BLOCK_BYTES or one longer row."""
    pending: list[bytes] = []
    quotes = 0
    """Quotes in the pending bytes: odd while a quoted field is open."""
    while chunk := file.read(BLOCK_BYTES):
        cut = _last_row_end(chunk, quotes % 2)
        if cut:
            yield b"".join([*pending, chunk[:cut]])
            pending, quotes = [chunk[cut:]], chunk.count(b'"', cut)
        else:
            pending.append(chunk)
            quotes += chunk.count(b'"')
    rest = b"".join(pending)
    if rest:
        yield rest


def _last_row_end(chunk: bytes, open_quotes: int) -> int:
    """Just past the chunk's last newline that ends a row (0: none); `open_quotes` is 1 when a
    quoted field is open at its start. The writer quotes whole fields and doubles a quote inside
    one, so every quote opens, closes or doubles, and a newline ends a row exactly when the quotes
    before it are even: one pass of numpy over the chunk (the count kept in a byte: its parity is
    all that matters), unless the last newline already is one, as it nearly always is."""
    end = chunk.rfind(b"\n")
    if end < 0 or (open_quotes + chunk.count(b'"', 0, end)) % 2 == 0:
        return end + 1
    raw = np.frombuffer(chunk, dtype=np.uint8)
    quotes_so_far = np.cumsum(raw == QUOTE, dtype=np.uint8)
    row_ends = (raw == LF) & ((quotes_so_far & 1) == open_quotes)
    last = len(chunk) - 1 - int(np.argmax(row_ends[::-1]))
    return last + 1 if row_ends[last] else 0


def read_quarantine(path: Path) -> pa.Table:
    """A quarantine file's rows, exact (QUARANTINE_SCHEMA)."""
    return pa.concat_tables([QUARANTINE_SCHEMA.empty_table(), *quarantine_batches(path)])


def reasons_in_file(path: Path) -> dict[str, int]:
    """Rows per reason of a quarantine file (its reason column alone), in the memory of a block and
    its longest row."""
    counts: Counter = Counter()
    for batch in quarantine_batches(path, ["reason"]):
        counts.update(reason_counts(batch))
    return dict(counts)


def reason_counts(rejects: pa.Table) -> dict[str, int]:
    """Rows per reason of rejected rows (QUARANTINE_SCHEMA), as the ingest counts them into the manifest."""
    if not rejects.num_rows:
        return {}
    return {entry["values"]: entry["counts"] for entry in pc.value_counts(rejects["reason"]).to_pylist()}
