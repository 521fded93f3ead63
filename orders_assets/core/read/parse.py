"""Parsing of raw blocks into validated rows and quarantine records.

Two paths, chosen per block:
1. Arrow's multi-threaded CSV reader with every column as text: the norm. The rules in
   `validate` then type the columns and find bad values, whose line is first_line + row index.
   Values are typed by `validate`, not by the reader, because the reader's number parsing is more
   lenient than the contract (it takes `1e3` or `.5` as prices): one grammar must decide, whatever
   the path a block takes.
2. Python's csv module, row by row, when the block's structure is broken (wrong field counts
   Arrow cannot number, a CR inside a row): slow, but nothing is lost or misattributed.
Either way a row's line and raw text come from `csv_rows`, which finds where rows begin by the
same grammar both readers use: a quoted newline never shifts a later row's line.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orders_assets.core import schema
from orders_assets.core.read.csv_rows import LF, RowSpans, has_lone_cr, row_spans
from orders_assets.core.read.layout.model import CANONICAL_LAYOUT, Layout, LayoutError
from orders_assets.core.read.layout.apply import first_line_is_header, to_canonical, vendor_columns_needed
from orders_assets.core.read.reader import MAX_ROW_BYTES, RawBlock, SourceFormatError
from orders_assets.core.read.validate import REQUIRED_TEXT, validate
from orders_assets.core.read.header import (SOURCE_LINE, header_matched, header_problem, renamed_extras)



QUARANTINE_SCHEMA = pa.schema(
    [("source_file", pa.string()), ("line", pa.int64()), ("column", pa.string()),
     ("reason", pa.string()), ("raw", pa.string())]
)
ARROW_BLOCK_BYTES = 1 << 20
"""At least this; a block is read as one Arrow block, so no row can straddle two."""


@dataclass(frozen=True)
class ParsedBlock:
    rows: pa.Table
    """Valid rows: canonical typed columns, pass-through extras, and their source_line."""
    rows_read: int
    rejects: pa.Table
    """One row per rejected input row, in QUARANTINE_SCHEMA."""
    rows_not_orders: int = 0
    """Rows the file's layout says are not orders (e.g. cancel messages): read, then filtered out."""
    rows_rounded: int = 0
    """Valid rows whose price or quantity the layout's declared rounding changed."""


class RowParser:
    """Parses the blocks of one file whose columns are `header` (CSV blocks or Parquet batches).

    The file's layout turns its columns into canonical ones before the contract's rules run, so
    a vendor file and a canonical one meet the same validation, filter and accounting.
    """

    def __init__(self, header: list[str], source_key: str, timezone: str, layout: Layout = CANONICAL_LAYOUT,
                 quantity_decimals: int = 0):
        needed = list(schema.CANONICAL_COLUMNS) if layout.is_canonical else vendor_columns_needed(layout)
        header = header_matched(header, needed)
        problem = header_problem(header, needed, layout)
        if problem:
            raise SourceFormatError(f"{source_key}: line 1: {problem}")
        try:
            self.file_fields = layout.file_fields(source_key)
        except LayoutError as error:
            raise SourceFormatError(str(error)) from error
        self.renamed = renamed_extras(header, needed)
        """The file's own columns renamed because the pipeline adds a column of that name (docs/reliability.md)."""
        self.header = [self.renamed.get(name, name) for name in header]
        self.source_key = source_key
        self.timezone = timezone
        self.layout = layout
        self.quantity_decimals = quantity_decimals
        self.sides = schema.VALID_SIDES if layout.is_canonical else schema.VALID_SIDES + (schema.UNKNOWN_SIDE,)

    def parse(self, block: RawBlock) -> ParsedBlock:
        """Arrow reads the block on this thread (blocks are already parsed in parallel), which lets
        it number the rows of the wrong field count it skips."""
        broken: list[tuple[int, str, int]] = []

        def record(row) -> str:
            broken.append((row.number, row.text, row.actual_columns))
            return "skip"

        if has_lone_cr(block.data):
            return self._parse_exactly(block)  # Arrow would end a row at the CR
        try:
            table = self._read(block.data, handler=record)
        except pa.ArrowInvalid:
            return self._parse_exactly(block)
        if not broken and table.num_rows == block.lines:  # one row a line: no blank line, no quoted newline
            lines = np.arange(block.first_line, block.first_line + table.num_rows, dtype=np.int64)
            return self._validated(table, lines, lambda positions: _lines_text(block, lines[positions]))
        spans = row_spans(block.data, block.first_line)
        if len(spans) != table.num_rows + len(broken) or any(number is None for number, _, _ in broken):
            return self._parse_exactly(block, spans)
        return self._with_broken_rows(block, spans, table, broken)

    def _with_broken_rows(self, block: RawBlock, spans: RowSpans, table: pa.Table,
                          broken: list[tuple[int, str, int]]) -> ParsedBlock:
        """A block parsed by Arrow whose rows are `spans`, some skipped for the wrong field count.

        Arrow numbers the rows it skips (1-based, among the block's non-blank rows), which are
        the spans in order, so good and broken rows both get their exact lines and raw text.
        """
        broken_index = np.asarray([number - 1 for number, _, _ in broken], dtype=np.int64)
        kept_index = np.delete(np.arange(len(spans)), broken_index)
        expected = len(self.header)
        structural = self._reject_table(
            spans.lines[broken_index].tolist(),
            [f"field_count: expected {expected} fields, found {found}" for _, _, found in broken],
            [_decode(spans.raw(block.data, index)) for index in broken_index.tolist()],
        )
        return self._validated(table, spans.lines[kept_index],
                               lambda positions: _spans_text(block, spans, kept_index[positions]), structural)

    def parse_table(self, table: pa.Table, first_row: int) -> ParsedBlock:
        """Rows already split into columns (a Parquet batch); 'line' is the 1-based row number."""
        if self.renamed:
            table = table.rename_columns([self.renamed.get(name, name) for name in table.column_names])
        for column in REQUIRED_TEXT if self.layout.is_canonical else ():
            if not pa.types.is_string(table[column].type):
                table = table.set_column(table.schema.get_field_index(column), column,
                                         pc.cast(table[column], pa.string()))
        lines = np.arange(first_row, first_row + table.num_rows, dtype=np.int64)

        def raw_rows(positions: np.ndarray) -> list[str]:
            return [json.dumps(row, default=str) for row in table.take(pa.array(positions)).to_pylist()]

        return self._validated(table, lines, raw_rows)

    def _read(self, data: bytes, handler) -> pa.Table:
        column_types = {name: pa.string() for name in self.header}
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=self.header, use_threads=False,
                                           block_size=max(ARROW_BLOCK_BYTES, len(data) + 1)),
            parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )

    def _validated(self, table: pa.Table, lines: np.ndarray, raw_for: Callable[[np.ndarray], list[str]],
                   extra_rejects: pa.Table | None = None) -> ParsedBlock:
        """Validate rows whose physical lines are `lines`; raw_for(positions) gives the raw text of rows.
        The first line of a file read without a header is not a row when it is a header line (its
        layout's column names, in any case): it is read past, as a header is, never counted."""
        if not self.layout.header and table.num_rows and lines[0] == 1 and first_line_is_header(self.layout, table):
            raw_for = _through(np.arange(1, table.num_rows), raw_for)
            table, lines = table.slice(1), lines[1:]
        read = table.num_rows + (0 if extra_rejects is None else extra_rejects.num_rows)
        canonical = to_canonical(self.layout, table, self.file_fields)
        if canonical.positions is not None:
            lines = lines[canonical.positions]
            raw_for = _through(canonical.positions, raw_for)
        checked = validate(canonical.table, self.timezone, self.layout.time_zone, canonical.checks, self.sides,
                           self.quantity_decimals)
        rejected = np.asarray(pc.is_valid(checked.reasons).to_numpy(zero_copy_only=False), dtype=bool)
        rows = checked.rows.append_column(SOURCE_LINE, pa.array(lines[~rejected], pa.int64()))
        rejects = self._rejects_from(checked.reasons, np.flatnonzero(rejected), lines, raw_for)
        if extra_rejects is not None and extra_rejects.num_rows:
            rejects = pa.concat_tables([extra_rejects, rejects]).sort_by("line")
        rounded = 0 if canonical.rounded is None else int(np.count_nonzero(canonical.rounded & ~rejected))
        return ParsedBlock(rows=rows, rows_read=read, rejects=rejects, rows_not_orders=canonical.not_orders,
                           rows_rounded=rounded)

    def _rejects_from(self, reasons: pa.Array, positions: np.ndarray, lines: np.ndarray,
                      raw_for: Callable[[np.ndarray], list[str]]) -> pa.Table:
        if positions.size == 0:
            return QUARANTINE_SCHEMA.empty_table()
        messages = pc.take(reasons, pa.array(positions)).to_pylist()
        return self._reject_table(lines[positions].tolist(), messages, raw_for(positions))

    def _reject_table(self, lines: list[int], messages: list[str], raw: list[str]) -> pa.Table:
        columns = [message.split(":", 1)[0] for message in messages]
        return pa.table(
            [[self.source_key] * len(lines), lines, columns, messages, raw], schema=QUARANTINE_SCHEMA
        )

    def _parse_exactly(self, block: RawBlock, spans: RowSpans | None = None) -> ParsedBlock:
        """Python csv path, one row at a time: exact lines and raw text for every row of a broken
        block, and a row Arrow cannot read (a CR inside an unquoted field) quarantined alone."""
        spans = spans if spans is not None else row_spans(block.data, block.first_line)
        csv.field_size_limit(max(csv.field_size_limit(), MAX_ROW_BYTES))  # the reader's row limit rules
        good_fields: list[list[str]] = []
        good: list[int] = []
        bad: list[int] = []
        bad_messages: list[str] = []
        expected = len(self.header)
        for index in range(len(spans)):
            text = _decode(spans.raw(block.data, index))
            try:
                fields = next(csv.reader([text]))
            except csv.Error:
                bad.append(index)
                bad_messages.append("line_end: a carriage return (CR) inside an unquoted field; only LF or "
                                    "CR LF may end a line (quote the field or remove the CR)")
                continue
            if len(fields) != expected:
                bad.append(index)
                bad_messages.append(f"field_count: expected {expected} fields, found {len(fields)}")
                continue
            good_fields.append(fields)
            good.append(index)
        columns = list(zip(*good_fields)) if good_fields else [[] for _ in self.header]
        table = pa.table({name: pa.array(list(values), pa.string()) for name, values in zip(self.header, columns)})
        structural = self._reject_table(spans.lines[bad].tolist(), bad_messages,
                                        [_decode(spans.raw(block.data, index)) for index in bad])
        good_index = np.asarray(good, dtype=np.int64)
        return self._validated(table, spans.lines[good_index],
                               lambda positions: _spans_text(block, spans, good_index[positions]), structural)


def _through(positions: np.ndarray, raw_for: Callable[[np.ndarray], list[str]]) -> Callable[[np.ndarray], list[str]]:
    """raw_for of a table whose rows are the given rows of the table raw_for knows."""
    return lambda selected: raw_for(positions[selected])


def _lines_text(block: RawBlock, line_numbers: np.ndarray) -> list[str]:
    """The raw text of the given physical lines of a block (when each row is one line): the line
    starts from one numpy pass, not a bytes object a line (a split cost 24 ms a 16 MiB block)."""
    line_starts = np.concatenate(([0], np.flatnonzero(np.frombuffer(block.data, dtype=np.uint8) == LF) + 1))
    ends = np.append(line_starts[1:] - 1, len(block.data))
    return [_decode(block.data[line_starts[index]:ends[index]]).rstrip("\r")
            for index in (line_numbers - block.first_line).tolist()]


def _spans_text(block: RawBlock, spans: RowSpans, indexes: np.ndarray) -> list[str]:
    """The raw text of the given rows, all their lines (a quoted newline kept)."""
    return [_decode(spans.raw(block.data, index)) for index in indexes.tolist()]


def _decode(data: bytes) -> str:
    """UTF-8 text; bytes that are not UTF-8 (e.g. Latin-1 exports) decode one to one, never fail."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
