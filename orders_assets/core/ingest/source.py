"""One pass over one source file: parse, validate, filter, and stage every partition it touches.

This is the only place a source file is parsed. Its outputs are what every later step reads:
- the kept rows, buffered up to a memory budget and flushed as Arrow IPC files holding one
  record batch per (trade_date, security_code) partition, so re-materializing one partition
  reads a few kilobytes, never the source again;
- the quarantine of rejected rows with line and reason;
- the manifest: row accounting (rows_read = kept + filtered_out + rejected), the partitions
  touched and where their slices are. Published last, it is the commit point of the ingest.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orders_assets.core.errors import AccountingError
from orders_assets.core.read.market import MARKET_FILE, MarketTotals
from orders_assets.core.read.identity import content_digest
from orders_assets.core.machine.parallel import in_order
from orders_assets.core.ingest.progress import StageClock
from orders_assets.core.read.pieces import Piece
from orders_assets.core.read.sources import SourceFile
from orders_assets.core.ingest.staging import PartitionStager
from orders_assets.core.store.atomic import atomic_write
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.quarantine import QuarantineWriter, reason_counts
from orders_assets.core.read.values_seen import (
    SeenValues,
    added,
    filter_value_rows,
    filter_values,
    listed_values,
)
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.ingest.blocks import (BlockUnit, FilteredBlock, block_parsers, compiled_block, filter_block,
                                             piece_parsers)


@dataclass
class RowCounts:
    rows_read: int = 0
    rows_kept: int = 0
    rows_filtered_out: int = 0
    rows_rejected: int = 0
    rows_not_orders: int = 0
    """Part of rows_filtered_out: rows the file's layout says are not orders."""
    rows_filtered_order_type: int = 0
    rows_filtered_session: int = 0
    rows_filtered_participant: int = 0
    """The rest of rows_filtered_out, by the first rule of the filter each row failed."""
    rows_read_compiled: int = 0
    """Of rows_read, those the compiled pass judged; the exact path read the others."""
    rows_rounded: int = 0
    """Valid rows whose price or quantity the file's layout rounded (its `rounding`)."""
    rejections_by_reason: dict[str, int] | None = field(default_factory=dict)
    """rows_rejected by reason, counted as the rows go to the quarantine, so that the reports need
    not read it; None when a piece recorded by an earlier release did not count them."""
    values_seen: SeenValues | None = field(default_factory=dict)
    """The values of the filter's columns with their rows as the blocks go (values_seen.py); None
    when a piece recorded by an earlier release did not count them."""

    def balanced(self) -> bool:
        return self.rows_read == self.rows_kept + self.rows_filtered_out + self.rows_rejected

    def add(self, block: FilteredBlock, named: Mapping[str, tuple[str, ...]]) -> None:
        """Count one block's rows (`named`: the filter's values, values_seen.filter_values)."""
        self.rows_read += block.rows_read
        self.rows_rejected += block.rejects.num_rows
        self.rows_kept += block.kept.num_rows
        self.rows_filtered_out += block.rows_filtered_out
        self.rows_not_orders += block.rows_not_orders
        self.rows_filtered_order_type += block.filtered_by[0]
        self.rows_filtered_session += block.filtered_by[1]
        self.rows_filtered_participant += block.filtered_by[2]
        self.rows_read_compiled += block.rows_compiled
        self.rows_rounded += block.rows_rounded
        for reason, rows in reason_counts(block.rejects).items():
            self.rejections_by_reason[reason] = self.rejections_by_reason.get(reason, 0) + rows
        self.values_seen = added(self.values_seen, block.values_seen, named)

    def manifest_fields(self, named: Mapping[str, tuple[str, ...]]) -> dict:
        """The counts as a manifest keeps them: the rows of each of the filter's values (`named`) and
        the values seen listed, most rows first (None both when a piece did not count them)."""
        seen = self.values_seen
        return {**self.__dict__,
                "filter_value_rows": None if seen is None else filter_value_rows(seen, named),
                "values_seen": None if seen is None else listed_values(seen, named)}

    @classmethod
    def summed(cls, parts: list[Mapping], named: Mapping[str, tuple[str, ...]]) -> RowCounts:
        """The counts of a file's pieces (their records) added up."""
        reasons = [part.get("rejections_by_reason") for part in parts]
        summed: Counter = Counter()
        for counts in reasons:
            summed.update(counts or {})
        seen = [part.get("values_seen") for part in parts]
        values: SeenValues = {}
        for part_values in seen:
            values = added(values, part_values, named)
        numbers = [name for name, value in cls().__dict__.items() if isinstance(value, int)]
        return cls(**{name: sum(part.get(name, 0) for part in parts) for name in numbers},
                   rejections_by_reason=None if None in reasons else dict(summed),
                   values_seen=None if None in seen else values)


Progress = Callable[[int, RowCounts], None]
"""Called after each block with (bytes of the file read so far, counts so far)."""


@dataclass(frozen=True)
class ChunkedSource:
    """A source file and how to read it: iterating `blocks()` parses it one block at a time."""

    source: SourceFile
    settings: IngestSettings

    def blocks(self, digest_out: list[str] | None = None, clock: StageClock | None = None,
               renamed_out: dict[str, str] | None = None, piece: Piece | None = None) -> Iterator[FilteredBlock]:
        """The file's blocks in order, each parsed, validated and filtered on a worker thread.

        Once the last block is out, `digest_out` (if given) receives the content digest of
        what was read (CSV); for Parquet it stays empty. `clock` (if given) adds up the seconds
        of reading, parsing and filtering. `renamed_out` (if given) receives the file's columns
        renamed because the pipeline adds a column of that name (parse.renamed_extras).
        With `piece`, only that piece's rows are read, and `digest_out` receives the digests of the
        segments it hashed (pieces.PieceStream).
        """
        settings = self.settings
        clock = clock or StageClock()

        def task(unit: BlockUnit, bytes_done: int) -> Callable[[], FilteredBlock]:
            def parse_and_filter() -> FilteredBlock:
                if unit.plan is not None:
                    with clock.timing("parse"):
                        return compiled_block(unit, bytes_done, settings.order_filter)
                with clock.timing("parse"):
                    parsed = unit.parse()
                with clock.timing("filter"):
                    return filter_block(parsed, bytes_done, settings.order_filter)
            return parse_and_filter

        units = (piece_parsers(self.source, settings, piece, digest_out, renamed_out) if piece is not None
                 else block_parsers(self.source, settings, digest_out, renamed_out))
        units = _timed(units, clock, "read")
        tasks = (task(unit, bytes_done) for unit, bytes_done in units)
        return in_order(tasks, settings.worker_count, settings.read_ahead)


def _timed(items: Iterator, clock: StageClock, stage: str) -> Iterator:
    """The items of an iterator, the seconds spent producing each added to `stage`."""
    while True:
        with clock.timing(stage):
            item = next(items, _END)
        if item is _END:
            return
        yield item


_END = object()


def ingest_source(chunked: ChunkedSource, store: OrderStore, progress: Progress | None = None) -> dict:
    """Ingest one source file completely and publish its manifest; return the manifest.

    Two ingests of the same file (the sensor's and a manual run) take turns on the source's lock.
    """
    with store.source_locked(chunked.source.key):
        return _ingest_locked(chunked, store, progress)


def _ingest_locked(chunked: ChunkedSource, store: OrderStore, progress: Progress | None) -> dict:
    source, settings = chunked.source, chunked.settings
    started = time.perf_counter()
    attempt = store.begin_attempt(source.key)
    digest: list[str] = []
    renamed: dict[str, str] = {}
    clock = StageClock()
    try:
        counts, partitions = stage_blocks(chunked.blocks(digest, clock, renamed), attempt, settings, clock, progress)
    except BaseException:
        store.abandon_attempt(source.key, attempt)
        raise
    if not counts.balanced():
        raise AccountingError(f"{source.key}: row accounting does not balance: {counts}")
    manifest = Manifest(
        source_key=source.key,
        fingerprint=source.fingerprint,
        content_digest=digest[0] if digest else content_digest(source),
        filter_fingerprint=settings.fingerprint_for(source.key),
        layout=settings.layouts.layout_for(source.key).name,
        renamed_columns=renamed,
        bytes=source.size,
        **counts.manifest_fields(filter_values(settings.order_filter)),
        partitions={key.text: slices for key, slices in sorted(partitions.items())},
        seconds=round(time.perf_counter() - started, 3),
        workers=settings.worker_count,
        stage_seconds={stage: round(seconds, 3) for stage, seconds in clock.seconds.items()},
        market_totals=True,
    )
    store.publish_attempt(source.key, attempt, manifest)
    return store.manifest(source.key)


def stage_blocks(blocks: Iterator[FilteredBlock], folder: Path, settings: IngestSettings, clock: StageClock,
                 progress: Progress | None) -> tuple[RowCounts, dict]:
    """Count, quarantine and stage the filtered blocks into `folder`; return the counts and the
    staged slices per partition (the whole file's, or one piece's)."""
    counts = RowCounts()
    market = MarketTotals()
    named = filter_values(settings.order_filter)
    with PartitionStager(folder, settings.stage_bytes, clock) as stager, \
            QuarantineWriter(folder / "quarantine.csv") as quarantine:
        for block in blocks:
            counts.add(block, named)
            market.add(block.market)
            with clock.timing("write"):
                quarantine.write(block.rejects)
            stager.add(block.kept)  # its flushes are timed on their own thread
            if progress:
                progress(block.bytes_done, counts)
        partitions = stager.close()
    with clock.timing("write"):
        write_market(folder, market.table())
    return counts, partitions


def write_market(folder: Path, totals: pa.Table) -> None:
    """The market's totals of a file (or a piece) beside its staged slices (core/read/market.py)."""
    atomic_write(folder / MARKET_FILE, lambda temporary: pq.write_table(totals, temporary, compression="zstd"))


