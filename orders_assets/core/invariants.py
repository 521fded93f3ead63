"""Invariants of the outputs, checked after every reports build (the Dagster asset checks call these).

Each function returns the problems it finds, as sentences naming the file; an empty list means the
invariant holds.
"""
from __future__ import annotations

import pyarrow as pa

from orders_assets.core import outputs, schema
from orders_assets.core.aggregate import sorted_by_keys
from orders_assets.core.assemble import SOURCE_FILE
from orders_assets.core.parse import SOURCE_LINE
from orders_assets.core.store import OrderStore

PARTITION_COLUMNS = (*schema.CANONICAL_COLUMNS, SOURCE_LINE, schema.TRADE_DATE, schema.HOUR, SOURCE_FILE)


def report_problems(store: OrderStore, edges: tuple[int, ...] = schema.DEFAULT_SIZE_EDGES) -> list[str]:
    """Each report has the contract's columns in order, with the metric types, and unique sorted keys."""
    problems = []
    for name, keys in schema.REPORT_KEYS.items():
        path = store.reports / f"{name}.parquet"
        if not outputs.exists(path):
            problems.append(f"{path}: missing")
            continue
        table = outputs.read_table(path)
        expected = [*keys, *schema.METRIC_COLUMNS, *schema.REPORT_DISTINCT_COUNTS.get(name, {})]
        if table.column_names != expected:
            problems.append(f"{path}: columns {table.column_names}, the contract says {expected}")
            continue
        problems += [f"{path}: {problem}" for problem in metric_type_problems(table.schema)]
        key_rows = table.select(list(keys))
        if key_rows.group_by(list(keys)).aggregate([]).num_rows != table.num_rows:
            problems.append(f"{path}: a key ({', '.join(keys)}) appears more than once")
        if key_rows != sorted_by_keys(key_rows, keys, edges):
            problems.append(f"{path}: rows are not sorted by {', '.join(keys)}")
    return problems


def metric_type_problems(report: pa.Schema) -> list[str]:
    """The metric columns' types agree with the quantity's decimal places d: quantity int64 and value
    decimal128(38, 4) for whole units, decimal128(38, d) and decimal128(38, 4 + d) otherwise (a value
    of another scale would be rounded or mix two runs' settings); counts int64, averages float64."""
    decimals = schema.quantity_decimals_of(report.field("quantity").type)
    expected = {"orders": pa.int64(), "quantity": schema.quantity_sum_type(decimals),
                "value": schema.value_type(decimals), "avg_quantity": pa.float64(), "avg_value": pa.float64()}
    return [f"column {name} is {report.field(name).type}, expected {wanted} "
            f"(quantities with {decimals} decimal places)"
            for name, wanted in expected.items() if report.field(name).type != wanted]


def partition_problems(store: OrderStore) -> list[str]:
    """Nothing lost or counted twice between the ingests and the partitions, and every partition
    file has the filtered order set's columns."""
    problems = []
    kept = sum(manifest["rows_kept"] for manifest in store.manifests())
    catalog = store.catalog()
    assembled = sum(entry["rows"] for entry in catalog.values())
    if kept != assembled:
        problems.append(f"the ingests kept {kept:,} rows but the partitions hold {assembled:,}")
    for key, entry in sorted(catalog.items()):
        if not entry["rows"]:
            continue
        path = store.partition_file(key)
        if not outputs.exists(path):
            problems.append(f"{path}: missing ({entry['rows']} rows expected)")
            continue
        metadata = outputs.read_metadata(path)
        names = metadata.schema.to_arrow_schema().names
        missing = [column for column in PARTITION_COLUMNS if column not in names]
        if missing or metadata.num_rows != entry["rows"]:
            problems.append(f"{path}: {metadata.num_rows} rows (catalog: {entry['rows']}), missing {missing}")
    return problems
