"""A report's table from partial aggregates: the sums of its grouping set, distinct counts, every
size bucket, the contract's columns, types and row order (fed a few dates at a time: ReportPieces)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.assemble.averages import exact_average
from orders_assets.core.assemble.sums import widest_decimal
from orders_assets.core.errors import AccountingError
from orders_assets.core.assemble.aggregate import BY_HOUR, BY_PARTICIPANT, BY_SIZE, GROUPING, summed_metrics


def build_report(name: str, partials: pa.Table, edges: tuple[int, ...] = schema.DEFAULT_SIZE_EDGES) -> pa.Table:
    """One report of contract section 4 from the combined partial aggregates."""
    pieces = ReportPieces(name)
    pieces.add(partials)
    return pieces.report(edges)

COMPACT_ROWS = 1 << 20
"""Rows of a report's gathered pieces past which they are summed (or deduplicated) down to one per
key: memory holds about the report itself, whatever the number of dates fed."""


class ReportPieces:
    """One report built from partial aggregates fed a part at a time (a date's aggregate file each):
    per part, its sums by the report's keys and the distinct (key, counted) pairs it has, summed and
    deduplicated again as they gather and at the end, so a year's reports never hold a year's
    partial aggregates at once. The sums are exact (summed_metrics' widening), and a sum of sums is
    the sum."""

    def __init__(self, name: str):
        self.name = name
        self.keys = list(schema.REPORT_KEYS[name])
        self.grouping = _grouping_for(self.keys)
        self.distinct = dict(schema.REPORT_DISTINCT_COUNTS.get(name, {}))
        self.metrics: list[pa.Table] = []
        self.pairs: dict[str, list[pa.Table]] = {extra: [] for extra in self.distinct}

    def add(self, partials: pa.Table) -> None:
        """Feed partial aggregates (any grouping sets; all of one partial_schema)."""
        rows = partials.filter(pc.equal(partials[GROUPING], self.grouping))
        self.metrics = compacted([*self.metrics, summed_metrics(rows, self.keys)],
                                  lambda table: summed_metrics(table, self.keys))
        if self.distinct:
            by_participant = partials.filter(pc.equal(partials[GROUPING], BY_PARTICIPANT))
            for extra, counted in self.distinct.items():
                pairs = _distinct_pairs(by_participant, self.keys + [counted])
                self.pairs[extra] = compacted([*self.pairs[extra], pairs],
                                               lambda table, columns=self.keys + [counted]: _distinct_pairs(table, columns))

    def report(self, edges: tuple[int, ...] = schema.DEFAULT_SIZE_EDGES) -> pa.Table:
        """The report in the contract's columns and order, from everything fed."""
        metrics = summed_metrics(concatenated(self.metrics), self.keys)
        for extra, counted in self.distinct.items():
            pairs = _distinct_pairs(concatenated(self.pairs[extra]), self.keys + [counted])
            counts = pairs.group_by(self.keys, use_threads=False).aggregate([(counted, "count")])
            metrics = metrics.join(counts.rename_columns({f"{counted}_count": extra}), keys=self.keys,
                                   join_type="left outer")
        if self.name == "by_order_size":
            metrics = _every_bucket(metrics, edges)
        return finished_report(metrics, self.keys, list(self.distinct), edges)


def compacted(tables: list[pa.Table], reduce) -> list[pa.Table]:
    """The tables, reduced to one when they hold more than COMPACT_ROWS rows."""
    if sum(table.num_rows for table in tables) <= COMPACT_ROWS:
        return tables
    return [reduce(concatenated(tables))]


def concatenated(tables: list[pa.Table]) -> pa.Table:
    """Tables of one report's sums (or pairs) as one: their quantity and value columns given the
    widest type among them, so parts of other decimal places or of wide sums meet exactly."""
    tables = [table for table in tables if table.num_rows] or tables[:1]
    if len(tables) == 1:
        return tables[0]
    target = tables[0].schema
    for name in ("quantity", "value"):
        if name in target.names:
            types = [table.schema.field(name).type for table in tables]  # decimals: summed_metrics' sums
            widest = widest_decimal(types, max(data_type.scale for data_type in types))
            target = target.set(target.get_field_index(name), pa.field(name, widest))
    return pa.concat_tables([table.cast(target) for table in tables])


def _distinct_pairs(rows: pa.Table, columns: list[str]) -> pa.Table:
    return rows.group_by(columns, use_threads=False).aggregate([])


def _grouping_for(keys: list[str]) -> str:
    """The grouping set that holds a report's key columns (participant for security/date-only keys)."""
    if schema.HOUR in keys:
        return BY_HOUR
    if schema.SIZE_BUCKET in keys:
        return BY_SIZE
    return BY_PARTICIPANT


def _every_bucket(metrics: pa.Table, edges: tuple[int, ...]) -> pa.Table:
    """Every bucket of these edges, with its orders (0 for a bucket without); partial aggregates
    bucketed under other edges cannot be shown under these labels and are a defect, never dropped."""
    labels = pa.table({schema.SIZE_BUCKET: pa.array(schema.size_bucket_labels(edges))})
    strangers = pc.invert(pc.is_in(metrics[schema.SIZE_BUCKET], value_set=labels[schema.SIZE_BUCKET]))
    if pc.any(strangers).as_py():
        found = metrics.filter(strangers)[schema.SIZE_BUCKET].to_pylist()
        raise AccountingError(f"size buckets {found[:5]} are not buckets of size_edges {list(edges)}: partial "
                              "aggregates bucketed under other edges reached by_order_size")
    joined = labels.join(metrics, keys=[schema.SIZE_BUCKET], join_type="left outer")
    filled = {name: pc.fill_null(joined[name], pa.scalar(0, joined[name].type))
              for name in ("orders", "quantity", "value")}
    for name, column in filled.items():
        joined = joined.set_column(joined.schema.get_field_index(name), name, column)
    return joined


def finished_report(metrics: pa.Table, keys: list[str], extras: list[str], edges: tuple[int, ...]) -> pa.Table:
    """The report's columns in the contract's order: quantity int64 (decimal128(38, 0) if a sum passes
    int64) and value decimal128(38, 4) (decimal256(76, 4) if a sum passes 38 digits) for whole
    units, decimal128(38, d) and decimal128(38, 4 + d) for quantities with d places."""
    decimals = schema.quantity_decimals_of(metrics["quantity"].type)
    orders = pc.cast(metrics["orders"], pa.int64())
    quantity = pc.cast(metrics["quantity"], schema.report_quantity_type(metrics["quantity"]))
    value = pc.cast(metrics["value"], schema.report_value_type(metrics["value"], decimals))
    columns = {key: metrics[key] for key in keys}
    columns.update(
        {
            "orders": orders,
            "quantity": quantity,
            "value": value,
            "avg_quantity": exact_average(quantity, orders),
            "avg_value": exact_average(value, orders),
        }
    )
    for extra in extras:
        columns[extra] = pc.cast(pc.fill_null(metrics[extra], 0), pa.int64())
    return sorted_by_keys(pa.table(columns), keys, edges)


def sorted_by_keys(table: pa.Table, keys, edges: tuple[int, ...] = schema.DEFAULT_SIZE_EDGES) -> pa.Table:
    """A report's rows in the contract's order: ascending by its keys, size buckets by value (wherever
    they are among the keys)."""
    if schema.SIZE_BUCKET not in keys:
        return table.sort_by([(key, "ascending") for key in keys])
    rank = pc.index_in(table[schema.SIZE_BUCKET], value_set=pa.array(schema.size_bucket_labels(edges)))
    ranked = table.append_column(BUCKET_RANK, rank)
    order = pc.sort_indices(ranked, sort_keys=[(BUCKET_RANK if key == schema.SIZE_BUCKET else key, "ascending")
                                               for key in keys])
    return table.take(order)

BUCKET_RANK = "__bucket_rank"
"""A size bucket's place among the edges' labels, sorted by instead of its text."""
