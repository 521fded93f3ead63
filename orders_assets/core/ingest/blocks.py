"""A source's bytes as blocks a worker reads: the parser its header calls for, the compiled pass's
plan where it applies, each block parsed, validated and filtered (FilteredBlock: what the ingest
counts and stages), for a whole file, a piece of one, or a Parquet file's row groups."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.errors import one_line
from orders_assets.core.read.filters import LOCAL_TIME, OrderFilter, kept_mask_and_causes, with_local_fields
from orders_assets.core.read.market import block_totals
from orders_assets.core.read.identity import HashingStream
from orders_assets.core.read.parse import ParsedBlock, RowParser
from orders_assets.core.read.reader import (
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
from orders_assets.core.read.amounts import decimal_prices
from orders_assets.core.read.compiled_block import CompiledPlan, compiled_plan, read_block
from orders_assets.core.read.values_seen import (
    SeenValues,
    counted,
)
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.ingest.ingest_settings import EXACT


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
