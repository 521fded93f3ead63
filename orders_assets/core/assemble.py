"""Assembly of (trade_date, security_code) partitions from the slices staged by every source.

A partition's filtered order set is the union of its slices from each source file that
touches it (two files for one day both count; a corrected file replaces only its own slices).
Its inputs are named by a signature: the sorted (source, ingest attempt) of its contributors
(not the file's time: a file touched without change keeps its partitions). The catalog records the signature each partition was built from, so a
partition is pending exactly when its expected signature differs from the catalog's.
"""
from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import outputs, schema
from orders_assets.core.aggregate import (
    PARTIAL_SCHEMA,
    conform_partials,
    decimal_text,
    order_values,
    partial_aggregates,
    quantity_decimals,
    quantity_total,
)
from orders_assets.core.atomic import atomic_write_parquet
from orders_assets.core.parallel import in_order
from orders_assets.core.parse import SOURCE_LINE
from orders_assets.core.store import OrderStore, PartitionKey, parse_partition_text

SOURCE_FILE = "source_file"


@dataclass(frozen=True)
class Contribution:
    source_key: str
    slice_path: Path
    batch: int
    rows: int


@dataclass(frozen=True)
class AssembledPartition:
    key: PartitionKey
    rows: int
    quantity: int | Decimal
    """An int for whole units; an exact Decimal for quantities with decimal places."""
    value: str
    sources: int
    path: outputs.OutputPath | None


def contributions(store: OrderStore) -> dict[PartitionKey, list[Contribution]]:
    """Every partition touched by a current manifest, with the slices that make it up."""
    found: dict[PartitionKey, list[Contribution]] = defaultdict(list)
    for manifest in store.manifests():
        for text, slices in manifest["partitions"].items():
            for slice_file, batch, rows in slices:
                found[parse_partition_text(text)].append(
                    Contribution(manifest["source_key"], store.slice_path(manifest, slice_file), batch, rows)
                )
    return dict(found)


def expected_signatures(store: OrderStore) -> dict[PartitionKey, str]:
    """The signature each touched partition should have once assembled from the current manifests."""
    inputs: dict[PartitionKey, set[str]] = defaultdict(set)
    for manifest in store.manifests():
        tag = f"{manifest['source_key']}\x1f{manifest['attempt']}"  # an attempt is one ingest of one content
        for text in manifest["partitions"]:
            inputs[parse_partition_text(text)].add(tag)
    return {key: signature_of(tags) for key, tags in inputs.items()}


def signature_of(tags: Iterable[str]) -> str:
    return hashlib.sha1("\x1e".join(sorted(tags)).encode()).hexdigest()[:20]


EMPTY_SIGNATURE = signature_of([])


def pending_partitions(store: OrderStore) -> list[PartitionKey]:
    """Partitions whose assembled state differs from what the current manifests say.

    Includes partitions that lost every contributor (a source removed or corrected), so
    their stale rows are removed too.
    """
    expected = expected_signatures(store)
    catalog = store.catalog()
    keys = set(expected) | {key for key, entry in catalog.items() if entry["rows"] or entry["signature"] != EMPTY_SIGNATURE}
    return sorted(key for key in keys if expected.get(key, EMPTY_SIGNATURE) != (catalog.get(key) or {}).get("signature"))


PARTITION_FILE_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": [schema.SECURITY_CODE, schema.PARTICIPANT_ID, schema.SIDE, schema.ORDER_TYPE, "event",
                       SOURCE_FILE],
    "write_statistics": [schema.TIMESTAMP],
}
"""Partition files are small (thousands of rows) and many: dictionaries only where values repeat and
statistics only on the timestamp (time-range queries over the dataset) cost 1.2 ms a file instead of
1.7 ms, and the files are 25% smaller (measured on the 2 GB benchmark's partitions)."""
GROUP_ROWS = 1 << 16
"""Rows assembled together (one worker task): their partial aggregates are computed in one pass."""


def assemble_partitions(store: OrderStore, keys: Iterable[PartitionKey],
                        edges: tuple[int, ...] = schema.DEFAULT_SIZE_EDGES,
                        workers: int | None = None) -> list[AssembledPartition]:
    """Build each partition's order file and partial aggregate; update aggregates and catalog.

    Partitions are assembled in groups of consecutive keys on `workers` threads (Arrow's
    sort, Parquet writer and group-by release the GIL), at most `workers` groups at a time,
    so memory holds a few groups' rows whatever the number of partitions. Holds the store's lock
    shared throughout: the manifests and slices it reads cannot change under it (publishing,
    retiring and the reports hold it exclusively), and assemblies of other keys, on a cluster's
    other workers, run at the same time. They share only the dates' aggregate files and the catalog,
    each rewritten under its own lock with only this assembly's keys replaced; an assembly of the
    same keys at once writes the same bytes, from the same manifests.
    """
    with store.assembly_locked():
        return _assemble_locked(store, sorted(set(keys)), edges, workers)


def _assemble_locked(store: OrderStore, keys: list[PartitionKey], edges: tuple[int, ...],
                     workers: int | None) -> list[AssembledPartition]:
    found = contributions(store)
    expected = expected_signatures(store)
    assembled: list[AssembledPartition] = []
    partials: list[pa.Table] = []
    groups = _key_groups(keys, found)
    tasks = (lambda group=group: _assemble_group(store, group, found, edges) for group in groups)
    for group_assembled, group_partials in in_order(tasks, workers or os.cpu_count() or 1):
        assembled.extend(group_assembled)
        partials.append(group_partials)
    _update_aggregates(store, keys, pa.concat_tables(partials) if partials else PARTIAL_SCHEMA.empty_table())
    with store.catalog_locked():
        catalog = store.catalog()
        for part in assembled:
            catalog[part.key] = {
                "trade_date": part.key[0],
                "security_code": part.key[1],
                "signature": expected.get(part.key, EMPTY_SIGNATURE),
                "rows": part.rows,
                "quantity": part.quantity,
                "value": part.value,
            }
        store.write_catalog(catalog)
    return assembled


def _key_groups(keys: list[PartitionKey], found: dict[PartitionKey, list[Contribution]]) -> list[list[PartitionKey]]:
    """Consecutive keys in groups of about GROUP_ROWS rows (a larger partition is a group of its own)."""
    groups: list[list[PartitionKey]] = []
    rows_in_group = 0
    for key in keys:
        rows = sum(part.rows for part in found.get(key, []))
        if not groups or (rows_in_group + rows > GROUP_ROWS and groups[-1]):
            groups.append([])
            rows_in_group = 0
        groups[-1].append(key)
        rows_in_group += rows
    return groups


def _assemble_group(store: OrderStore, keys: list[PartitionKey], found: dict[PartitionKey, list[Contribution]],
                    edges: tuple[int, ...]) -> tuple[list[AssembledPartition], pa.Table]:
    """Write the order file of each partition of the group; return them and the group's partial aggregates."""
    assembled: list[AssembledPartition] = []
    written: list[pa.Table] = []
    for key in keys:
        rows = _partition_rows(found.get(key, []))
        path = store.partition_file(key)
        if rows is None or rows.num_rows == 0:
            outputs.remove(path)  # the partition lost every contributor: its stale file goes
            assembled.append(AssembledPartition(key, 0, 0, "0", 0, None))
            continue
        outputs.write_parquet(path, rows, **PARTITION_FILE_OPTIONS)
        written.append(rows)
        value = decimal_text(pc.sum(order_values(rows)).as_py())
        quantity = quantity_total(rows[schema.QUANTITY])
        sources = len({part.source_key for part in found[key]})
        assembled.append(AssembledPartition(key, rows.num_rows, quantity, value, sources, path))
    if not written:
        return assembled, PARTIAL_SCHEMA.empty_table()
    group_rows = pa.concat_tables(_with_common_quantity_type(written), promote_options="permissive")
    return assembled, partial_aggregates(group_rows, edges)


def read_slice(path: Path, batch: int) -> pa.RecordBatch:
    """One staged batch, read (not memory-mapped: mapped pages would count in the process's RSS)."""
    with pa.OSFile(str(path)) as file:
        return pa.ipc.open_file(file).get_batch(batch)


def _partition_rows(parts: list[Contribution]) -> pa.Table | None:
    """The union of a partition's slices, with their source file, in a deterministic order."""
    tables = []
    for part in parts:
        table = pa.Table.from_batches([read_slice(part.slice_path, part.batch)])
        tables.append(table.append_column(SOURCE_FILE, pa.repeat(pa.scalar(part.source_key, pa.string()), table.num_rows)))
    if not tables:
        return None
    rows = pa.concat_tables(_with_common_quantity_type(tables), promote_options="permissive")
    order = [(schema.TIMESTAMP, "ascending"), (SOURCE_FILE, "ascending"), (SOURCE_LINE, "ascending")]
    return rows.sort_by(order)


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


def _update_aggregates(store: OrderStore, keys: list[PartitionKey], partials: pa.Table) -> None:
    """Replace the assembled partitions' rows in their dates' aggregate files, each under its own lock.

    `partials` holds the new rows of every assembled partition (none for an empty one), so a
    partition that lost its rows also leaves the aggregates.
    """
    securities_by_date: dict[str, list[str]] = defaultdict(list)
    for trade_date, security in keys:
        securities_by_date[trade_date].append(security)
    partial_dates = pc.cast(partials[schema.TRADE_DATE], pa.string())
    for trade_date, securities in securities_by_date.items():
        with store.aggregate_locked(trade_date):
            _replace_aggregate_rows(store.aggregate_file(trade_date), securities,
                                    partials.filter(pc.equal(partial_dates, trade_date)))


def _replace_aggregate_rows(path: Path, securities: list[str], new_rows: pa.Table) -> None:
    """One date's aggregate file with the given securities' rows replaced by `new_rows`."""
    kept = [new_rows]
    if path.exists():
        existing = pq.read_table(path)
        replaced = pa.array(securities, pa.string())
        kept.insert(0, existing.filter(pc.invert(pc.is_in(existing[schema.SECURITY_CODE], value_set=replaced))))
    combined = pa.concat_tables(conform_partials(kept))
    if combined.num_rows == 0:
        path.unlink(missing_ok=True)
        return
    atomic_write_parquet(path, combined.sort_by([(schema.SECURITY_CODE, "ascending")]))


def load_partials(store: OrderStore) -> pa.Table:
    """Every partition's partial aggregate (the input of every report), in one partial_schema."""
    files = sorted(store.aggregates.glob("trade_date=*.parquet")) if store.aggregates.is_dir() else []
    if not files:
        return PARTIAL_SCHEMA.empty_table()
    return pa.concat_tables(conform_partials(pq.read_table(path) for path in files))
