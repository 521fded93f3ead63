"""What a run has to do: which sources to ingest or retire, and how to batch partition keys.

Pure functions over the landing folder listing and the store's manifests, so the decision
"nothing new, do no work" is made without launching anything.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.registries import Copy, Refusal
from orders_assets.core.read.identity import content_digest, digest_algorithm
from orders_assets.core.read.sources import LandingScan, SkippedFile, SourceFile
from orders_assets.core.store.keys import PartitionKey

@dataclass(frozen=True)
class IngestPlan:
    to_ingest: tuple[str, ...]
    """Source keys with new content, changed content, or ingested under another filter."""
    to_retire: tuple[str, ...]
    """Source keys ingested before but no longer in the landing folder."""
    touched: tuple[tuple[str, str], ...] = ()
    """(key, new fingerprint) of files rewritten with the content they had: nothing to ingest."""
    duplicates: tuple[tuple[str, str, str], ...] = ()
    """(key, fingerprint, original key) of files whose content is already ingested under another name."""
    still_refused: tuple[str, ...] = ()
    """Keys of files the ingest refused that are unchanged since (same file, same rules): not retried."""

    @property
    def nothing_new(self) -> bool:
        """No run is needed (touched files and duplicates only need their bookkeeping)."""
        return not self.to_ingest and not self.to_retire


DigestOf = Callable[..., str]
"""A file's content digest: (source) in the current algorithm, (source, algorithm) in another
(identity.content_digest)."""
FingerprintFor = Callable[[str], str] | str
"""A source key's ingest fingerprint (IngestSettings.fingerprint_for), or one for every file."""


NameFields = Callable[[str], dict]
"""What a source key's name gives its rows under its layout (LayoutChoice.name_fields)."""


def plan_ingest(sources: Iterable[SourceFile], manifests: Iterable[Manifest], fingerprint_for: FingerprintFor,
                digest_of: DigestOf | None = None, known_duplicates: Mapping[str, Copy] | None = None,
                name_fields: NameFields = lambda _key: {}, known_refused: Mapping[str, Refusal] | None = None,
                rehash: bool = False) -> IngestPlan:
    """Decide per file by name, size and time first, and by content where those cannot tell.

    With `digest_of`, a file is read to compare contents only when it could be a copy: same size
    as what was ingested under its name (touched, or corrected in place), or as another current
    source or another new file (a renamed copy). The same content under the same name is only
    'touched'; content already current under another name is a duplicate and is not ingested
    (counting it would count its rows twice). `known_duplicates` (key -> fingerprint, original)
    spares re-reading them. Two new files with the same content: the first by name is ingested.
    A file whose name gives its rows another security or date (`name_fields`) is no copy.

    A file the ingest refused (`known_refused`: key -> its fingerprint and filter fingerprint then)
    is not retried while it and the rules are unchanged: it would fail the same way. `rehash`
    (`run --rehash`) trusts no name, size or time: every file's content is compared with what was
    ingested (a file corrected in place with its old size and time is found), refused files
    are retried (a permission fixed since), and a file an earlier release read without keeping the
    market's totals (core/read/market.py) is read again for them.
    """
    if isinstance(fingerprint_for, str):
        fingerprint_for = (lambda _key, same=fingerprint_for: same)
    current = {manifest.source_key: manifest for manifest in manifests}
    present = {source.key: source for source in sources}
    known_duplicates = known_duplicates or {}
    comparable = {key: manifest for key, manifest in current.items()
                  if key in present and manifest.filter_fingerprint == fingerprint_for(key)}
    candidates, still_refused = [], []
    for key, source in sorted(present.items()):
        manifest = current.get(key)
        if key in comparable and manifest.fingerprint == source.fingerprint and not rehash:
            continue
        known = known_duplicates.get(key)
        if (manifest is None and known and known.fingerprint == source.fingerprint
                and known.original in comparable and not rehash):
            continue
        refusal = (known_refused or {}).get(key)
        if not rehash and refusal is not None and refusal.unchanged(source.fingerprint, fingerprint_for(key)):
            still_refused.append(key)
            continue
        candidates.append(source)
    if digest_of is None:
        return IngestPlan(tuple(source.key for source in candidates), _retired(current, present),
                          still_refused=tuple(still_refused))

    sizes = Counter(manifest.bytes for manifest in comparable.values())
    sizes.update(source.size for source in candidates if source.key not in comparable)
    def identity(key: str, digest: str | None) -> tuple:
        return digest, tuple(sorted(name_fields(key).items()))

    by_content = {identity(key, manifest.content_digest): key for key, manifest in comparable.items()}
    # a digest of each algorithm by_content holds (an upgraded store's SHA-256 beside XXH3), kept as it grows
    examples = {digest_algorithm(digest): digest for digest, _fields in by_content if digest}
    digest_in = _digests(digest_of)
    to_ingest, touched, duplicates = [], [], []
    for source in candidates:
        manifest = comparable.get(source.key)
        if manifest is None:
            could_be_copy = sizes[source.size] > 1 or rehash  # its own size is counted once
        else:
            could_be_copy = manifest.bytes == source.size
        if not could_be_copy:
            to_ingest.append(source.key)
            continue
        if manifest is not None and rehash and manifest.market_totals is None:
            to_ingest.append(source.key)  # read by a release that kept no market totals: read again for them
            continue
        if manifest is not None and manifest.content_digest == digest_in(source, manifest.content_digest):
            touched.append((source.key, source.fingerprint))
            continue
        original = None
        if manifest is None:  # a new name: the content of another current or new file?
            owners = (by_content.get(identity(source.key, digest_in(source, example))) for example in examples.values())
            original = next((owner for owner in owners if owner is not None and owner != source.key), None)
        if original is not None:
            duplicates.append((source.key, source.fingerprint, original))
        else:
            to_ingest.append(source.key)
            digest = digest_in(source, None)
            by_content.setdefault(identity(source.key, digest), source.key)
            examples.setdefault(digest_algorithm(digest), digest)
    return IngestPlan(tuple(to_ingest), _retired(current, present), tuple(touched), tuple(duplicates),
                      tuple(still_refused))


def _digests(digest_of: DigestOf) -> Callable[[SourceFile, str | None], str]:
    """digest_in(source, stored): the source's content digest in the algorithm of a `stored` digest
    (None: the current one), each file read at most once an algorithm, so that a digest an earlier
    release stored (SHA-256) is compared with the file's SHA-256 (identity.digest_algorithm)."""
    found: dict[tuple[str, str | None], str] = {}

    def digest_in(source: SourceFile, stored: str | None) -> str:
        if (source.key, None) not in found:
            found[(source.key, None)] = digest_of(source)
        current = found[(source.key, None)]
        if stored is None or digest_algorithm(stored) == digest_algorithm(current):
            return current
        algorithm = digest_algorithm(stored)
        if (source.key, algorithm) not in found:
            found[(source.key, algorithm)] = digest_of(source, algorithm)
        return found[(source.key, algorithm)]
    return digest_in


def ingested_copies(manifests: Iterable[Manifest], just_ingested: Iterable[str],
                    name_fields: NameFields = lambda _key: {},
                    digest_in: Callable[[str, str], str] | None = None) -> list[tuple[str, str, str]]:
    """Files just ingested whose content equals another current file's: (copy, its fingerprint, original).

    The plan compares contents only between files of one size, and a compressed file's size is not
    its content's: `a.csv` and `a.csv.gz` beside it were both ingested, their rows counted twice.
    The ingest digests the decompressed content anyway (the manifest's content_digest), so copies
    are found once it has run. A file current before is the original; among new ones, the first by
    name. Files whose names give the layout different fields (a security or a date from the file
    name, `name_fields`) are not copies, whatever their content.
    """
    fresh = set(just_ingested)
    groups: dict[tuple, list[Manifest]] = {}
    for manifest in manifests:
        if manifest.content_digest:
            identity = (manifest.content_digest, manifest.filter_fingerprint,
                        tuple(sorted(name_fields(manifest.source_key).items())))
            groups.setdefault(identity, []).append(manifest)
    copies = []
    for group in groups.values():
        ordered = sorted(group, key=lambda manifest: (manifest.source_key in fresh, manifest.source_key))
        original = ordered[0].source_key
        copies += [(manifest.source_key, manifest.fingerprint, original)
                   for manifest in ordered[1:] if manifest.source_key in fresh]
    if digest_in is not None:
        copies += _copies_of_older_digests(list(manifests), fresh - {copy for copy, _, _ in copies}, name_fields,
                                           digest_in)
    return sorted(copies)


def _copies_of_older_digests(manifests: list[Manifest], fresh: set[str], name_fields: NameFields,
                             digest_in: Callable[[str, str], str]) -> list[tuple[str, str, str]]:
    """Just-ingested files whose content equals a current file's digested by an earlier release in
    another algorithm (identity.py): only a file with the same rows read and rules is read again,
    in that algorithm, so an upgraded store still finds a compressed copy of a file it had."""
    older = [manifest for manifest in manifests if manifest.source_key not in fresh and manifest.content_digest]
    copies = []
    for manifest in sorted((found for found in manifests if found.source_key in fresh and found.content_digest),
                           key=lambda found: found.source_key):
        for candidate in older:
            if (digest_algorithm(candidate.content_digest) != digest_algorithm(manifest.content_digest)
                    and (candidate.rows_read, candidate.filter_fingerprint) == (manifest.rows_read,
                                                                                 manifest.filter_fingerprint)
                    and name_fields(candidate.source_key) == name_fields(manifest.source_key)
                    and digest_in(manifest.source_key, digest_algorithm(candidate.content_digest))
                    == candidate.content_digest):
                copies.append((manifest.source_key, manifest.fingerprint, candidate.source_key))
                break
    return copies


def record_copies(store, copies: Iterable[tuple[str, str, str]]) -> None:
    """Forget the copies' staged rows and register them as duplicates, as the plan does for the
    copies it finds before reading: the next plan skips them while they stay unchanged."""
    copies = list(copies)
    for key, _fingerprint, _original in copies:
        store.retire(key)
    if copies:
        registry = store.duplicates()
        store.write_duplicates(dataclasses.replace(registry, copies={
            **registry.copies, **{key: Copy(fingerprint, original) for key, fingerprint, original in copies}}))


def _retired(current: Mapping[str, dict], present: Mapping[str, SourceFile]) -> tuple[str, ...]:
    return tuple(sorted(key for key in current if key not in present))


def apply_identity(store, plan: IngestPlan, present_keys: Iterable[str]) -> None:
    """Record what the plan found without ingesting: new fingerprints of touched files, and the
    duplicates (forgotten once they leave the landing folder, or become the file to ingest)."""
    for key, fingerprint in plan.touched:
        store.refresh_fingerprint(key, fingerprint)
    present = set(present_keys)
    registry = store.duplicates()
    copies = {key: entry for key, entry in registry.copies.items() if key in present and key not in plan.to_ingest}
    copies.update({key: Copy(fingerprint, original) for key, fingerprint, original in plan.duplicates})
    if copies != registry.copies:
        store.write_duplicates(dataclasses.replace(registry, copies=copies))


def record_skipped(store, skipped: Iterable[SkippedFile], present_keys: Iterable[str]) -> None:
    """Keep the landing folder's skipped entries as the scan found them, and the refused files that
    are still there unchanged or not yet retried (the ingest records the reason it refused them)."""
    landing = {entry.key: entry.reason for entry in skipped}
    store.write_skipped(store.skipped().with_landing(landing, set(present_keys)))


def record_refused(store, attempted: Iterable[str], refused: Mapping[str, Refusal]) -> None:
    """After an ingest: the files it refused (the error, and the file and rules it was refused
    under) replace what was known of the files it tried."""
    store.write_skipped(store.skipped().with_refusals(set(attempted), refused))


def staged_rows(manifests: Iterable[Manifest]) -> dict[str, int]:
    """Kept rows per partition (its text key) over the given manifests: the work of assembling it."""
    rows: dict[str, int] = {}
    for manifest in manifests:
        for text, slices in manifest.partitions.items():
            rows[text] = rows.get(text, 0) + sum(entry[-1] for entry in slices)  # [file, batch, (offset,) rows]
    return rows


def ingest_weights(sources: Iterable[SourceFile], keys: Iterable[str]) -> dict[str, int]:
    """Each source file to ingest with its size in bytes: the work of ingesting it."""
    size_of = {source.key: source.size for source in sources}
    return {key: size_of[key] for key in keys}


def assembly_weights(manifests: Iterable[Manifest], keys: Iterable[PartitionKey]) -> dict[PartitionKey, int]:
    """Each (date, security) key's staged rows, at least 1 (a partition that lost its rows still has a file to remove)."""
    rows = staged_rows(manifests)
    return {key: max(1, rows.get(PartitionKey(*key).text, 0)) for key in keys}


def survey_landing(store, scan: LandingScan, fingerprint_for: FingerprintFor, name_fields: NameFields = lambda _key: {},
                   rehash: bool = False, eligible: Iterable[SourceFile] | None = None,
                   manifests: Iterable[Manifest] | None = None) -> IngestPlan:
    """The one planning step of the command, the runner and the sensor: which files to ingest or
    retire (plan_ingest over `eligible`, by default every source of the scan; the sensor passes the
    files that stopped growing), with the bookkeeping of touched, duplicate, skipped and refused
    files done on the way. It launches nothing and reads the landing folder only through `scan`,
    and the store's manifests through `manifests` when the caller has them (a StoreSnapshot's)."""
    sources = scan.sources if eligible is None else list(eligible)
    manifests = store.manifests() if manifests is None else manifests
    plan = plan_ingest(sources, manifests, fingerprint_for, content_digest, store.duplicates().copies,
                       name_fields, store.refused(), rehash)
    present = [source.key for source in scan.sources]
    apply_identity(store, plan, present)
    record_skipped(store, scan.skipped, present)
    return plan
