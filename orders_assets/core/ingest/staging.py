"""Staging of kept rows per (trade_date, security_code): the output of the one pass over a file.

Kept rows are buffered up to a memory budget, then grouped by partition and flushed as an Arrow
IPC file with one record batch per trade date, each partition's rows one contiguous run in it.
The index says, per partition, which (file, batch, offset, rows) runs hold its rows, so assembling
a date reads each of its batches once, whatever its number of securities (one batch per partition
made a year's staging 75,000 tiny batches, and their reads cost more than the rows).

A flush (grouping and writing tens of megabytes) runs on a background thread while the ingest
goes on parsing; at most one flush is in flight, so memory holds at most two budgets of rows.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.store.atomic import output_write_error
from orders_assets.core.ingest.progress import StageClock
from orders_assets.core.store.keys import PartitionKey


class PartitionStager:
    """Buffers kept rows and flushes them as IPC files with one record batch per trade date.

    Input order is not assumed: a partition may get slices from several flushes; the index
    lists them all. Sorted input (the usual case) gives about one slice per partition.
    """

    def __init__(self, folder: Path, budget_bytes: int, clock: StageClock | None = None):
        self.folder = folder
        self.clock = clock or StageClock()
        self.budget_bytes = budget_bytes
        self.buffer: list[pa.Table] = []
        self.buffered_bytes = 0
        self.flushes = 0
        self.index: dict[PartitionKey, list[list]] = {}
        """Per partition, its runs: [file name, batch, offset in the batch, rows]."""
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging")
        self._in_flight: Future | None = None

    def add(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        self.buffer.append(rows)
        self.buffered_bytes += rows.nbytes
        if self.buffered_bytes >= self.budget_bytes:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        rows = pa.concat_tables(self.buffer)
        self.buffer, self.buffered_bytes = [], 0
        name = f"slices-{self.flushes:05d}.arrow"
        self.flushes += 1
        self._wait()
        self._in_flight = self._writer.submit(self._write, rows, name)

    def _write(self, rows: pa.Table, name: str) -> None:
        try:
            with self.clock.timing("write"):
                self._write_slices(*grouped_by_partition(rows), name)
        except OSError as error:
            raise output_write_error(self.folder / name, error) from error

    def _write_slices(self, rows: pa.Table, runs: list[tuple[PartitionKey, int, int]], name: str) -> None:
        with pa.ipc.new_file(str(self.folder / name), rows.schema) as writer:
            for batch_number, (date_start, date_runs) in enumerate(_runs_by_date(runs)):
                date_rows = sum(length for _key, _start, length in date_runs)
                writer.write_batch(rows.slice(date_start, date_rows).to_batches(max_chunksize=date_rows)[0])
                for key, start, length in date_runs:
                    self.index.setdefault(key, []).append([name, batch_number, start - date_start, length])

    def _wait(self) -> None:
        """Let the flush in flight finish (and raise its error, if any)."""
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def close(self) -> dict[PartitionKey, list[list]]:
        """Flush what is buffered, wait for the writes, and return the index."""
        with self:
            self.flush()
            self._wait()
        return self.index

    def __enter__(self) -> "PartitionStager":
        return self

    def __exit__(self, *exc_info) -> None:
        self._writer.shutdown(wait=True)


def grouped_by_partition(rows: pa.Table) -> tuple[pa.Table, list[tuple[PartitionKey, int, int]]]:
    """Rows reordered so each (trade_date, security_code) is one contiguous run, input order kept
    within it, and (partition, start, length) of each run.

    One integer per row (day x the security's rank among the codes, in text order) and a stable
    argsort do (cheaper than sorting on a date and a string column); the sorted integers also
    give the runs, without a second pass over the rows. The runs come in key order, so assembly
    reads a date's securities as a few long runs of a batch, not one short run each.
    """
    if rows.num_rows == 0:
        return rows, []
    codes = pc.dictionary_encode(rows[schema.SECURITY_CODE].combine_chunks())
    days = pc.cast(rows[schema.TRADE_DATE], pa.int32()).to_numpy().astype(np.int64)
    in_text_order = pc.array_sort_indices(codes.dictionary).to_numpy()
    rank = np.empty(len(in_text_order), dtype=np.int64)
    rank[in_text_order] = np.arange(len(in_text_order))
    width = len(codes.dictionary) + 1
    key = days * width + rank[codes.indices.to_numpy()]
    order = np.argsort(key, kind="stable")
    grouped = key[order]
    starts = np.concatenate(([0], np.flatnonzero(grouped[1:] != grouped[:-1]) + 1))
    stops = np.concatenate((starts[1:], [len(grouped)]))
    labels = codes.dictionary.take(pa.array(in_text_order)).to_pylist()
    runs = [(PartitionKey(str(np.datetime64(int(value // width), "D")), labels[int(value % width)]), int(start),
             int(stop - start))
            for value, start, stop in zip(grouped[starts], starts, stops)]
    return rows.take(order).combine_chunks(), runs


def _runs_by_date(runs: list[tuple[PartitionKey, int, int]]) -> list[tuple[int, list[tuple[PartitionKey, int, int]]]]:
    """The partition runs (in row order, one date's contiguous) cut into dates: (first row, runs) each."""
    dates: list[tuple[int, list[tuple[PartitionKey, int, int]]]] = []
    for run in runs:
        if not dates or dates[-1][1][0][0][0] != run[0][0]:
            dates.append((run[1], []))
        dates[-1][1].append(run)
    return dates
