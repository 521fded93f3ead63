"""The reports a user declares (core/report/declared.py), computed from the published date files.

The partial aggregates hold three fixed groupings (participant, hour, size bucket), so a report by
side or order type cannot come from them; the date files hold every kept row, sorted and columnar,
so a declared report reads only its key columns and price and quantity, a piece of about
CHUNK_ROWS rows at a time, and sums each piece by its keys exactly (aggregate.summed_metrics:
decimal sums, widened where they could pass their type). The sums gather as the contract's
reports do (aggregate.ReportPieces' compaction), so memory holds the report, not the order set.
Every declared report is fed from one read of each date file.
"""
from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import order_values, size_buckets
from orders_assets.core.assemble.aggregate import summed_metrics
from orders_assets.core.assemble.report_tables import compacted, concatenated, finished_report
from orders_assets.core.assemble.aggregate_files import published_dates
from orders_assets.core.assemble.date_writer import CHUNK_ROWS
from orders_assets.core.assemble.sums import summable
from orders_assets.core.errors import InputError
from orders_assets.core.report.declared import KEY_COLUMNS, ReportDeclaration
from orders_assets.core.store import date_files, outputs
from orders_assets.core.store.order_store import OrderStore

DERIVED = (schema.TRADE_DATE, schema.SIZE_BUCKET)
"""Key columns a date file does not hold as such: the hive folder's date, the bucket of the value."""


def build_declared_reports(store: OrderStore, declarations: Iterable[ReportDeclaration],
                           edges: tuple[int, ...]) -> dict[str, pa.Table]:
    """Each declared report over every published date file, in the contract's report columns
    (keys, orders, quantity, value, avg_quantity, avg_value), ascending by its keys."""
    declarations = list(declarations)
    if not declarations:
        return {}
    sums: dict[str, list[pa.Table]] = {declaration.name: [] for declaration in declarations}
    columns = sorted({key for declaration in declarations for key in declaration.keys if key not in DERIVED}
                     | {schema.PRICE, schema.QUANTITY})
    dates = published_dates(store)
    _require_kept_columns(store, dates, declarations)
    for trade_date in dates:
        for rows in _date_pieces(store.date_file(trade_date), trade_date, columns):
            base = _with_metrics(rows, edges)
            for declaration in declarations:
                keys = list(declaration.keys)
                sums[declaration.name] = compacted([*sums[declaration.name], summed_metrics(base, keys)],
                                                    lambda table, keys=keys: summed_metrics(table, keys))
    return {declaration.name: _report(sums[declaration.name], declaration, edges) for declaration in declarations}


def _require_kept_columns(store: OrderStore, dates: list[str], declarations: list[ReportDeclaration]) -> None:
    """Each key beside the order set's own columns (an extra column, as `event`) is one a published
    date file holds; else the report cannot be built: an InputError naming the columns they keep."""
    extra = {key for declaration in declarations for key in declaration.keys if key not in KEY_COLUMNS}
    if not extra or not dates:
        return
    kept: set[str] = set()
    for trade_date in dates:
        path = store.date_file(trade_date)
        if outputs.exists(path):
            kept |= set(outputs.read_metadata(path).schema.to_arrow_schema().names)
    missing = sorted(extra - kept)
    if missing:
        named = [declaration.name for declaration in declarations if set(declaration.keys) & set(missing)]
        others = sorted(kept - set(KEY_COLUMNS) - set(schema.CANONICAL_COLUMNS) - {"source_line", "hour"})
        raise InputError(f"report(s) {', '.join(named)}: no published file holds the column(s) {', '.join(missing)}; "
                         f"the files keep beside the contract's columns: {', '.join(others) or 'none'}. "
                         "Fix the key in the config file's reports:, or remove the report")


def _date_pieces(date_file: outputs.OutputPath, trade_date: str, columns: list[str]):
    """The date file's rows, a piece at a time; an extra column a file written before it existed
    lacks is null in its rows."""
    if not outputs.exists(date_file):
        return
    with outputs.open_input(date_file) as source, pq.ParquetFile(source) as file:
        names = file.schema_arrow.names
        present = [column for column in columns if column in names]
        absent = [column for column in columns if column not in names and column != schema.TRADE_DATE]
        for batch in file.iter_batches(batch_size=CHUNK_ROWS, columns=present, use_threads=False):
            rows = date_files.with_trade_date(pa.Table.from_batches([batch]), trade_date)
            for column in absent:
                rows = rows.append_column(column, pa.nulls(rows.num_rows, pa.string()))
            yield rows


def _with_metrics(rows: pa.Table, edges: tuple[int, ...]) -> pa.Table:
    """The rows' key columns with orders' quantity and exact value, and the size bucket of the value."""
    values = order_values(rows)
    table = rows.drop_columns([schema.PRICE, schema.QUANTITY])
    table = table.append_column(schema.SIZE_BUCKET, size_buckets(values, edges))
    table = table.append_column("orders", pa.repeat(pa.scalar(1, pa.int64()), rows.num_rows))
    decimals = schema.quantity_decimals_of(rows.schema.field(schema.QUANTITY).type)
    quantity = pc.cast(rows[schema.QUANTITY], schema.quantity_sum_type(decimals))  # as the partial aggregates hold it
    table = table.append_column("quantity", summable(quantity))
    return table.append_column("value", summable(values))


def _report(pieces: list[pa.Table], declaration: ReportDeclaration, edges: tuple[int, ...]) -> pa.Table:
    keys = list(declaration.keys)
    if not pieces:
        return finished_report(_empty_sums(keys), keys, [], edges)
    return finished_report(summed_metrics(concatenated(pieces), keys), keys, [], edges)


def _empty_sums(keys: list[str]) -> pa.Table:
    """No date file yet: the report's columns with no row."""
    types = {schema.TRADE_DATE: pa.date32(), schema.HOUR: pa.int8()}
    fields = [(key, types.get(key, pa.string())) for key in keys]
    return pa.schema(fields + [("orders", pa.int64()), ("quantity", schema.quantity_sum_type(0)),
                               ("value", schema.value_type(0))]).empty_table()
