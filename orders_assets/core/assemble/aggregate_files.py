"""The dates' aggregate files: `aggregates/trade_date=D.parquet`, the partial aggregates of one
date's partitions, the input of every report.

Their size buckets depend on a setting, the order-value edges (`size_edges`), while the date's
order set does not. So each file is stamped with the edges it was bucketed under, and a change of
edges rebuckets exactly these files, from the rows of the published date files (the assembled order
set, never a source file and never the staged slices again), without assembling any partition:
no date file is rewritten and no (date, security) key is materialized again. A file without a
stamp (written by an earlier release) was bucketed under edges nobody recorded: it is rebucketed
once.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.schema import PARTIALS_VERSION
from orders_assets.core.assemble.aggregate import GROUPING, PARTIAL_SCHEMA, combine_partials, common_partial_schema, conform_partials, exact_totals, partial_aggregates
from orders_assets.core.assemble.report_tables import ReportPieces
from orders_assets.core.assemble.sums import exact_decimal_sum
from orders_assets.core.assemble.date_writer import CHUNK_ROWS
from orders_assets.core.machine.parallel import in_order
from orders_assets.core.store import date_files, outputs
from orders_assets.core.store.atomic import atomic_write
from orders_assets.core.store.order_store import OrderStore

EDGES_KEY = b"orders_assets.size_edges"
"""Key-value metadata of an aggregate file: the JSON list of the size edges its buckets are of."""
VERSION_KEY = b"orders_assets.partials_version"
"""Key-value metadata of an aggregate file: the PARTIALS_VERSION it was written under (none: 1, the
files of the releases before the stamp, which hold what version 1 holds)."""
ROWS_FOR_BUCKETS = (schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.HOUR, schema.PRICE, schema.QUANTITY)
"""The date file's columns a partial aggregate is made of."""
SORT_ORDER = [(column, "ascending") for column in (schema.SECURITY_CODE, GROUPING, schema.PARTICIPANT_ID,
                                                   schema.HOUR, schema.SIZE_BUCKET)]


def _stamp(path: Path) -> dict[bytes, bytes] | None:
    """An aggregate file's key-value metadata (its footer, read once), None when there is no file."""
    if not path.exists():
        return None
    return pq.read_metadata(path).metadata or {}


def _edges_of(stamp: dict[bytes, bytes] | None) -> tuple[int, ...] | None:
    encoded = (stamp or {}).get(EDGES_KEY)
    return tuple(json.loads(encoded)) if encoded else None


def _version_of(stamp: dict[bytes, bytes] | None) -> int | None:
    return None if stamp is None else int(stamp.get(VERSION_KEY, b"1"))


def stamped_edges(path: Path) -> tuple[int, ...] | None:
    """The size edges an aggregate file was bucketed under (None: no stamp, or no file)."""
    return _edges_of(_stamp(path))


def stamped_version(path: Path) -> int | None:
    """The PARTIALS_VERSION an aggregate file was written under (1 without a stamp; None: no file)."""
    return _version_of(_stamp(path))


def is_current(path: Path, edges: tuple[int, ...]) -> bool:
    """An aggregate file bucketed under these edges and holding what this release's partials hold
    (one footer read)."""
    stamp = _stamp(path)
    return _edges_of(stamp) == edges and _version_of(stamp) == PARTIALS_VERSION


def replace_rows(path: Path, securities: Iterable[str], new_rows: pa.Table, edges: tuple[int, ...],
                 every_security: bool = False) -> None:
    """One date's aggregate file with the given securities' rows replaced by `new_rows` (with
    `every_security`, all its rows: the new ones are the whole date), stamped with `edges`."""
    kept = [new_rows]
    if path.exists() and not every_security:
        existing = pq.ParquetFile(path).read()
        replaced = pa.array(list(securities), pa.string())
        kept.insert(0, existing.filter(pc.invert(pc.is_in(existing[schema.SECURITY_CODE], value_set=replaced))))
    combined = pa.concat_tables(conform_partials(kept))
    if combined.num_rows == 0:
        path.unlink(missing_ok=True)
        return
    stamped = combined.sort_by(SORT_ORDER).replace_schema_metadata(  # one order whatever pieces the rows were grouped in
        {EDGES_KEY: json.dumps(list(edges)).encode(), VERSION_KEY: str(PARTIALS_VERSION).encode()})
    atomic_write(path, lambda temporary: pq.write_table(stamped, temporary, compression="zstd"))


def load_partials(store: OrderStore) -> pa.Table:
    """Every partition's partial aggregate at once, in one partial_schema (the reports read them a
    date at a time instead: build_reports)."""
    dates = list(each_date_partials(store))
    return pa.concat_tables(dates) if dates else PARTIAL_SCHEMA.empty_table()


def each_date_partials(store: OrderStore) -> Iterator[pa.Table]:
    """Each date's partial aggregates in turn, all in the one partial_schema that holds every date's
    exactly (the most quantity decimals among them, decimal256 values if any date has them: read
    from the files' footers first). One file each: ParquetFile reads it without read_table's dataset
    discovery, half the time a file."""
    files = _aggregate_files(store)
    footers = (pq.read_metadata(path) for path in files)
    target = common_partial_schema(footer.schema.to_arrow_schema() for footer in footers if footer.num_rows)
    for path in files:
        yield pq.ParquetFile(path).read().replace_schema_metadata(None).cast(target)


def build_reports(store: OrderStore, names: Iterable[str], edges: tuple[int, ...]) -> dict[str, pa.Table]:
    """The named reports from every date's partial aggregates, read a date at a time: memory holds a
    date's partials and the reports being built, not a year's partials (at 75,000 keys they were
    the run's peak)."""
    pieces = {name: ReportPieces(name) for name in names}
    for partials in _in_parts_of(each_date_partials(store), FEED_ROWS):
        for piece in pieces.values():
            piece.add(partials)
    return {name: piece.report(edges) for name, piece in pieces.items()}


FEED_ROWS = 1 << 19
"""Partial-aggregate rows handed to the reports at once: a few dates of a year (each hand-off costs
a few group-bys whatever its size: a date at a time, 250 dates took a second more), a bounded
part of memory (about 60 MiB) whatever the number of dates."""


def _in_parts_of(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The tables (of one schema) gathered into parts of at least `rows` rows, the last one smaller;
    one empty part when there are none."""
    gathered: list[pa.Table] = []
    count, handed = 0, 0
    for table in tables:
        gathered.append(table)
        count += table.num_rows
        if count >= rows:
            yield pa.concat_tables(gathered)
            gathered, count, handed = [], 0, handed + 1
    if gathered:
        yield pa.concat_tables(gathered)
    elif not handed:
        yield PARTIAL_SCHEMA.empty_table()


def partial_totals(store: OrderStore) -> dict[str, int | Decimal]:
    """exact_totals of every date's partial aggregates, summed a date at a time, exactly."""
    totals: dict[str, int | Decimal] = exact_totals(PARTIAL_SCHEMA.empty_table())
    for partials in each_date_partials(store):
        for name, amount in exact_totals(partials).items():  # a value always has places: it stays a Decimal
            totals[name] = schema.whole_units(exact_decimal_sum([totals[name], amount]))
    return totals


def dates_bucketed_otherwise(store: OrderStore, edges: tuple[int, ...]) -> list[str]:
    """Trade dates whose aggregate file is not stamped with these edges and this release's
    PARTIALS_VERSION: one footer read a date."""
    return [trade_date for trade_date in published_dates(store)
            if not is_current(store.aggregate_file(trade_date), edges)]


def rebucket(store: OrderStore, edges: tuple[int, ...], workers: int = 1) -> list[str]:
    """Bring every date's aggregate file to these size edges, each from its published date file, a
    date per task on `workers` threads; returns the dates rebucketed. Each date under its lock, as
    an assembly rewrites it."""
    dates = dates_bucketed_otherwise(store, edges)
    tasks = (lambda trade_date=trade_date: _rebucket_date(store, trade_date, edges) for trade_date in dates)
    for _ in in_order(tasks, workers):
        pass
    return dates


def _rebucket_date(store: OrderStore, trade_date: str, edges: tuple[int, ...]) -> None:
    with store.date_locked(trade_date):
        path = store.aggregate_file(trade_date)
        if is_current(path, edges):  # another run did it meanwhile
            return
        replace_rows(path, (), date_partials(store.date_file(trade_date), trade_date, edges), edges,
                     every_security=True)


def date_partials(date_file: outputs.OutputPath, trade_date: str, edges: tuple[int, ...]) -> pa.Table:
    """The partial aggregates of every security of a published date file, read a piece of about
    CHUNK_ROWS rows at a time and only the columns they need (memory holds a piece)."""
    if not outputs.exists(date_file):
        return PARTIAL_SCHEMA.empty_table()
    pieces = []
    with outputs.open_input(date_file) as source, pq.ParquetFile(source) as file:
        for batch in file.iter_batches(batch_size=CHUNK_ROWS, columns=list(ROWS_FOR_BUCKETS), use_threads=False):
            rows = date_files.with_trade_date(pa.Table.from_batches([batch]), trade_date)
            pieces.append(partial_aggregates(rows, edges))
    return combine_partials(pieces)  # a security whose rows straddle two pieces is summed once


def _aggregate_files(store: OrderStore) -> list[Path]:
    return sorted(store.aggregates.glob("trade_date=*.parquet")) if store.aggregates.is_dir() else []


def published_dates(store: OrderStore) -> list[str]:
    """The trade dates with a published date file: those with an aggregate file (written with it)."""
    return [path.stem.removeprefix("trade_date=") for path in _aggregate_files(store)]
