"""One trade date's file written from the staged runs of the partitions being rebuilt.

Owns the staged side of assembly: where a partition's rows lie in a staged slice (`Contribution`),
reading those runs (each staged batch read once), bringing them and the rows kept from the date's
current file to one set of columns and one exact quantity type, and streaming them, sorted, into
the date's Parquet file a piece at a time so memory holds a few pieces whatever a date's size.
Which partitions to rebuild, the locks and the catalog are assembly.py's.
"""
from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import partial_aggregates, quantity_decimals
from orders_assets.core.read.header import ADDED_COLUMNS, SOURCE_FILE, SOURCE_LINE
from orders_assets.core.store import date_files, outputs


@dataclass(frozen=True)
class Contribution:
    """One run of a partition's rows in a slice staged by one source file."""

    source_key: str
    slice_path: Path
    batch: int
    offset: int
    """Where the partition's run starts in the batch (a batch holds one date's partitions)."""
    rows: int


CHUNK_ROWS = 1 << 20
"""Rows of one date sorted and written together: a date of more is written in several pieces of
consecutive securities, so memory holds a few pieces whatever a date's size."""


def date_columns(slice_schemas: Iterable[pa.Schema]) -> pa.Schema:
    """The date file's columns from the schemas of the staged slices whose rows the date holds,
    given in the order of their files' keys, so the columns are the same whatever order the files
    came in: the contract's columns, the quantity of the most decimal places among them (every
    slice converts to it without loss), then every pass-through column any of them has (the union,
    in order of first appearance), then the lines and hours the pipeline adds and the source file.
    A pass-through column that a file lacks is empty (null) in that file's rows; one whose type
    differs between files is text (extra_type)."""
    schemas = list(slice_schemas)
    decimals = max((schema.quantity_decimals_of(found.field(schema.QUANTITY).type) for found in schemas), default=0)
    canonical = {name: schemas[0].field(name).type for name in schema.CANONICAL_COLUMNS}
    canonical[schema.QUANTITY] = schema.quantity_type(decimals)
    types_of: dict[str, list[pa.DataType]] = {}
    for found in schemas:
        for field in found:
            if field.name not in schema.CANONICAL_COLUMNS and field.name not in ADDED_COLUMNS:
                types_of.setdefault(field.name, []).append(field.type)
    return pa.schema([*canonical.items(), *((name, extra_type(types)) for name, types in types_of.items()),
                      (SOURCE_LINE, pa.int64()), (schema.HOUR, schemas[0].field(schema.HOUR).type),
                      (SOURCE_FILE, pa.string())])


def extra_type(types: Iterable[pa.DataType]) -> pa.DataType:
    """The one rule for a pass-through column whose files give it types: their type when they agree
    (a column of nulls, Parquet's null type, agrees with any); text when they do not, each value as
    its file gave it (CSV) or as Arrow writes it (a number, a date), nested values (a struct, a
    list) as JSON (as_text)."""
    found = set(types) - {pa.null()}
    if len(found) == 1:
        return found.pop()
    return pa.null() if not found else pa.string()


def as_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column of any type as text: Arrow's cast where it has one, JSON for what it has none for."""
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if value is None else json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
                         for value in column.to_pylist()], pa.string())


@functools.lru_cache(maxsize=4096)
def slice_schema(path: Path) -> pa.Schema:
    """A staged slice's schema (its footer; a slice never changes once its attempt is committed)."""
    with pa.OSFile(str(path)) as file:
        return pa.ipc.open_file(file).schema


def write_date(target, trade_date: str, columns: pa.Schema,
                plan: tuple[date_files.SecurityIndex, list[date_files.WriteUnit]], kept: dict[str, int],
                parts: dict[str, list[Contribution]], previous: outputs.OutputPath, edges: tuple[int, ...],
                partials: list[pa.Table], resolve: Callable[[pa.Table], pa.Table] | None = None,
                rebucket_kept: bool = False) -> None:
    """Stream the date's rows into one Parquet file, a piece of consecutive write units at a time;
    the partial aggregates of the rebuilt securities' rows go to `partials` (with `rebucket_kept`,
    those of the rows copied from the previous file too: its aggregates are of other size edges).
    `resolve` (the overlap rule's, when it drops rows) takes a piece's staged rows, every file's
    rows of its securities."""
    index, units = plan
    writer_schema = date_files.file_schema(columns, index)
    with contextlib.ExitStack() as stack:
        previous_file = None
        if kept:
            previous_file = stack.enter_context(pq.ParquetFile(stack.enter_context(outputs.open_input(previous))))
            previous_index = date_files.index_of(previous_file.metadata)
        writer = stack.enter_context(pq.ParquetWriter(target, writer_schema, **date_files.WRITE_OPTIONS))
        for piece_units in _pieces(units):
            piece = [security for unit in piece_units for security in unit.securities]
            new = staged_rows(trade_date, [part for security in piece for part in parts.get(security, [])], columns)
            pieces = []
            if new is not None and resolve is not None:
                new = resolve(new)
            if new is not None:
                partials.append(partial_aggregates(new, edges))
                pieces.append(new.drop_columns([schema.TRADE_DATE]))
            copied = [security for security in piece if security in kept]
            if copied:
                copied_rows = date_files.read_securities(previous_file, previous_index, copied)
                if rebucket_kept:
                    partials.append(partial_aggregates(date_files.with_trade_date(copied_rows, trade_date), edges))
                pieces.append(copied_rows)
            rows = pa.concat_tables([_conform(table, columns) for table in pieces])
            date_files.write_units(writer, in_file_order(rows), piece_units)


def in_file_order(rows: pa.Table) -> pa.Table:
    """The rows in a date file's order (date_files.SORT_COLUMNS). Rows staged from one time-ordered
    export usually are already (its partitions' runs keep the file's order): checking that is one
    comparison of neighbours a column, a sort and a copy of every column only where needed."""
    if already_sorted(rows, date_files.SORT_COLUMNS):
        return rows
    return rows.take(pc.sort_indices(rows, [(column, "ascending") for column in date_files.SORT_COLUMNS]))


def already_sorted(rows: pa.Table, columns) -> bool:
    """Each row is ordered before or equal to the next by `columns`, compared in turn."""
    count = rows.num_rows
    if count < 2:
        return True
    undecided = np.ones(count - 1, dtype=bool)  # neighbours equal on every column compared so far
    for name in columns:
        column = rows[name]
        before, after = column.slice(0, count - 1), column.slice(1)
        greater = np.asarray(pc.fill_null(pc.greater(before, after), True).to_numpy(zero_copy_only=False), dtype=bool)
        if (greater & undecided).any():
            return False
        undecided &= np.asarray(pc.fill_null(pc.equal(before, after), False).to_numpy(zero_copy_only=False), dtype=bool)
        if not undecided.any():
            return True
    return True


def _pieces(units: list[date_files.WriteUnit]) -> list[list[date_files.WriteUnit]]:
    """The date's write units, in order, cut into pieces of about CHUNK_ROWS rows."""
    return grouped_by_rows(units, lambda unit: unit.rows)


def grouped_by_rows(items: list, rows_of: Callable[[object], int]) -> list[list]:
    """The items, in order, cut into groups of about CHUNK_ROWS rows (an item is never split): the
    write units of a date's pieces, the securities of assembly's overlap pass."""
    groups: list[list] = []
    rows_in_group = 0
    for item in items:
        rows = rows_of(item)
        if not groups or (rows_in_group + rows > CHUNK_ROWS and groups[-1]):
            groups.append([])
            rows_in_group = 0
        groups[-1].append(item)
        rows_in_group += rows
    return groups


def staged_rows(trade_date: str, parts: list[Contribution], columns: pa.Schema | None = None) -> pa.Table | None:
    """The staged runs of some partitions of one date, with their source file: each batch read once;
    in the date's `columns` (date_columns, the trade date kept) when given, so files whose
    pass-through columns differ meet in one table."""
    batches = {place: read_slice(*place) for place in sorted({(part.slice_path, part.batch) for part in parts})}
    tables = []
    for run in _joined_runs(parts):  # in the order given (a partition's runs together): mostly sorted already
        table = pa.Table.from_batches([batches[(run.slice_path, run.batch)].slice(run.offset, run.rows)])
        tables.append(table.append_column(SOURCE_FILE, pa.repeat(pa.scalar(run.source_key, pa.string()), run.rows)))
    if not tables:
        return None
    if columns is not None:
        with_date = columns.insert(columns.get_field_index(schema.HOUR), pa.field(schema.TRADE_DATE, pa.date32()))
        return pa.concat_tables([_conform(table, with_date) for table in tables])
    return pa.concat_tables(_with_common_quantity_type(tables), promote_options="permissive")


def _joined_runs(parts: list[Contribution]) -> list[Contribution]:
    """The runs in the order given, each run that starts where the one before it ended in the same
    batch joined to it: staging writes a date's partitions in key order, so the securities of a
    piece are mostly one run a batch (a year's 300 securities a date: 300 tables of a few dozen rows
    each cost 3.6 s of 8.6 at 75,000 keys)."""
    joined: list[Contribution] = []
    for part in parts:
        last = joined[-1] if joined else None
        if last is not None and (last.slice_path, last.batch, last.source_key) == (part.slice_path, part.batch, part.source_key) \
                and last.offset + last.rows == part.offset:
            joined[-1] = replace(last, rows=last.rows + part.rows)
        else:
            joined.append(part)
    return joined


def _conform(rows: pa.Table, columns: pa.Schema) -> pa.Table:
    """Rows in the date file's columns and types: the quantity cast to the date's type (exactly), a
    pass-through column the rows lack as nulls, one the date holds as text as text (as_text)."""
    rows = rows.replace_schema_metadata(None)
    if rows.schema == columns:
        return rows
    position = {name: index for index, name in enumerate(rows.column_names)}  # thousands of columns: no scans
    conformed = []
    for field in columns:
        if field.name not in position:
            conformed.append(pa.nulls(rows.num_rows, field.type))
            continue
        column = rows.column(position[field.name])
        if column.type == field.type:
            conformed.append(column)
        elif field.name == schema.QUANTITY:
            conformed.append(_cast_quantity(rows, field.type)[schema.QUANTITY])
        elif field.type == pa.string():
            conformed.append(as_text(column))
        else:
            conformed.append(pc.cast(column, field.type))
    return pa.table(conformed, schema=columns)


def read_slice(path: Path, batch: int) -> pa.RecordBatch:
    """One staged batch, read (not memory-mapped: mapped pages would count in the process's RSS)."""
    with pa.OSFile(str(path)) as file:
        return pa.ipc.open_file(file).get_batch(batch)


def _with_common_quantity_type(tables: list[pa.Table]) -> list[pa.Table]:
    """Staged rows given one quantity type: that of the most decimal places among them.

    Slices staged under different quantity_decimals settings (int64 beside decimal128(19, d))
    then meet in one exact type, instead of the decimal128(21, d) Arrow's permissive promotion
    would make of them. Tables of that type already are returned as they are.
    """
    target = schema.quantity_type(quantity_decimals(tables))
    return [table if table.schema.field(schema.QUANTITY).type == target else _cast_quantity(table, target)
            for table in tables]


def _cast_quantity(table: pa.Table, target: pa.DataType) -> pa.Table:
    """The table with its quantity column cast to `target`; a value that does not fit raises.

    An int64 goes through decimal128(38, 0): Arrow refuses int64 -> decimal128(19, d) outright
    (int64 needs 19 integer digits), while the checked decimal cast refuses only the values too large.
    """
    quantity = table[schema.QUANTITY]
    if pa.types.is_integer(quantity.type):
        quantity = pc.cast(quantity, pa.decimal128(38, 0))
    index = table.schema.get_field_index(schema.QUANTITY)
    return table.set_column(index, schema.QUANTITY, pc.cast(quantity, target))
