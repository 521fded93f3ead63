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

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.errors import AccountingError, one_line
from orders_assets.core.read.filters import LOCAL_TIME, OrderFilter, kept_mask_and_causes, order_filter_from, \
    with_local_fields
from orders_assets.core.read.market import MARKET_FILE, MarketTotals, block_totals
from orders_assets.core.read.identity import HashingStream, content_digest
from orders_assets.core.read.layout.model import Layout, LayoutChoice
from orders_assets.core.read.layout.rules import layout_choice_from
from orders_assets.core.machine.parallel import in_order
from orders_assets.core.read.parse import ParsedBlock, RowParser
from orders_assets.core.ingest.progress import StageClock
from orders_assets.core.schema import MAX_QUANTITY_DECIMALS
from orders_assets.core.read.reader import (
    DEFAULT_BLOCK_BYTES,
    RawBlock,
    SourceFormatError,
    SourceVanishedError,
    iter_blocks,
    iter_parquet_batches,
    open_source,
    read_header,
    with_line_ends,
)
from orders_assets.core.read.pieces import Piece, PieceStream, byte_range_segments, piece_blocks
from orders_assets.core.read.sources import SourceFile
from orders_assets.core.ingest.staging import PartitionStager
from orders_assets.core.store.atomic import atomic_write
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.quarantine import QuarantineWriter, reason_counts
from orders_assets.core.read.amounts import decimal_prices
from orders_assets.core.read.compiled_block import CompiledPlan, compiled_plan, read_block
from orders_assets.core.read.values_seen import (
    SeenValues,
    added,
    counted,
    filter_value_rows,
    filter_values,
    listed_values,
)

DEFAULT_STAGE_BYTES = 64 << 20
"""Kept rows held in memory before a flush to the staging area."""
COMPILED, EXACT = "compiled", "exact"
ENGINE_ENV = "ORDERS_ASSETS_ENGINE"
"""compiled (the default) or exact: which path reads the rows of files in the contract's layout."""


@dataclass(frozen=True)
class IngestSettings:
    order_filter: OrderFilter = field(default_factory=OrderFilter)
    layouts: LayoutChoice = field(default_factory=LayoutChoice)
    """Which vendor layout reads which file (canonical for files no rule names)."""
    quantity_decimals: int = 0
    """Decimal places a quantity may have (0: whole units, the contract's default)."""
    block_bytes: int = DEFAULT_BLOCK_BYTES
    stage_bytes: int = DEFAULT_STAGE_BYTES
    workers: int | None = None
    """Blocks processed at once (threads; Arrow releases the GIL). None: one per CPU."""
    read_ahead: int = 1
    """Blocks read and parsed ahead of the consumer beyond one per worker (memory: see core.tuning)."""
    engine: str = field(default_factory=lambda: os.environ.get(ENGINE_ENV, COMPILED))
    """COMPILED: the compiled pass reads the rows it can judge exactly, the exact path the rest (and
    every file of a vendor layout); EXACT: the exact path reads every row (the differential test's
    reference, and a way round a defect). Both give the same rows, quarantine and counts."""

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def fingerprint_for(self, source_key: str) -> str:
        """What a file's staged outputs depend on besides its bytes: the filter, its layout, the
        quantity decimals. A file ingested under another value is ingested again."""
        return ingest_fingerprint(self.order_filter, self.layouts.layout_for(source_key), self.quantity_decimals)


def ingest_rules_from(values: dict) -> IngestSettings:
    """Filter, layouts and quantity decimals from settings values (default sizing): enough to plan."""
    decimals = values.get("quantity_decimals", 0)
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= MAX_QUANTITY_DECIMALS:
        raise ValueError(f"quantity_decimals: {decimals!r} is not a whole number from 0 to {MAX_QUANTITY_DECIMALS}")
    return IngestSettings(order_filter=order_filter_from(values), layouts=layout_choice_from(values.get("layouts") or []),
                          quantity_decimals=decimals)


def ingest_fingerprint(order_filter: OrderFilter, layout: Layout, quantity_decimals: int) -> str:
    """The filter's fingerprint alone for canonical files with whole quantities (as before layouts)."""
    if layout.is_canonical and quantity_decimals == 0:
        return order_filter.fingerprint
    return f"{order_filter.fingerprint}/{layout.fingerprint}/q{quantity_decimals}"


@dataclass(frozen=True)
class FilteredBlock:
    """One block after parsing, validation and the filter: what the ingest stages and counts."""

    rows_read: int
    rejects: pa.Table
    kept: pa.Table
    """Kept rows in staged form: exact types, extras, source_line, trade_date, hour."""
    rows_filtered_out: int
    """Valid rows outside the filtered order set, and rows the layout says are not orders."""
    rows_not_orders: int
    bytes_done: int
    """Bytes of the source file consumed so far (compressed bytes for gzip / zstd / xz)."""
    filtered_by: tuple[int, ...] = (0, 0, 0)
    """Valid rows filtered out by each rule of filters.FILTER_RULES (with rows_not_orders: rows_filtered_out)."""
    rows_compiled: int = 0
    """Of rows_read, those the compiled pass judged (the rest the exact path read)."""
    values_seen: SeenValues | None = None
    """The values of the filter's columns and their rows, where the filter tested them (values_seen.py)."""
    rows_rounded: int = 0
    """Valid rows whose price or quantity the layout's declared rounding changed."""
    market: pa.Table | None = None
    """The valid rows' totals by (trade date, security, order type), kept or not (core/read/market.py)."""


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


@dataclass(frozen=True)
class BlockUnit:
    """One block of a file for a worker: CSV rows (`raw`) and its file's parser, with the compiled
    pass's plan when the kernel reads them, or a Parquet batch already parsed."""

    parser: RowParser
    raw: RawBlock | None = None
    parsed: ParsedBlock | None = None
    plan: CompiledPlan | None = None

    def parse(self) -> ParsedBlock:
        """The block by the exact path."""
        return self.parsed if self.parsed is not None else self.parser.parse(self.raw)


def compiled_block(unit: BlockUnit, bytes_done: int, order_filter: OrderFilter) -> FilteredBlock:
    """A CSV block read by the compiled pass, the rows it defers by the exact path and this filter."""
    def exact(parsed: ParsedBlock) -> tuple[pa.Table, int, tuple[int, ...], SeenValues, pa.Table]:
        filtered = filter_block(parsed, bytes_done, order_filter)
        return filtered.kept, filtered.rows_filtered_out, filtered.filtered_by, filtered.values_seen, filtered.market

    rows = read_block(unit.raw, unit.plan, exact)
    return FilteredBlock(rows_read=rows.rows_read, rejects=rows.rejects, kept=rows.kept,
                         rows_filtered_out=rows.rows_filtered_out, rows_not_orders=0, bytes_done=bytes_done,
                         filtered_by=rows.filtered_by, rows_compiled=rows.rows_read - rows.rows_exact,
                         values_seen=rows.values_seen, market=rows.market)


def filter_block(parsed: ParsedBlock, bytes_done: int, order_filter: OrderFilter) -> FilteredBlock:
    mask, causes, candidates = kept_mask_and_causes(parsed.rows, order_filter)
    seen = counted(schema.ORDER_TYPE, parsed.rows[schema.ORDER_TYPE]) if order_filter.order_types else {}
    if order_filter.participants:
        seen.update(counted(schema.PARTICIPANT_ID, parsed.rows[schema.PARTICIPANT_ID].filter(candidates)))
    kept = parsed.rows.filter(mask)
    return FilteredBlock(
        rows_read=parsed.rows_read,
        rejects=parsed.rejects,
        kept=decimal_prices(with_local_fields(kept)),
        rows_filtered_out=parsed.rows.num_rows - kept.num_rows + parsed.rows_not_orders,
        rows_not_orders=parsed.rows_not_orders,
        bytes_done=bytes_done,
        filtered_by=causes,
        values_seen=seen,
        rows_rounded=parsed.rows_rounded,
        market=_market(parsed.rows),
    )


def _market(rows: pa.Table) -> pa.Table:
    """The parsed block's valid rows totalled by trade date, security and order type (market.py)."""
    local = rows[LOCAL_TIME]
    return block_totals(pc.cast(local, pa.date32()), rows[schema.SECURITY_CODE], rows[schema.ORDER_TYPE],
                        decimal_prices(rows.select([schema.PRICE]))[schema.PRICE], rows[schema.QUANTITY])


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


def block_parsers(source: SourceFile, settings: IngestSettings, digest_out: list[str] | None = None,
                  renamed_out: dict[str, str] | None = None) -> Iterator[tuple[BlockUnit, int]]:
    """Per block of a source, its unit (what a worker parses and validates), and the bytes consumed so far.

    Reading and cutting blocks happens here, in order; the parsing itself is deferred so that
    it can run on a worker thread.
    """
    layout = settings.layouts.layout_for(source.key)
    parser_for = _parser_maker(source, settings, renamed_out)
    if source.is_parquet:
        for parser, parsed, bytes_done in _parquet_blocks(source, parser_for, settings.block_bytes):
            yield BlockUnit(parser, parsed=parsed), bytes_done
        return
    with open_source(source) as raw:
        hashing = HashingStream(raw)
        stream, pending = with_line_ends(hashing, source.location)
        if layout.header:
            header, pending = read_header(stream, source.location, pending)
        else:
            header = list(layout.column_names)
        parser = parser_for(header)
        plan = _plan(parser, settings)
        first_line = 2 if layout.header else 1
        for block in iter_blocks(stream, pending, block_size(settings, plan), source.location, first_line):
            yield BlockUnit(parser, raw=block, plan=plan), raw.file_position()
        if digest_out is not None:
            digest_out.append(hashing.hexdigest_to_end())


COMPILED_BLOCK_BYTES = 4 << 20
"""The compiled pass's blocks are at most 4 MiB (a core's L2 cache here): the block, then its kept
fields gathered from it, are read while still in cache. Measured on the 2 GB file, 2 cores: 16 MiB
436 MB/s, 8 MiB 470, 4 MiB 481-517, 2 MiB 487, 1 MiB 413 (per-block costs take over). The exact
path keeps the tuning's blocks (Arrow's CSV reader: 264 MB/s at 16 MiB, 234 at 4 MiB)."""


def block_size(settings: IngestSettings, plan: CompiledPlan | None) -> int:
    """The bytes of a block for the path that reads the file's rows."""
    return settings.block_bytes if plan is None else min(settings.block_bytes, COMPILED_BLOCK_BYTES)


def _plan(parser: RowParser, settings: IngestSettings) -> CompiledPlan | None:
    """The compiled pass's plan for a file's rows, None when the exact path reads them all."""
    if settings.engine == EXACT:
        return None
    return compiled_plan(parser, settings.order_filter, settings.quantity_decimals)


def _parser_maker(source: SourceFile, settings: IngestSettings,
                  renamed_out: dict[str, str] | None) -> Callable[[list[str]], RowParser]:
    layout = settings.layouts.layout_for(source.key)

    def parser_for(header: list[str]) -> RowParser:
        parser = RowParser(header, source.key, settings.order_filter.timezone, layout, settings.quantity_decimals)
        if renamed_out is not None:
            renamed_out.update(parser.renamed)
        return parser
    return parser_for


def header_parser(source: SourceFile, settings: IngestSettings,
                  renamed_out: dict[str, str] | None = None) -> RowParser:
    """The parser of a CSV file's rows, from its header line (read from the file's start) or its
    layout's column names; a header the contract cannot read is refused here (SourceFormatError)."""
    layout = settings.layouts.layout_for(source.key)
    if layout.header:
        with open_source(source) as raw:
            stream, pending = with_line_ends(raw, source.location)
            header, _rest = read_header(stream, source.location, pending)
    else:
        header = list(layout.column_names)
    return _parser_maker(source, settings, renamed_out)(header)


def piece_parsers(source: SourceFile, settings: IngestSettings, piece: Piece, segments_out: list[str] | None = None,
                  renamed_out: dict[str, str] | None = None) -> Iterator[tuple[BlockUnit, int]]:
    """`block_parsers` for one piece of a file: the header read from the file's start, then only
    the piece's bytes, its blocks numbered from its first row's line."""
    if source.is_parquet:
        for parser, parsed, bytes_done in _parquet_blocks(source, _parser_maker(source, settings, renamed_out),
                                                          settings.block_bytes, piece):
            yield BlockUnit(parser, parsed=parsed), bytes_done
        if segments_out is not None:
            segments_out.extend(byte_range_segments(source.path, piece))
        return
    parser = header_parser(source, settings, renamed_out)
    plan = _plan(parser, settings)
    with PieceStream(source.path, piece) as stream:
        for block in piece_blocks(stream, block_size(settings, plan), source.path):
            yield BlockUnit(parser, raw=block, plan=plan), stream.file_position()
        if segments_out is not None:
            segments_out.extend(stream.segments())


def parsed_blocks(source: SourceFile, settings: IngestSettings) -> Iterator[tuple[ParsedBlock, int]]:
    """Validated blocks of a source, one after the other, with the bytes consumed so far."""
    for unit, bytes_done in block_parsers(source, settings):
        yield unit.parse(), bytes_done


def _parquet_blocks(source: SourceFile, parser_for: Callable[[list[str]], RowParser],
                    block_bytes: int, piece: Piece | None = None) -> Iterator[tuple[RowParser, ParsedBlock, int]]:
    """Parquet batches through the same rules (with `piece`, its row groups only); bytes consumed
    are estimated from rows read."""
    try:
        parquet = pq.ParquetFile(str(source.path))
    except FileNotFoundError as error:
        raise SourceVanishedError(source.path) from error
    except (OSError, pa.ArrowException) as error:
        raise SourceFormatError(f"{source.path}: not a readable Parquet file: {one_line(error)}") from error
    parser = parser_for(parquet.schema_arrow.names)
    total_rows = max(1, parquet.metadata.num_rows)
    batches = (iter_parquet_batches(source.path, max(1024, block_bytes // 100)) if piece is None else
               iter_parquet_batches(source.path, max(1024, block_bytes // 100), piece.row_groups, piece.first_line))
    while True:
        try:
            batch, first_row = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as error:
            raise SourceFormatError(f"{source.path}: a row group cannot be read: {error}; the file is refused") from error
        parsed = parser.parse_table(pa.Table.from_batches([batch]), first_row)
        yield parser, parsed, source.size * (first_row + batch.num_rows - 1) // total_rows
