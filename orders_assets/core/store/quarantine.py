"""A source's quarantine, `quarantine/<source id>.csv`: its rejected rows (source_file, line, column,
reason, raw), written by the ingest and read back by the store by one set of options, here.

The raw text is the source's own row: quoted newlines, doubled quotes, and as long as the reader
accepts (reader.MAX_ROW_BYTES of source bytes, twice that once quotes are doubled; a Parquet
row's JSON has no limit). Arrow's CSV reader reads that back only with `newlines_in_values` and
blocks that hold a whole row; its defaults (1 MiB blocks, no newline inside a value) failed on
every quarantine past 1 MB holding a quoted newline, or holding one row over 1 MiB. The file is
read as a stream of FIRST_BLOCK_BYTES blocks; a row longer than a block starts the read again with
blocks BLOCK_GROWTH times larger, past the rows already given, so memory follows the longest row,
never the file. Text cells are written spreadsheet-safe (csv_cells) and read back exact.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orders_assets.core.errors import StoreError
from orders_assets.core.read.parse import QUARANTINE_SCHEMA
from orders_assets.core.store.csv_cells import formulas_escaped, formulas_unescaped

WRITE_OPTIONS = pacsv.WriteOptions(quoting_style="needed")
PARSE_OPTIONS = pacsv.ParseOptions(newlines_in_values=True)
"""The writer quotes a value holding a newline, a quote or a comma, and doubles its quotes."""
FIRST_BLOCK_BYTES = 16 << 20
BLOCK_GROWTH = 4


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
    size = os.path.getsize(path)
    given, block_bytes = 0, FIRST_BLOCK_BYTES
    while True:
        try:
            for batch in _batches_after(path, columns, block_bytes, given):
                given += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid as error:
            if block_bytes > size:  # the whole file was one block: not a row too long, a damaged file
                manifest = path.parent.parent / "staging" / path.stem / "manifest.json"
                raise StoreError(f"{path}: not a quarantine file as orders_assets writes them ({error}); delete it "
                                 f"and {manifest}, and the next run ingests its source again") from error
            block_bytes *= BLOCK_GROWTH


def _batches_after(path: Path, columns: list[str] | None, block_bytes: int, skip: int) -> Iterator[pa.Table]:
    """The file's rows after the first `skip`, in blocks of `block_bytes`."""
    convert = pacsv.ConvertOptions(column_types=QUARANTINE_SCHEMA, include_columns=columns,
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=block_bytes),
                        parse_options=PARSE_OPTIONS, convert_options=convert) as reader:
        for batch in reader:
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            yield formulas_unescaped(pa.Table.from_batches([batch.slice(skip)]))
            skip = 0


def read_quarantine(path: Path) -> pa.Table:
    """A quarantine file's rows, exact (QUARANTINE_SCHEMA)."""
    return pa.concat_tables([QUARANTINE_SCHEMA.empty_table(), *quarantine_batches(path)])


def quarantine_rows(path: Path) -> int:
    """How many rows a quarantine file holds, in the memory of its longest row."""
    return sum(batch.num_rows for batch in quarantine_batches(path, ["line"]))


def reasons_in_file(path: Path) -> dict[str, int]:
    """Rows per reason of a quarantine file (its reason column alone): for manifests that did not count them."""
    counts: Counter = Counter()
    for batch in quarantine_batches(path, ["reason"]):
        counts.update(reason_counts(batch))
    return dict(counts)


def reason_counts(rejects: pa.Table) -> dict[str, int]:
    """Rows per reason of rejected rows (QUARANTINE_SCHEMA), as the ingest counts them into the manifest."""
    if not rejects.num_rows:
        return {}
    return {entry["values"]: entry["counts"] for entry in pc.value_counts(rejects["reason"]).to_pylist()}
