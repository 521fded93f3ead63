"""One trade date's assembly: its file rewritten with the asked securities rebuilt from their staged
slices (the others' rows copied from the current file, or the whole date rebuilt when its columns
change), its rows resolved by the overlap rule, and its aggregate file's rows replaced.

Which keys to assemble, their signatures, the catalog and the locks around it are assembly.py's;
streaming the rows into the Parquet file is date_writer.py's.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.assemble import aggregate_files, date_writer, overlap
from orders_assets.core.assemble.aggregate import BY_PARTICIPANT, GROUPING, PARTIAL_SCHEMA, conform_partials, decimal_text
from orders_assets.core.assemble.aggregate import summed_metrics
from orders_assets.core.assemble.date_writer import Contribution
from orders_assets.core.assemble.overlap import PartitionOverlap
from orders_assets.core.errors import InputError
from orders_assets.core.store import date_files, outputs
from orders_assets.core.store.keys import PartitionKey
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.overlap_rule import DEDUP, OverlapRule


@dataclass(frozen=True)
class AssembledPartition:
    key: PartitionKey
    rows: int
    quantity: int | Decimal
    """An int for whole units; an exact Decimal for quantities with decimal places."""
    value: str
    sources: int
    path: outputs.OutputPath | None
    """Its date's file (core/store/date_files.py), or None when the partition has no rows."""
    overlap: PartitionOverlap = field(default_factory=PartitionOverlap)
    """Rows equal across its files, and those the overlap rule left out."""
    alongside: bool = False
    """Not asked for: rebuilt because its date's columns changed (assemble_partitions)."""


@dataclass(frozen=True)
class DateWork:
    """What one date's assembly is asked and given."""

    trade_date: str
    securities: list[str]
    """The securities asked for."""
    staged: dict[str, list[Path]]
    """Per file whose rows the date holds (by key, in key order), its slices that hold them."""
    staged_securities: frozenset[str]
    """Every security those files hold rows of on the date."""
    legacy: bool
    winner: str | None = None
    """Under latest_per_date, the one file whose rows of this date count."""


def assemble_date(store: OrderStore, work: DateWork, found: dict[PartitionKey, list[Contribution]],
                  contributions_of: Callable[[list[PartitionKey]], dict[PartitionKey, list[Contribution]]]
                  ) -> list[AssembledPartition]:
    """Rewrite one date's file with the given securities rebuilt from their slices (the others'
    rows copied from the current file), and replace their rows in the date's aggregate file; the
    whole date from its slices when its columns change (`contributions_of` gives the slices of
    the keys not asked for)."""
    trade_date, path, edges = work.trade_date, store.date_file(work.trade_date), store.size_edges
    columns = date_writer.date_columns(date_writer.slice_schema(slice_path)
                                       for paths in work.staged.values() for slice_path in paths) \
        if work.staged else None
    with store.date_locked(trade_date):
        previous_schema, previous = _previous_file(path)
        securities = work.securities
        if previous_schema is not None and columns is not None and previous_schema != columns:
            securities = sorted(set(securities) | set(previous) | work.staged_securities)
            found = {**contributions_of([PartitionKey(trade_date, security) for security in securities
                                          if (trade_date, security) not in found]), **found}
        rebuilt = set(securities)
        every_part = {security: found.get((trade_date, security), []) for security in securities}
        parts = {security: [part for part in found_parts if work.winner is None or part.source_key == work.winner]
                 for security, found_parts in every_part.items()}
        overlaps = _overlaps(trade_date, every_part, parts, store.overlap, columns)
        kept = {security: entry.rows for security, entry in previous.items() if security not in rebuilt}
        rebucket_kept = bool(kept) and not aggregate_files.is_current(store.aggregate_file(trade_date), edges)
        new_rows = {security: sum(part.rows for part in parts[security]) - overlaps[security].rows_deduplicated
                    for security in securities}
        index, units = date_files.plan_row_groups([*kept.items(), *new_rows.items()])
        partials: list[pa.Table] = []
        if index:
            resolve = (lambda rows: overlap.drop_later_copies(rows, store.overlap)) \
                if store.overlap.kind == DEDUP else None
            outputs.write_output(path, lambda target: date_writer.write_date(
                target, trade_date, columns, (index, units), kept, parts, path, edges, partials, resolve,
                rebucket_kept))
        else:
            outputs.remove(path)
        if work.legacy:
            for stale in store.legacy_partition_files(trade_date):
                outputs.remove(stale)
        date_partials = (pa.concat_tables(conform_partials(partials)) if partials
                         else PARTIAL_SCHEMA.empty_table())
        aggregate_files.replace_rows(store.aggregate_file(trade_date), securities, date_partials, edges,
                                     every_security=rebucket_kept)
    totals = _totals_by_security(date_partials)
    asked = set(work.securities)
    assembled = []
    for security in securities:
        rows, quantity, value = totals.get(security, (0, 0, "0"))
        sources = len({part.source_key for part in parts[security]}) if rows else 0
        assembled.append(AssembledPartition((trade_date, security), rows, quantity, value, sources,
                                            path if rows else None, overlaps[security],
                                            alongside=security not in asked))
    return assembled


def _overlaps(trade_date: str, every_part: dict[str, list[Contribution]], parts: dict[str, list[Contribution]],
              rule: OverlapRule, columns: pa.Schema | None) -> dict[str, PartitionOverlap]:
    """Per security of the date: its rows equal across current files (read from the staged slices of
    the securities more than one file touches, a few at a time, in the date's `columns`), those a
    later copy of which dedup drops, and the rows of files another file supersedes."""
    found = {security: PartitionOverlap() for security in every_part}
    for security, all_parts in every_part.items():
        kept, superseded = {id(part) for part in parts[security]}, defaultdict(int)
        for part in all_parts:
            if id(part) not in kept:
                superseded[part.source_key] += part.rows
        found[security].superseded = dict(sorted(superseded.items()))
    shared = [security for security, all_parts in every_part.items() if len({p.source_key for p in all_parts}) > 1]
    for slice_path in sorted({part.slice_path for security in shared for part in every_part[security]}):
        _require_columns(date_writer.slice_schema(slice_path).names, rule)
    for group in date_writer.grouped_by_rows(shared, lambda security: sum(p.rows for p in every_part[security])):
        rows = date_writer.staged_rows(trade_date, [part for security in group for part in every_part[security]],
                                       columns)
        for security, detected in overlap.detect(rows, rule).items():
            detected.superseded = found[security].superseded
            found[security] = detected
    return found


def _require_columns(names: list[str], rule: OverlapRule) -> None:
    """A dedup column a file's staged rows do not have is the user's mistake: say which, and what
    there is (`orders-assets run` and the sensor ask overlap_problem first, so this is the last guard)."""
    problem = missing_columns_problem(rule, names, "the order set")
    if problem:
        raise InputError(problem)


def missing_columns_problem(rule: OverlapRule, names: list[str], whose: str) -> str | None:
    missing = [column for column in rule.match_columns if column not in names]
    if not missing:
        return None
    present = ", ".join(name for name in names if not name.startswith("_"))
    return (f"overlap: dedup column {', '.join(missing)} is not a column of {whose} (they are {present}): "
            "name columns every file has in overlap: {dedup: [...]} of the config")


def _previous_file(path: outputs.OutputPath) -> tuple[pa.Schema | None, date_files.SecurityIndex]:
    """The columns and the index of a date's current file (None and empty if it has none): one footer read."""
    if not outputs.exists(path):
        return None, {}
    metadata = outputs.read_metadata(path)
    return metadata.schema.to_arrow_schema().remove_metadata(), date_files.index_of(metadata)


def _totals_by_security(partials: pa.Table) -> dict[str, tuple[int, int | Decimal, str]]:
    """Per rebuilt security: its orders, quantity and value, from its by-participant partials
    (each row of a partition is in exactly one participant's group)."""
    grouping = partials.filter(pc.equal(partials[GROUPING], BY_PARTICIPANT))
    summed = summed_metrics(grouping, [schema.SECURITY_CODE])
    return {security: (orders, schema.whole_units(quantity), decimal_text(value))
            for security, orders, quantity, value in zip(*(summed[name].to_pylist() for name in (
                schema.SECURITY_CODE, "orders", "quantity", "value")))}
