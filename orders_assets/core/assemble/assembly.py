"""Assembly of (trade_date, security_code) partitions from the slices staged by every source.

A partition's filtered order set is made of its slices from each source file that touches it,
as the store's overlap rule says (overlap.py): by default the union (two files for one day both
count; a corrected file replaces only its own slices), or the latest file of each date, or the
union with later copies of equal rows dropped. Rows equal across files are counted under every
rule. Its inputs are named by a signature: the sorted (source, ingest attempt) of its contributors
(not the file's time: a file touched without change keeps its partitions), and what the rule
changes. The catalog records the signature each partition was built from, so a partition is
pending exactly when its expected signature differs from the catalog's.

Owns which partitions to build and from which slices, their signatures, the store's locks and the
catalog; one date's rewrite is date_assembly.py's, writing its file from the staged runs
date_writer.py's.
"""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from orders_assets.core.assemble import date_writer, overlap
from orders_assets.core.assemble.date_assembly import AssembledPartition, DateWork, assemble_date, \
    missing_columns_problem
from orders_assets.core.assemble.date_writer import Contribution
from orders_assets.core.machine.parallel import in_order
from orders_assets.core.read.digests import short_digest
from orders_assets.core.store.catalog import CatalogEntry
from orders_assets.core.store.keys import PartitionKey
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.overlap_rule import DEDUP, LATEST_PER_DATE, OverlapRule


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

    def date_task(trade_date: str, securities: list[str]):
        staged, staged_securities = files_by_date.get(trade_date, ({}, frozenset()))
        work = DateWork(trade_date, securities, staged, staged_securities, trade_date in legacy_dates,
                        None if winners is None else winners.get(trade_date))
        return lambda: assemble_date(store, work, found, lambda more: contributions(store, more))

    tasks = (date_task(trade_date, securities) for trade_date, securities in securities_by_date.items())
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
        problem = missing_columns_problem(rule, names, f"{manifest.source_key}'s rows")
        if problem:
            return problem
    return None
