"""Invariants of the outputs, checked after every reports build (the Dagster asset checks call these).

Each function returns the problems it finds, as sentences naming the file; an empty list means the
invariant holds.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core.store import date_files, outputs

from orders_assets.core import schema
from orders_assets.core.assemble.report_tables import sorted_by_keys
from orders_assets.core.assemble.overlap import catalog_overlaps
from orders_assets.core.assemble.sums import exact_decimal_sum, exact_total
from orders_assets.core.read.header import SOURCE_FILE, SOURCE_LINE
from orders_assets.core.store.order_store import OrderStore

PARTITION_COLUMNS = (*schema.CANONICAL_COLUMNS, SOURCE_LINE, schema.HOUR, SOURCE_FILE)
"""A date file's columns; trade_date is its hive folder's value, added by every reader."""


def accounting_problems(store: OrderStore) -> list[str]:
    """Contract section 2 for every source file: its rows balance (rows_read = kept + filtered_out +
    rejected), and its quarantine holds exactly the rows it rejected, by reason as its manifest
    counted them (the summary's rejections_by_reason, which reads no quarantine)."""
    problems = []
    for manifest in store.manifests():
        key = manifest.source_key
        if not manifest.balanced:
            problems.append(f"{key}: rows_read {manifest.rows_read} != kept {manifest.rows_kept} + filtered_out "
                            f"{manifest.rows_filtered_out} + rejected {manifest.rows_rejected}")
        reasons = store.quarantine_reasons(key)
        quarantined = sum(reasons.values())
        if quarantined != manifest.rows_rejected:
            problems.append(f"{key}: quarantine holds {quarantined} rows, rows_rejected is {manifest.rows_rejected}")
        elif manifest.rejections_by_reason is not None and reasons != dict(manifest.rejections_by_reason):
            problems.append(f"{key}: quarantine's rows by reason {reasons} differ from the manifest's "
                            f"{dict(manifest.rejections_by_reason)}")
    return problems


def partition_totals(store: OrderStore) -> dict[str, int | Decimal]:
    """Orders, quantity and value summed over the catalog's partitions, exact: the summary's totals
    (from the partial aggregates) summed another way."""
    catalog = store.catalog_table()
    return {
        "orders": pc.sum(catalog["rows"]).as_py() or 0,
        "quantity": schema.whole_units(pc.sum(catalog["quantity"]).as_py() or 0),
        "value": exact_decimal_sum(catalog["value"].to_pylist()),
    }


def totals_problems(reported: Mapping[str, int | Decimal], partitions: Mapping[str, int | Decimal]) -> list[str]:
    """Each total the summary reports equals the partitions' (partition_totals)."""
    return [f"the summary's {name} is {reported.get(name)}, the partitions hold {expected}"
            for name, expected in partitions.items() if reported.get(name) != expected]


def checked_reports(store: OrderStore) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(name, key columns, distinct-count columns) of each report the checks hold to the contract's
    rules: the seven, then the ones declared in the config file."""
    contract = [(name, keys, tuple(schema.REPORT_DISTINCT_COUNTS.get(name, {}))) for name, keys in schema.REPORT_KEYS.items()]
    return contract + [(declared.name, declared.keys, ()) for declared in store.declared_reports]


def report_total_problems(store: OrderStore, totals: Mapping[str, int | Decimal]) -> list[str]:
    """Each report's orders, quantity and value, summed over its rows, equal the summary's `totals`:
    every report of the contract splits the whole order set by its keys (every size bucket has a row,
    every order one bucket), as does each declared report, so a report that lost or doubled rows shows here."""
    problems = []
    for name, _keys, _distinct in checked_reports(store):
        path = store.reports / f"{name}.parquet"
        if not outputs.exists(path):
            problems.append(f"{path}: missing")
            continue
        table = outputs.read_table(path)
        for metric in ("orders", "quantity", "value"):
            found = schema.whole_units(exact_total(table[metric]) or 0)
            if found != totals.get(metric):
                problems.append(f"{path}: its {metric} add up to {found}, the summary's total is {totals.get(metric)}")
    return problems


def report_problems(store: OrderStore, edges: tuple[int, ...] = schema.DEFAULT_SIZE_EDGES) -> list[str]:
    """Each report (the declared ones too) has the contract's columns in order, with the metric types,
    and unique sorted keys."""
    problems = []
    for name, keys, distinct in checked_reports(store):
        path = store.reports / f"{name}.parquet"
        if not outputs.exists(path):
            problems.append(f"{path}: missing")
            continue
        table = outputs.read_table(path)
        expected = [*keys, *schema.METRIC_COLUMNS, *distinct]
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
    """The metric columns' types agree with the quantity's decimal places d: quantity int64 (or
    decimal128(38, 0), where a sum passes int64) and value decimal128(38, 4) (or decimal256(76, 4),
    where a sum passes 38 digits) for whole units,
    decimal128(38, d) and decimal128(38, 4 + d) otherwise (a value of another scale would be
    rounded or mix two runs' settings); counts int64, averages float64."""
    quantity = report.field("quantity").type
    decimals = schema.quantity_decimals_of(quantity)
    whole = (schema.QUANTITY_TYPE, schema.quantity_sum_type(0))
    value = report.field("value").type
    expected = {"orders": pa.int64(), "quantity": quantity if decimals == 0 and quantity in whole
                else schema.quantity_sum_type(decimals),
                "value": value if value == pa.decimal256(76, schema.PRICE_SCALE + decimals)
                else schema.value_type(decimals),
                "avg_quantity": pa.float64(), "avg_value": pa.float64()}
    return [f"column {name} is {report.field(name).type}, expected {wanted} "
            f"(quantities with {decimals} decimal places)"
            for name, wanted in expected.items() if report.field(name).type != wanted]


def partition_problems(store: OrderStore) -> list[str]:
    """Nothing lost or counted twice between the ingests and the partitions (the kept rows of every
    file = rows in the partitions + rows superseded + rows deduplicated); every date file has the
    filtered order set's columns, and its index agrees with the catalog, security by security.
    One footer read a date, whatever its number of securities."""
    problems = []
    kept = sum(manifest.rows_kept for manifest in store.manifests())
    catalog = store.catalog_table()
    built = catalog.filter(pc.greater(catalog["rows"], 0))
    assembled = pc.sum(built["rows"]).as_py() or 0
    left_out = catalog_overlaps(catalog)
    accounted = assembled + left_out.rows_superseded + left_out.rows_deduplicated
    if kept != accounted:
        problems.append(f"the ingests kept {kept:,} rows but the partitions hold {assembled:,}, with "
                        f"{left_out.rows_superseded:,} superseded and {left_out.rows_deduplicated:,} deduplicated "
                        f"(overlap: {store.overlap.text})")
    rows_by_date: dict[str, dict[str, int]] = defaultdict(dict)
    for trade_date, security, rows in zip(*(built[name].to_pylist() for name in ("trade_date", "security_code", "rows"))):
        rows_by_date[trade_date][security] = rows
    for trade_date, expected in sorted(rows_by_date.items()):
        problems += date_file_problems(store.date_file(trade_date), expected)
    return problems


def date_file_problems(path: outputs.OutputPath, expected: dict[str, int]) -> list[str]:
    """A date file against the catalog's rows per security: present, the columns, the index, the footer."""
    if not outputs.exists(path):
        return [f"{path}: missing ({sum(expected.values())} rows of {len(expected)} securities expected)"]
    metadata = outputs.read_metadata(path)
    problems = []
    names = metadata.schema.to_arrow_schema().names
    missing = [column for column in PARTITION_COLUMNS if column not in names]
    if missing:
        problems.append(f"{path}: missing columns {missing}")
    index = date_files.index_of(metadata)
    indexed = {security: entry.rows for security, entry in index.items()}
    if indexed != expected:
        differ = sorted(set(indexed.items()) ^ set(expected.items()))[:5]
        problems.append(f"{path}: its index and the catalog differ, e.g. {differ} (security, rows)")
    if metadata.num_rows != sum(expected.values()):
        problems.append(f"{path}: {metadata.num_rows} rows, the catalog says {sum(expected.values())}")
    return problems
