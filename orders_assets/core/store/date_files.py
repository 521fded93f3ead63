"""The published filtered order sets: one Parquet file per trade date, rows sorted by security.

    <output>/orders/trade_date=D/orders.parquet

A year of ASX history is 250 dates x 300-500 securities. One file per (date, security) made that
75,000-125,000 files of a few dozen rows each: the small-files pattern that kdb+ (one partition a
date, rows sorted by symbol), Delta/Iceberg (compaction) and NautilusTrader's catalog
(consolidation) all avoid, and the writes, footers and directory entries cost more than the rows.
Here the file count grows with dates:

- rows are sorted by security_code, then timestamp, source_file and source_line, so each security
  is one contiguous run;
- row groups are aligned with securities: a row group holds whole securities, consecutive, up to
  ROW_GROUP_ROWS rows, and a security of more rows has row groups of its own; so each row group's
  min/max statistics bound a range of securities disjoint from the others', and DuckDB, Polars and
  pyarrow prune to the row groups of the securities asked for;
- the file's key-value metadata holds the index: security -> [first row group, row groups, offset
  in the first, rows], written with the file, so it always describes the bytes beside it; a reader
  of one (date, security) reads its row groups and slices its rows out, without a filter.

Why packed row groups, not one a security: measured on a year's date file (256 securities of ~11
rows), one row group a security took 196 ms to write and 468 KB, one row group for the date 15 ms
and 61 KB: each row group pays its column chunks' headers, statistics and compression frames. At
ROW_GROUP_ROWS a partition read carries at most that many rows of its neighbours.
- trade_date is not a column: it is the hive folder's value (`trade_date=D`), which every dataset
  reader turns into a column; a column of the same name in the file would clash with it.

The (date, security) partition stays the unit of work and of the catalog; only its storage is per
date. A date's file is rewritten whole (the securities not rebuilt copied from the previous file),
under the date's lock, to a temporary name renamed into place (core/store/outputs.py): a crash mid-write
leaves the previous file whole.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orders_assets.core.errors import AccountingError
from orders_assets.core.store import outputs

from orders_assets.core import schema

FILE_NAME = "orders.parquet"
INDEX_KEY = b"orders_assets.index"
"""Key-value metadata of a date file: JSON {security: [first row group, row groups, offset, rows]}."""
ROW_GROUP_ROWS = 1 << 16
"""Most rows in a row group of several securities; a security with more has row groups of its own,
of at most this many rows each."""
SORT_COLUMNS = (schema.SECURITY_CODE, schema.TIMESTAMP, "source_file", "source_line")
WRITE_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": [schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.SIDE, schema.ORDER_TYPE, "event",
                       "source_file"],
    "write_statistics": [schema.SECURITY_CODE, schema.TIMESTAMP],
}
"""Statistics on security_code (readers prune row groups to one security) and timestamp (time-range
queries); dictionaries only where values repeat."""

class IndexEntry(NamedTuple):
    """Where one security's rows are in a date file (stored as a JSON list in this order)."""

    first_group: int
    groups: int
    offset: int
    """Of its first row in its first row group (0 for a security with row groups of its own)."""
    rows: int


SecurityIndex = dict[str, IndexEntry]


@dataclass(frozen=True)
class WriteUnit:
    """Consecutive securities written together: one row group of whole securities, or one security's
    own row groups (of ROW_GROUP_ROWS rows each but the last)."""

    securities: tuple[str, ...]
    rows: int


def plan_row_groups(rows_by_security: Iterable[tuple[str, int]]) -> tuple[SecurityIndex, list[WriteUnit]]:
    """The index of a file holding these securities' rows (sorted by security), and its write units."""
    index: SecurityIndex = {}
    units: list[WriteUnit] = []
    packed: list[str] = []
    packed_rows = 0
    next_group = 0

    def close_packed() -> None:
        nonlocal packed, packed_rows, next_group
        if packed:
            units.append(WriteUnit(tuple(packed), packed_rows))
            packed, packed_rows, next_group = [], 0, next_group + 1

    for security, rows in sorted(rows_by_security):
        if rows <= 0:
            continue
        if rows > ROW_GROUP_ROWS:
            close_packed()
            groups = -(-rows // ROW_GROUP_ROWS)
            index[security] = IndexEntry(next_group, groups, 0, rows)
            units.append(WriteUnit((security,), rows))
            next_group += groups
            continue
        if packed_rows + rows > ROW_GROUP_ROWS:
            close_packed()
        index[security] = IndexEntry(next_group, 1, packed_rows, rows)
        packed.append(security)
        packed_rows += rows
    close_packed()
    return index, units


def file_schema(columns: pa.Schema, index: SecurityIndex) -> pa.Schema:
    """The date file's schema: the order columns with the index in the metadata."""
    return columns.with_metadata({INDEX_KEY: json.dumps(index, separators=(",", ":")).encode()})


def index_of(metadata: pq.FileMetaData) -> SecurityIndex:
    """The index of a date file from its footer; an empty dict for a file without one."""
    encoded = (metadata.metadata or {}).get(INDEX_KEY)
    return {security: IndexEntry(*entry) for security, entry in json.loads(encoded).items()} if encoded else {}


def write_units(writer: pq.ParquetWriter, rows: pa.Table, units: list[WriteUnit]) -> None:
    """Write the rows of consecutive write units (sorted, in the units' order) as their row groups."""
    start = 0
    for unit in units:
        for offset in range(0, unit.rows, ROW_GROUP_ROWS):
            piece = rows.slice(start + offset, min(ROW_GROUP_ROWS, unit.rows - offset))
            writer.write_table(piece, row_group_size=piece.num_rows)
        start += unit.rows
    if start != rows.num_rows:
        raise AccountingError(f"{rows.num_rows} rows given for write units of {start}")


def read_securities(file: pq.ParquetFile, index: SecurityIndex, securities: Iterable[str]) -> pa.Table | None:
    """The rows of the given securities from an open date file (only their row groups), or None."""
    found = read_each_security(file, index, securities)
    return pa.concat_tables(found[security] for security in sorted(found)) if found else None


def read_each_security(file: pq.ParquetFile, index: SecurityIndex, securities: Iterable[str]) -> dict[str, pa.Table]:
    """Each given security's rows (those the file has): the row groups they need, each read once,
    then each security's run sliced out (securities share the row groups they are packed in)."""
    wanted = [security for security in sorted(set(securities)) if security in index]
    groups = sorted({group for security in wanted
                     for group in range(index[security].first_group, index[security].first_group + index[security].groups)})
    if not groups:
        return {}
    table = file.read_row_groups(groups, use_threads=False)
    starts, position = {}, 0
    for group in groups:
        starts[group] = position
        position += file.metadata.row_group(group).num_rows
    return {security: table.slice(starts[index[security].first_group] + index[security].offset, index[security].rows)
            for security in wanted}


def read_partition(path: outputs.OutputPath, trade_date: str, security: str) -> pa.Table:
    """One (date, security) partition's rows, with its trade_date column (empty if it has none)."""
    found = read_partitions(path, trade_date, [security])
    return found[security] if security in found else empty_partition(path, trade_date)


def read_partitions(path: outputs.OutputPath, trade_date: str, securities: Iterable[str]) -> dict[str, pa.Table]:
    """The rows of some securities of one date, each with its trade_date column; a security without
    rows (or a date without a file) is left out. Only their row groups are read (remotely: ranged
    reads of the footer and of those groups)."""
    if not outputs.exists(path):
        return {}
    with outputs.open_input(path) as source, pq.ParquetFile(source) as file:
        found = read_each_security(file, index_of(file.metadata), securities)
        return {security: with_trade_date(rows, trade_date) for security, rows in found.items()}


def empty_partition(path: outputs.OutputPath, trade_date: str) -> pa.Table:
    """No rows, in the date file's columns (or none if there is no file)."""
    if not outputs.exists(path):
        return pa.table({})
    with outputs.open_input(path) as source:
        return with_trade_date(pq.read_schema(source).empty_table(), trade_date)


def with_trade_date(rows: pa.Table, trade_date: str) -> pa.Table:
    """Rows of one date's file with the trade_date column the hive folder stands for (date32)."""
    rows = rows.replace_schema_metadata(None)
    if schema.TRADE_DATE in rows.column_names:
        return rows
    value = pa.scalar(np.datetime64(trade_date, "D").astype("datetime64[D]").item(), pa.date32())
    position = rows.column_names.index(schema.HOUR) if schema.HOUR in rows.column_names else rows.num_columns
    return rows.add_column(position, schema.TRADE_DATE, pa.repeat(value, rows.num_rows))
