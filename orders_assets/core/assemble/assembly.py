"""Assembly of (trade_date, security_code) partitions from the slices staged by every source.

A partition's filtered order set is made of its slices from each source file that touches it,
as the store's overlap rule says (overlap.py): by default the union (two files for one day both
count; a corrected file replaces only its own slices), or the latest file of each date, or the
union with later copies of equal rows dropped. Rows equal across files are counted under every
rule. Its inputs are named by a signature: the sorted (source, ingest attempt) of its contributors
(not the file's time: a file touched without change keeps its partitions), and what the rule
changes. The catalog records the signature each partition was built from, so a partition is
pending exactly when its expected signature differs from the catalog's.

Owns which partitions to build and from which slices, the locks, the catalog and the dates'
aggregate files; writing one date's file from the staged runs is date_writer.py's.
"""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.core import schema
from orders_assets.core.assemble import aggregate_files, date_writer, overlap
from orders_assets.core.assemble.aggregate import (
    BY_PARTICIPANT,
    GROUPING,
    PARTIAL_SCHEMA,
    conform_partials,
    decimal_text,
    summed_metrics,
)
from orders_assets.core.assemble.date_writer import Contribution
from orders_assets.core.assemble.overlap import PartitionOverlap
from orders_assets.core.errors import InputError
from orders_assets.core.store.overlap_rule import DEDUP, LATEST_PER_DATE, OverlapRule
from orders_assets.core.machine.parallel import in_order
from orders_assets.core.read.digests import short_digest
from orders_assets.core.store import date_files, outputs
from orders_assets.core.store.atomic import atomic_write_parquet
from orders_assets.core.store.catalog import CatalogEntry
from orders_assets.core.store.keys import PartitionKey
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore


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


def contributions(store: OrderStore, keys: Iterable[PartitionKey] | None = None
                  ) -> dict[PartitionKey, list[Contribution]]:
    """Every partition touched by a current manifest (or only those of `keys`), with the slices that make it up."""
    wanted = None if keys is None else {PartitionKey(*key).text for key in keys}
    found: dict[PartitionKey, list[Contribution]] = defaultdict(list)
    for manifest in store.manifests():
        source_key = manifest.source_key
        attempt = store.source_folder(source_key) / manifest.attempt
        paths: dict[str, Path] = {}  # a few slice files serve a year's partitions: one Path each
        for text, slices in manifest.partitions.items():
            if wanted is not None and text not in wanted:
                continue
            key = PartitionKey.from_text(text)
            for entry in slices:
                slice_file, batch, offset, rows = entry if len(entry) == 4 else (entry[0], entry[1], 0, entry[2])
                path = paths.get(slice_file) or paths.setdefault(slice_file, attempt / slice_file)
                found[key].append(Contribution(source_key, path, batch, offset, rows))
    return dict(found)


def expected_signatures(store: OrderStore, keys: Iterable[PartitionKey] | None = None) -> dict[PartitionKey, str]:
    """The signature each touched partition (or each of `keys` touched) should have once assembled
    from the current manifests under the store's overlap rule."""
    return signatures_of(store.manifests(), keys, store.overlap)


def signatures_of(manifests: Iterable[Manifest], keys: Iterable[PartitionKey] | None = None,
                  rule: OverlapRule = OverlapRule()) -> dict[PartitionKey, str]:
    """expected_signatures over the given manifests (a snapshot's)."""
    manifests = list(manifests)
    return _signatures(manifests, keys, rule, _winners(manifests, rule))


def _signatures(manifests: list[Manifest], keys: Iterable[PartitionKey] | None, rule: OverlapRule,
                winners: Mapping[str, str] | None) -> dict[PartitionKey, str]:
    """signatures_of, with latest_per_date's winners of each date (None under the other rules)."""
    texts = None if keys is None else [PartitionKey(*key).text for key in keys]
    inputs: dict[PartitionKey, set[str]] = defaultdict(set)
    superseded: dict[PartitionKey, set[str]] = defaultdict(set)
    for manifest in manifests:
        tag = f"{manifest.source_key}\x1f{manifest.attempt}"  # an attempt is one ingest of one content
        touched = manifest.partitions
        for text in (touched if texts is None else (text for text in texts if text in touched)):
            key = PartitionKey.from_text(text)
            if winners is None or winners[key.trade_date] == manifest.source_key:
                inputs[key].add(tag)
            else:
                superseded[key].add(tag)
    return {key: signature_of(overlap.signature_parts(rule, sorted(inputs.get(key, ())),
                                                      sorted(superseded.get(key, ()))))
            for key in inputs.keys() | superseded.keys()}


def _winners(manifests: list[Manifest], rule: OverlapRule) -> dict[str, str] | None:
    """latest_per_date: each date's file whose rows count; None under the other rules."""
    if rule.kind != LATEST_PER_DATE:
        return None
    return overlap.date_winners({manifest.source_key: manifest.partitions for manifest in manifests})


def signature_of(tags: Iterable[str]) -> str:
    return short_digest(*sorted(tags), length=20)


EMPTY_SIGNATURE = signature_of([])


def pending_partitions(store: OrderStore) -> list[PartitionKey]:
    """Partitions whose assembled state differs from what the current manifests say.

    Includes partitions that lost every contributor (a source removed or corrected), so
    their stale rows are removed too.
    """
    return pending_of(expected_signatures(store), store.catalog())


def pending_of(expected: Mapping[PartitionKey, str], catalog: Mapping[PartitionKey, CatalogEntry]
               ) -> list[PartitionKey]:
    """pending_partitions from the signatures the manifests call for and the catalog (a snapshot's)."""
    keys = set(expected) | {key for key, entry in catalog.items() if entry.rows or entry.signature != EMPTY_SIGNATURE}
    return sorted(key for key in keys if expected.get(key, EMPTY_SIGNATURE) != getattr(catalog.get(key), "signature", None))



def assemble_partitions(store: OrderStore, keys: Iterable[PartitionKey],
                        workers: int | None = None) -> list[AssembledPartition]:
    """Rewrite the date file and partial aggregates of each date the keys touch; update the catalog.

    Dates are assembled on `workers` threads (Arrow's sort, Parquet writer and group-by release the
    GIL), at most a few at a time, so memory holds a few dates' pieces whatever the number of
    partitions; the cost per date is one file, one sort and one group-by, whatever its securities.
    Holds the store's lock shared throughout: the manifests and slices it reads cannot change under
    it (publishing, retiring and the reports hold it exclusively), and assemblies of other keys, on
    a cluster's other workers, run at the same time. They share the dates' files and the catalog:
    each date is rewritten under its own lock, with the securities this assembly does not build
    copied from the file as it is then, and the catalog under its lock with only these keys
    replaced; so two assemblies of keys of one date both land.

    A date whose columns change (a file that brings or takes away a pass-through column, or gives
    one another type) is rebuilt whole from its staged slices, so its bytes never depend on the
    order its files came in; the keys rebuilt that way beside the asked ones are returned too,
    marked `alongside`. The size buckets follow the store's size edges (aggregate_files.py).
    """
    with store.assembly_locked():
        return _assemble_locked(store, sorted(set(keys)), workers)


def _assemble_locked(store: OrderStore, keys: list[PartitionKey], workers: int | None) -> list[AssembledPartition]:
    legacy = store.legacy_keys()
    legacy_dates = {trade_date for trade_date, _security in legacy}
    # A date of the earlier layout is rebuilt whole: its per-partition files go, so none of its rows may stay in them.
    keys = sorted(set(keys) | {key for key in legacy if key[0] in {trade_date for trade_date, _ in keys}})
    found = contributions(store, keys)  # only these keys' slices: one key of a year costs one key
    manifests = store.manifests()
    winners = _winners(manifests, store.overlap)
    securities_by_date: dict[str, list[str]] = defaultdict(list)
    for trade_date, security in keys:
        securities_by_date[trade_date].append(security)
    files_by_date = _date_files_staged(store, manifests, set(securities_by_date), winners)
    tasks = (lambda trade_date=trade_date, securities=securities:
             _assemble_date(store, DateWork(trade_date, securities, *files_by_date.get(trade_date, ({}, frozenset())),
                                            trade_date in legacy_dates,
                                            None if winners is None else winners.get(trade_date)), found)
             for trade_date, securities in securities_by_date.items())
    assembled: list[AssembledPartition] = []
    for date_assembled in in_order(tasks, workers or os.cpu_count() or 1):
        assembled.extend(date_assembled)
    if assembled:
        expected = _signatures(manifests, [part.key for part in assembled], store.overlap, winners)
        with store.catalog_locked():
            store.replace_catalog_entries([
                CatalogEntry(*part.key, signature=expected.get(part.key, EMPTY_SIGNATURE), rows=part.rows,
                             quantity=part.quantity, value=part.value, overlap=part.overlap.to_text())
                for part in assembled])
    return assembled


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


def _date_files_staged(store: OrderStore, manifests: list[Manifest], dates: set[str],
                       winners: Mapping[str, str] | None) -> dict[str, tuple[dict[str, list[Path]], frozenset[str]]]:
    """Per date, the files whose rows it holds under the overlap rule (a date's winner alone under
    latest_per_date) with their slices (what the date's columns are made of), and the securities
    they hold: one pass over the manifests' partitions."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    securities: dict[str, set[str]] = defaultdict(set)
    for manifest in manifests:
        for text, slices in manifest.partitions.items():
            trade_date, security = PartitionKey.from_text(text)
            if trade_date in dates and (winners is None or winners.get(trade_date) == manifest.source_key):
                found[trade_date][manifest.source_key].update(entry[0] for entry in slices)
                securities[trade_date].add(security)
    by_key = {manifest.source_key: manifest for manifest in manifests}
    return {trade_date: ({key: [store.slice_path(by_key[key], name) for name in sorted(names)]
                          for key, names in sorted(files.items())}, frozenset(securities[trade_date]))
            for trade_date, files in found.items()}


def _assemble_date(store: OrderStore, work: DateWork, found: dict[PartitionKey, list[Contribution]]
                   ) -> list[AssembledPartition]:
    """Rewrite one date's file with the given securities rebuilt from their slices (the others'
    rows copied from the current file), and replace their rows in the date's aggregate file; the
    whole date from its slices when its columns change."""
    trade_date, path, edges = work.trade_date, store.date_file(work.trade_date), store.size_edges
    columns = date_writer.date_columns(date_writer.slice_schema(slice_path)
                                       for paths in work.staged.values() for slice_path in paths) \
        if work.staged else None
    with store.date_locked(trade_date):
        previous_schema, previous = _previous_file(path)
        securities = work.securities
        if previous_schema is not None and columns is not None and previous_schema != columns:
            securities = sorted(set(securities) | set(previous) | work.staged_securities)
            found = {**contributions(store, [(trade_date, security) for security in securities
                                             if (trade_date, security) not in found]), **found}
        rebuilt = set(securities)
        every_part = {security: found.get((trade_date, security), []) for security in securities}
        parts = {security: [part for part in found_parts if work.winner is None or part.source_key == work.winner]
                 for security, found_parts in every_part.items()}
        overlaps = _overlaps(trade_date, every_part, parts, store.overlap, columns)
        kept = {security: entry.rows for security, entry in previous.items() if security not in rebuilt}
        rebucket_kept = bool(kept) and aggregate_files.stamped_edges(store.aggregate_file(trade_date)) != edges
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
    problem = _missing_columns_problem(rule, names, "the order set")
    if problem:
        raise InputError(problem)


def overlap_problem(store: OrderStore, manifests: Iterable[Manifest]) -> str | None:
    """Why the store's overlap rule cannot be applied to the files of these manifests (a snapshot's:
    a dedup column some file's rows lack), with the fix; None when it can. One slice schema read per file."""
    rule = store.overlap
    if rule.kind != DEDUP:
        return None
    for manifest in manifests:
        entry = next((slices[0] for slices in manifest.partitions.values() if slices), None)
        if entry is None:
            continue
        names = date_writer.slice_schema(store.slice_path(manifest, entry[0])).names
        problem = _missing_columns_problem(rule, names, f"{manifest.source_key}'s rows")
        if problem:
            return problem
    return None


def _missing_columns_problem(rule: OverlapRule, names: list[str], whose: str) -> str | None:
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
