"""Partial aggregates of the filtered order set, and the reports built from them.

A partition's partial aggregate is small (about participants + hours + buckets rows) and holds
three grouping sets at (trade_date, security_code) grain: by participant, by hour, by size
bucket. Every report of contract section 4, distinct counts included, is a group-by over the
union of partials, so a new day recomputes only its partitions and then combines, without
rereading any order. The reports' averages follow averages.py's one rule.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.assemble.sums import exact_total, narrowest, summable

GROUPING = "grouping"
BY_PARTICIPANT, BY_HOUR, BY_SIZE = "participant", "hour", "size"
GROUPING_COLUMN = {BY_PARTICIPANT: schema.PARTICIPANT_ID, BY_HOUR: schema.HOUR, BY_SIZE: schema.SIZE_BUCKET}
METRIC_AGGREGATIONS = [("orders", "sum"), ("quantity", "sum"), ("value", "sum")]


def partial_schema(decimals: int = 0, wide_values: bool = False) -> pa.Schema:
    """Columns of a partial aggregate whose quantities have `decimals` places (0: PARTIAL_SCHEMA);
    `wide_values`: a value sum passes 38 digits, so values are decimal256 (sums.py)."""
    value = pa.decimal256(76, schema.PRICE_SCALE + decimals) if wide_values else schema.value_type(decimals)
    return pa.schema(
        [
            (schema.TRADE_DATE, pa.date32()),
            (schema.SECURITY_CODE, pa.string()),
            (GROUPING, pa.string()),
            (schema.PARTICIPANT_ID, pa.string()),
            (schema.HOUR, pa.int8()),
            (schema.SIZE_BUCKET, pa.string()),
            ("orders", pa.int64()),
            ("quantity", schema.quantity_sum_type(decimals)),
            ("value", value),
        ]
    )


PARTIAL_SCHEMA = partial_schema()
"""Partial aggregates of whole-unit quantities."""


def quantity_decimals(tables: Iterable[pa.Table]) -> int:
    """The most decimal places among the quantity columns of the tables that have rows (0 if none).

    Every table converts to that many places without loss, so data staged under different
    quantity_decimals settings still combines exactly. An empty table does not count: when a
    run with fewer places rebuilds every partition of a date, what is left of the date's old
    aggregate is empty and must not keep the new rows at the old places.
    """
    types = (table.schema.field(schema.QUANTITY).type for table in tables if table.num_rows)
    return max((schema.quantity_decimals_of(data_type) for data_type in types), default=0)


def conform_partials(tables: Iterable[pa.Table]) -> list[pa.Table]:
    """Partial aggregates cast to one partial_schema (common_partial_schema of those with rows)."""
    tables = list(tables)
    target = common_partial_schema(table.schema for table in tables if table.num_rows)
    return [table.cast(target) for table in tables]


def common_partial_schema(schemas: Iterable[pa.Schema]) -> pa.Schema:
    """The partial_schema that holds partial aggregates of these schemas exactly: the most quantity
    decimals among them, and decimal256 values if any has them (a value sum past 38 digits,
    sums.py). Give the schemas of partials that have rows (quantity_decimals says why)."""
    schemas = list(schemas)
    decimals = max((schema.quantity_decimals_of(found.field(schema.QUANTITY).type) for found in schemas), default=0)
    wide = any(pa.types.is_decimal256(found.field("value").type) for found in schemas)
    return partial_schema(decimals, wide)


def order_values(rows: pa.Table) -> pa.ChunkedArray:
    """Exact price x quantity per row: schema.value_type(d) for quantities with d places.

    decimal128(18, 4) x decimal128(19, d) is decimal128(38, 4 + d), so the product is never rounded.
    """
    decimals = schema.quantity_decimals_of(rows.schema.field(schema.QUANTITY).type)
    quantity = pc.cast(rows[schema.QUANTITY], pa.decimal128(19, decimals))
    return pc.cast(pc.multiply(rows[schema.PRICE], quantity), schema.value_type(decimals))


def size_buckets(values: pa.ChunkedArray, edges: tuple[int, ...]) -> pa.ChunkedArray:
    """Bucket label of each order value: edges are lower-inclusive (10,000 is in 10k-50k), ascending
    (schema.size_edges_problem)."""
    labels = pa.array(schema.size_bucket_labels(edges))
    index = pa.repeat(pa.scalar(0, pa.int16()), len(values))
    for edge in edges:
        index = pc.add(index, pc.cast(pc.greater_equal(values, edge), pa.int16()))
    return pc.take(labels, index)


def partial_aggregates(rows: pa.Table, edges: tuple[int, ...]) -> pa.Table:
    """The three grouping sets of filtered rows (with trade_date and hour columns), in the
    partial_schema of the rows' quantity decimals: by the compiled pass (partial_kernel.py) where
    it computes them exactly, else by Arrow; both give the same rows (in an order nothing depends on).
    The kernel is imported here, when rows are aggregated: planning a run never loads Numba."""
    from orders_assets.core.assemble.partial_kernel import compiled_partials

    compiled = compiled_partials(rows, edges, PARTIAL_SCHEMA, tuple(GROUPING_COLUMN))
    return compiled if compiled is not None else arrow_partial_aggregates(rows, edges)


def arrow_partial_aggregates(rows: pa.Table, edges: tuple[int, ...]) -> pa.Table:
    """partial_aggregates by Arrow's decimal arithmetic and group-by: any quantity decimals, and
    sums past 38 digits in decimal256."""
    values = order_values(rows)
    base = pa.table(
        {
            schema.TRADE_DATE: rows[schema.TRADE_DATE],
            schema.SECURITY_CODE: rows[schema.SECURITY_CODE],
            schema.PARTICIPANT_ID: rows[schema.PARTICIPANT_ID],
            schema.HOUR: rows[schema.HOUR],
            schema.SIZE_BUCKET: size_buckets(values, edges),
            "quantity": summable(rows[schema.QUANTITY]),
            "value": summable(values),
        }
    )
    keys = [schema.TRADE_DATE, schema.SECURITY_CODE]
    groups = []
    for grouping, column in GROUPING_COLUMN.items():
        grouped = base.group_by(keys + [column], use_threads=False).aggregate(
            [("quantity", "count"), ("quantity", "sum"), ("value", "sum")]
        )
        grouped = grouped.rename_columns(
            {"quantity_count": "orders", "quantity_sum": "quantity", "value_sum": "value"}
        )
        groups.append((grouping, grouped.set_column(grouped.schema.get_field_index("value"), "value",
                                                    narrowest(grouped["value"]))))
    wide = any(pa.types.is_decimal256(grouped.schema.field("value").type) for _, grouped in groups)
    target = partial_schema(schema.quantity_decimals_of(rows.schema.field(schema.QUANTITY).type), wide)
    return pa.concat_tables([_conform(grouped, grouping, target) for grouping, grouped in groups])


def _conform(grouped: pa.Table, grouping: str, target: pa.Schema) -> pa.Table:
    columns = {GROUPING: pa.repeat(pa.scalar(grouping, pa.string()), grouped.num_rows)}
    for field in target:
        if field.name in grouped.column_names:
            columns[field.name] = pc.cast(grouped[field.name], field.type)
        elif field.name not in columns:
            columns[field.name] = pa.nulls(grouped.num_rows, field.type)
    return pa.table({field.name: columns[field.name] for field in target}, schema=target)


def combine_partials(partials: Iterable[pa.Table]) -> pa.Table:
    """Union of partial aggregates, summed at their own grain (so duplicates of a key merge)."""
    tables = conform_partials(table for table in partials if table.num_rows)
    if not tables:
        return PARTIAL_SCHEMA.empty_table()
    union = pa.concat_tables(tables)
    keys = [schema.TRADE_DATE, schema.SECURITY_CODE, GROUPING, schema.PARTICIPANT_ID, schema.HOUR, schema.SIZE_BUCKET]
    summed = summed_metrics(union, keys).select(union.schema.names)
    return pa.concat_tables(conform_partials([summed]))


def exact_totals(partials: pa.Table) -> dict[str, int | Decimal]:
    """Orders, quantity and value of the whole filtered order set, exact: the orders and a
    whole-unit quantity as ints, a fractional quantity and the value as Decimals."""
    rows = partials.filter(pc.equal(partials[GROUPING], BY_PARTICIPANT))
    value = exact_total(rows["value"])
    return {
        "orders": int(exact_total(rows["orders"]) or 0),
        "quantity": quantity_total(rows["quantity"]),
        "value": Decimal(0) if value is None else value,
    }


def json_amount(amount: int | Decimal) -> int | str:
    """An exact amount for a JSON document: JSON numbers are binary floats to most readers, so a
    Decimal (a fractional quantity, a value) is a decimal string; an int stays an integer."""
    return amount if isinstance(amount, int) else decimal_text(amount)


def quantity_total(quantities: pa.ChunkedArray) -> int | Decimal:
    """Sum of a quantity column: an int for whole units, an exact Decimal for fractional ones."""
    total = exact_total(quantities)
    if total is None:
        total = Decimal(0).scaleb(-quantities.type.scale)  # the sum of nothing, at the column's places
    return schema.whole_units(total)


def decimal_text(amount: Decimal | None) -> str:
    """An exact amount in plain notation, all its places kept ('0.00000001', where str() gives '1E-8');
    '0' for the sum of nothing."""
    return "0" if amount is None else format(amount, "f")


def summed_metrics(rows: pa.Table, keys: list[str]) -> pa.Table:
    """orders, quantity and value summed per key, exactly: the quantities and values widened first
    where a sum could pass their type, the value sums narrowed back where they all fit (sums.py)."""
    widened = rows.set_column(rows.schema.get_field_index("quantity"), "quantity", summable(rows["quantity"]))
    widened = widened.set_column(widened.schema.get_field_index("value"), "value", summable(widened["value"]))
    metrics = widened.group_by(keys, use_threads=False).aggregate(METRIC_AGGREGATIONS)
    metrics = metrics.rename_columns({"orders_sum": "orders", "quantity_sum": "quantity", "value_sum": "value"})
    return metrics.set_column(metrics.schema.get_field_index("value"), "value", narrowest(metrics["value"]))
