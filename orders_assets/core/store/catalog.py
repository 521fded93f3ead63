"""The catalog, <data>/state/partitions.parquet: per assembled partition, the signature of the
inputs it was built from and its totals.

A table on disk and in the passes over every partition (pending work, totals, checks: a year's
75,000 entries are filtered and concatenated, never turned into objects one by one); a frozen
CatalogEntry where code looks at one partition.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.store.atomic import atomic_write_parquet
from orders_assets.core.store.keys import PartitionKey

CATALOG_LAYOUT_KEY = b"orders_assets.layout"
CATALOG_LAYOUT = b"date-files"
"""The catalog of a store whose order sets are one file per date. A catalog without it was written
when each partition had a file of its own: its entries take LEGACY_SIGNATURE, so they are pending
and the next assembly rebuilds them into date files from the staged slices (no source is read
again), removing each rebuilt date's per-partition files."""
LEGACY_SIGNATURE = "per-partition-file"


@dataclass(frozen=True)
class CatalogEntry:
    """One assembled partition: what it was built from, and its totals, exact."""

    trade_date: str
    security_code: str
    signature: str
    """Digest of the staged slices the partition was built from (assembly.signature_of)."""
    rows: int
    quantity: int | Decimal
    value: str
    """Sum of price x quantity, as exact decimal text."""
    overlap: str = ""
    """Rows equal across its files and those the overlap rule left out (overlap.PartitionOverlap as
    JSON); "" for a partition one file makes, and in catalogs written before it was recorded."""

    @property
    def key(self) -> PartitionKey:
        return PartitionKey(self.trade_date, self.security_code)


def catalog_schema(quantity_decimals: int = 0) -> pa.Schema:
    """The catalog's columns: a partition's quantity is int64 for whole units, decimal128(38, d)
    when quantities have d places (CATALOG_SCHEMA is the whole-unit one)."""
    return pa.schema(
        [
            ("trade_date", pa.string()),
            ("security_code", pa.string()),
            ("signature", pa.string()),
            ("rows", pa.int64()),
            ("quantity", schema.quantity_sum_type(quantity_decimals)),
            ("value", pa.string()),
            ("overlap", pa.string()),
        ],
        metadata={CATALOG_LAYOUT_KEY: CATALOG_LAYOUT},
    )


CATALOG_SCHEMA = catalog_schema()


def decimal_places(amount: int | Decimal) -> int:
    """Places after the point of an exact amount (0 for an int)."""
    return max(-amount.as_tuple().exponent, 0) if isinstance(amount, Decimal) else 0


def read_table(path: Path) -> pa.Table:
    """The catalog at `path` (empty when there is none). A catalog of the per-partition layout
    has LEGACY_SIGNATURE for every entry (see CATALOG_LAYOUT), so every partition it lists is pending."""
    if not path.exists():
        return CATALOG_SCHEMA.empty_table()
    table = pq.ParquetFile(path).read()  # not read_table: no dataset discovery for one file
    if "overlap" not in table.column_names:  # written before overlaps were recorded: none was
        table = table.append_column("overlap", pa.repeat(pa.scalar("", pa.string()), table.num_rows))
    if (table.schema.metadata or {}).get(CATALOG_LAYOUT_KEY) != CATALOG_LAYOUT:
        signatures = pa.repeat(pa.scalar(LEGACY_SIGNATURE, pa.string()), table.num_rows)
        table = table.set_column(table.schema.get_field_index("signature"), "signature", signatures)
    return table


def entries(table: pa.Table) -> dict[PartitionKey, CatalogEntry]:
    """The catalog's entries by partition."""
    found = (CatalogEntry(**row) for row in table.to_pylist())
    return {entry.key: entry for entry in found}


def legacy_keys(table: pa.Table) -> set[PartitionKey]:
    """Partitions still in a per-partition file of the earlier layout (see CATALOG_LAYOUT)."""
    legacy = table.filter(pc.equal(table["signature"], LEGACY_SIGNATURE))
    return set(map(PartitionKey, legacy["trade_date"].to_pylist(), legacy["security_code"].to_pylist()))


def replace_entries(path: Path, new_entries: list[CatalogEntry]) -> None:
    """The catalog with these partitions' entries replaced (the others kept), columnar. Hold the
    store's catalog lock."""
    new = _table(new_entries)
    current = read_table(path)
    replaced = pc.is_in(key_texts(current), value_set=key_texts(new).combine_chunks())
    kept = current.filter(pc.invert(replaced))
    decimals = max((schema.quantity_decimals_of(table.schema.field("quantity").type)
                    for table in (kept, new) if table.num_rows), default=0)
    target = catalog_schema(decimals)
    combined = pa.concat_tables([kept.cast(target), new.cast(target)])
    atomic_write_parquet(path, _in_key_order(combined).replace_schema_metadata(target.metadata))


def signature_texts(table: pa.Table) -> list[str]:
    """'date|security<US>signature' of every entry in key order (bytewise order of UTF-8 text:
    the order of Python's sorted keys), for the digest of what the reports are built from."""
    ordered = _in_key_order(table)
    return pc.binary_join_element_wise(key_texts(ordered), ordered["signature"], "\x1f").to_pylist()


def key_texts(table: pa.Table) -> pa.ChunkedArray:
    """'date|security' of each catalog entry (PartitionKey.text, columnar)."""
    return pc.binary_join_element_wise(table["trade_date"], table["security_code"], "|")


def _table(new_entries: list[CatalogEntry]) -> pa.Table:
    decimals = max((decimal_places(entry.quantity) for entry in new_entries), default=0)
    return pa.Table.from_pylist([asdict(entry) for entry in new_entries], schema=catalog_schema(decimals))


def _in_key_order(table: pa.Table) -> pa.Table:
    return table.take(pc.sort_indices(table, [("trade_date", "ascending"), ("security_code", "ascending")]))
