"""The work area and the outputs: where every file lives, and how it is written so a reader never
sees half a file.

The work area, a local or shared POSIX folder (renames and flock locks):

    <data>/staging/<source id>/manifest.json   accounting and slice index of the latest ingest of a source
    <data>/staging/<source id>/<attempt>/       that ingest's filtered rows, one Arrow IPC batch per date a flush
    <data>/quarantine/<source id>.csv            rejected rows: source_file, line, column, reason, raw
    <data>/aggregates/trade_date=D.parquet       partial aggregates of that date's partitions
    <data>/state/partitions.parquet              catalog: per partition, the inputs it was built from

The published outputs, under the output root (`output_url`, by default the data folder; core/store/outputs.py):

    <output>/orders/trade_date=D/orders.parquet   the filtered order sets of one date (core/store/date_files.py)
    <output>/reports/                                      the reports, plots, index.html and summary.json

Every work-area file is written under a temporary name in its folder and renamed into place; the
manifest is switched last, so a crash leaves either the old state or the new one.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import uuid
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from upath import UPath

from orders_assets.core.store import date_files, outputs

from orders_assets.core import schema
from orders_assets.core.store.atomic import TEMP_PREFIX, atomic_write, atomic_write_json, atomic_write_parquet
from orders_assets.core.store.manifest import Manifest
from orders_assets.core.store.outputs import output_root
from orders_assets.core.read.sources import storage_id
from orders_assets.core.read.digests import short_digest

PartitionKey = tuple[str, str]
"""(trade_date as YYYY-MM-DD, security_code)."""


CATALOG_LAYOUT_KEY = b"orders_assets.layout"
CATALOG_LAYOUT = b"date-files"
"""The catalog of a store whose order sets are one file per date. A catalog without it was written
when each partition had a file of its own: its entries take LEGACY_SIGNATURE, so they are pending
and the next assembly rebuilds them into date files from the staged slices (no source is read
again), removing each rebuilt date's per-partition files."""
LEGACY_SIGNATURE = "per-partition-file"


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
        ],
        metadata={CATALOG_LAYOUT_KEY: CATALOG_LAYOUT},
    )


CATALOG_SCHEMA = catalog_schema()


def decimal_places(amount: int | Decimal) -> int:
    """Places after the point of an exact amount (0 for an int)."""
    return max(-amount.as_tuple().exponent, 0) if isinstance(amount, Decimal) else 0


def partition_text(key: PartitionKey) -> str:
    """'2025-03-03|BHP': date first, matching the Dagster key of the (date, security) partitions."""
    return f"{key[0]}|{key[1]}"


def parse_partition_text(text: str) -> PartitionKey:
    trade_date, _, security = text.partition("|")
    return trade_date, security


_PARSED_MANIFESTS: dict[str, tuple[tuple, dict]] = {}
_PARSED_MANIFESTS_GUARD = threading.Lock()


def _read_manifest(path: Path) -> Manifest | None:
    """A manifest as parsed, or None when there is none; parsed once per version of the file.

    A year's manifest is megabytes of JSON (an entry per partition) and a step reads it several
    times (plan, contributions, signatures, checks, summary). A manifest is only ever replaced by
    a rename (atomic_write_json), so a new version is a new inode: the parse is kept per path
    with the file's (inode, size, mtime) and reused while they are unchanged. Callers must not
    mutate what they get.
    """
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # no manifest, or a lock file beside the folders
        with _PARSED_MANIFESTS_GUARD:
            _PARSED_MANIFESTS.pop(str(path), None)
        return None
    identity = (status.st_ino, status.st_size, status.st_mtime_ns)
    with _PARSED_MANIFESTS_GUARD:
        cached = _PARSED_MANIFESTS.get(str(path))
    if cached is not None and cached[0] == identity:
        return cached[1]
    manifest = Manifest.from_json(json.loads(path.read_text()), where=str(path))
    with _PARSED_MANIFESTS_GUARD:
        _PARSED_MANIFESTS[str(path)] = (identity, manifest)
    return manifest


def _forget_manifests_except(staging: Path, present: set[str]) -> None:
    """Drop the parses of manifests under `staging` whose source was retired, so the cache holds
    only current sources."""
    prefix = str(staging) + os.sep
    with _PARSED_MANIFESTS_GUARD:
        for path in [path for path in _PARSED_MANIFESTS if path.startswith(prefix) and path not in present]:
            del _PARSED_MANIFESTS[path]


class _FileLock:
    """A flock shared by the threads of this process: the first entry takes it, the last exit releases
    it (flock on a second descriptor would deadlock the process with itself). Entered with `with`, it is
    exclusive; `shared()` takes it shared, with other processes' shared holders, excluding exclusive ones."""

    def __init__(self, path: Path):
        self.path = path
        self.guard = threading.RLock()
        self.depth = 0
        self.handle = None
        self.held_shared = False

    def __enter__(self) -> None:
        self._acquire(fcntl.LOCK_EX)

    def __exit__(self, *exc_info) -> None:
        self._release()

    @contextlib.contextmanager
    def shared(self):
        self._acquire(fcntl.LOCK_SH)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, operation: int) -> None:
        self.guard.acquire()
        if self.depth == 0:
            self.handle = open(self.path, "w")
            fcntl.flock(self.handle, operation)
            self.held_shared = operation == fcntl.LOCK_SH
        elif operation == fcntl.LOCK_EX and self.held_shared:
            self.guard.release()
            raise RuntimeError(f"{self.path}: an exclusive lock asked for under a shared one (two processes "
                               "doing so would deadlock)")
        self.depth += 1

    def _release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
        self.guard.release()


_FILE_LOCKS: dict[Path, _FileLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def file_lock(path: Path) -> _FileLock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(path.resolve(), _FileLock(path.resolve()))


def remove_orphan_temporaries(root: Path, skip: tuple[str, ...] = ("dagster_home",)) -> int:
    """Delete temporary files left by processes that no longer exist (a run killed mid-write)."""
    removed = 0
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in skip]
        for name in names:
            if name.startswith(TEMP_PREFIX) and not _process_alive(name[len(TEMP_PREFIX):].split("-", 1)[0]):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


def _process_alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OrderStore:
    """Paths and atomic updates of one work area, and the roots of its published outputs."""

    def __init__(self, data_dir: Path | str, output_url: str | None = None):
        self.root = Path(data_dir)
        self.output_root = output_root(self.root, output_url)
        """Where partition files and reports are published: a local folder or a URL (s3://, gs://)."""

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def orders(self) -> UPath:
        return self.output_root / "orders"

    @property
    def aggregates(self) -> Path:
        return self.root / "aggregates"

    @property
    def reports(self) -> UPath:
        return self.output_root / "reports"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def quarantine_file(self, source_key: str) -> Path:
        """A source's rejected rows; there only when the source has some (no header-only files)."""
        return self.quarantine / f"{storage_id(source_key)}.csv"

    def quarantined(self, source_key: str) -> pa.Table:
        """A source's rejected rows (none when its quarantine file is absent)."""
        from orders_assets.core.read.parse import QUARANTINE_SCHEMA

        path = self.quarantine_file(source_key)
        if not path.exists():
            return QUARANTINE_SCHEMA.empty_table()
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=QUARANTINE_SCHEMA))

    def date_file(self, trade_date: str) -> UPath:
        """The published filtered order sets of one trade date: every security's rows."""
        return self.orders / f"trade_date={trade_date}" / date_files.FILE_NAME

    def read_partition(self, key: PartitionKey) -> pa.Table:
        """One (date, security) partition's published rows, with its trade_date (reads only its row groups)."""
        return date_files.read_partition(self.date_file(key[0]), *key)

    def legacy_partition_files(self, trade_date: str) -> list[outputs.OutputPath]:
        """Files of the earlier layout, one per (date, security), left in a date's folder."""
        return outputs.matching(self.orders / f"trade_date={trade_date}", "security_code=*.parquet")

    def aggregate_file(self, trade_date: str) -> Path:
        return self.aggregates / f"trade_date={trade_date}.parquet"

    def locked(self) -> contextlib.AbstractContextManager:
        """The store's lock, exclusive: held to switch a manifest, retire a source and build the reports,
        so that concurrent runs (the sensor's and a manual backfill) never interleave those steps.
        Reentrant within a process."""
        return self._store_lock()

    def assembly_locked(self) -> contextlib.AbstractContextManager:
        """The store's lock, shared: held by each assembly of partitions, so that the manifests and slices
        it reads cannot change under it, while other assemblies (of a cluster's other workers) run at once.
        What those share, the dates' aggregate files and the catalog, has a lock of its own."""
        return self._store_lock().shared()

    def _store_lock(self) -> _FileLock:
        self.state.mkdir(parents=True, exist_ok=True)
        return file_lock(self.state / ".lock")

    def date_locked(self, trade_date: str) -> contextlib.AbstractContextManager:
        """Held to rewrite one date's order file and aggregate file (read, replace some securities'
        rows, write), so that two assemblies of keys of one date both land."""
        self.aggregates.mkdir(parents=True, exist_ok=True)
        return file_lock(self.aggregates / f".trade_date={trade_date}.lock")

    def catalog_locked(self) -> contextlib.AbstractContextManager:
        """Held to rewrite the catalog (read, replace some partitions' entries, write)."""
        self.state.mkdir(parents=True, exist_ok=True)
        return file_lock(self.state / ".catalog.lock")

    def source_locked(self, source_key: str) -> contextlib.AbstractContextManager:
        """Held for the whole ingest of one source: two ingests of the same file run one after the other."""
        self.staging.mkdir(parents=True, exist_ok=True)
        return file_lock(self.staging / f"{storage_id(source_key)}.lock")

    # ---- staging of one source file -------------------------------------------------------
    def source_folder(self, source_key: str) -> Path:
        return self.staging / storage_id(source_key)

    def begin_attempt(self, source_key: str) -> Path:
        """A fresh folder for one ingest of a source; leftovers of crashed attempts are removed."""
        folder = self.source_folder(source_key)
        current = getattr(self.manifest(source_key), "attempt", None)
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.is_dir() and entry.name != current:
                    shutil.rmtree(entry, ignore_errors=True)
                elif entry.name.startswith(TEMP_PREFIX):
                    entry.unlink(missing_ok=True)
        attempt = folder / f"attempt-{uuid.uuid4().hex[:12]}"
        attempt.mkdir(parents=True)
        return attempt

    def publish_attempt(self, source_key: str, attempt: Path, manifest: Manifest) -> None:
        """Make an attempt current: quarantine first, then the manifest (the commit point)."""
        with self.locked():
            self._publish_attempt(source_key, attempt, manifest)

    def _publish_attempt(self, source_key: str, attempt: Path, manifest: Manifest) -> None:
        attempt_quarantine = attempt / "quarantine.csv"
        if manifest.rows_rejected:
            atomic_write(self.quarantine_file(source_key), lambda temporary: shutil.copyfile(attempt_quarantine, temporary))
        else:  # nothing rejected: no quarantine file, and none left from an attempt that had rejects
            self.quarantine_file(source_key).unlink(missing_ok=True)
        previous = getattr(self.manifest(source_key), "attempt", None)
        atomic_write_json(self.source_folder(source_key) / "manifest.json", manifest.with_changes(attempt=attempt.name).to_json())
        if previous and previous != attempt.name:
            shutil.rmtree(self.source_folder(source_key) / previous, ignore_errors=True)

    def manifest(self, source_key: str) -> Manifest | None:
        return _read_manifest(self.source_folder(source_key) / "manifest.json")

    def manifests(self) -> list[Manifest]:
        """The current manifest of every ingested source, sorted by source key."""
        if not self.staging.is_dir():
            return []
        paths = [folder / "manifest.json" for folder in self.staging.iterdir()]
        _forget_manifests_except(self.staging, {str(path) for path in paths})
        found = (_read_manifest(path) for path in paths)
        return sorted((manifest for manifest in found if manifest is not None),
                      key=lambda manifest: manifest.source_key)

    def refresh_fingerprint(self, source_key: str, fingerprint: str) -> None:
        """A source rewritten with the same content: its manifest takes the new size and time."""
        manifest = self.manifest(source_key)
        if manifest is not None and manifest.fingerprint != fingerprint:
            atomic_write_json(self.source_folder(source_key) / "manifest.json", manifest.with_changes(fingerprint=fingerprint).to_json())

    @property
    def duplicates_file(self) -> Path:
        return self.state / "duplicates.json"

    def duplicates(self) -> dict[str, dict]:
        """Files in the landing folder whose content is already ingested under another name."""
        if not self.duplicates_file.exists():
            return {}
        return json.loads(self.duplicates_file.read_text())

    def write_duplicates(self, registry: dict[str, dict]) -> None:
        atomic_write_json(self.duplicates_file, registry)

    @property
    def skipped_file(self) -> Path:
        return self.state / "skipped.json"

    def skipped(self) -> dict[str, dict]:
        """What the last look at the landing folder did not read: {"landing": {key: reason}} for
        names, symlinks and archives it skips, {"refused": {key: {"reason", "fingerprint",
        "filter_fingerprint"}}} for files the ingest refused (and what they were refused as)."""
        if not self.skipped_file.exists():
            return {"landing": {}, "refused": {}}
        return json.loads(self.skipped_file.read_text())

    def write_skipped(self, registry: dict[str, dict]) -> None:
        if registry != self.skipped():
            atomic_write_json(self.skipped_file, registry)

    def refused(self) -> dict[str, dict]:
        """The landing folder's files the ingest refused, by key (see `skipped`)."""
        return self.skipped().get("refused", {})

    def skipped_list(self) -> list[dict[str, str]]:
        """Every file of the landing folder not read or not counted, with the reason (summary.json's `skipped`)."""
        registry = self.skipped()
        entries = dict(registry.get("landing", {}))
        entries.update({key: entry["reason"] if isinstance(entry, dict) else entry
                        for key, entry in registry.get("refused", {}).items()})
        entries.update({key: f"a copy of {entry['original']} (the same content and file-name fields): its rows "
                             "are counted once, under the original" for key, entry in self.duplicates().items()})
        return [{"source_file": key, "reason": reason} for key, reason in sorted(entries.items())]

    def inputs_signature(self) -> str:
        """Names what the reports are built from: every current ingest and every assembled partition,
        and what was skipped (the summary names it)."""
        parts = [f"{m.source_key}\x1f{m.attempt}" for m in self.manifests()]
        parts += [f"{entry['source_file']}\x1f{entry['reason']}" for entry in self.skipped_list()]
        catalog = self.catalog_table()
        order = pc.sort_indices(catalog, [("trade_date", "ascending"), ("security_code", "ascending")])
        catalog = catalog.take(order)  # bytewise order of UTF-8 text: the order of Python's sorted keys
        parts += pc.binary_join_element_wise(_key_texts(catalog), catalog["signature"], "\x1f").to_pylist()
        return short_digest(*parts, length=20)

    def retire(self, source_key: str) -> None:
        """Forget a source that left the landing folder: its rows leave every partition."""
        with self.locked():
            shutil.rmtree(self.source_folder(source_key), ignore_errors=True)
            self.quarantine_file(source_key).unlink(missing_ok=True)

    def slice_path(self, manifest: Manifest, slice_file: str) -> Path:
        return self.source_folder(manifest.source_key) / manifest.attempt / slice_file

    # ---- catalog -----------------------------------------------------------------------------
    @property
    def catalog_file(self) -> Path:
        return self.state / "partitions.parquet"

    def catalog(self) -> dict[PartitionKey, dict]:
        """Per assembled partition: the signature of its inputs and its totals."""
        rows = self.catalog_table().to_pylist()
        return {(row["trade_date"], row["security_code"]): row for row in rows}

    def catalog_table(self) -> pa.Table:
        """The catalog as a table, for the passes over every partition (totals, checks) without a
        dict per partition. A catalog of the per-partition layout has LEGACY_SIGNATURE for every
        entry (see CATALOG_LAYOUT), so every partition it lists is pending."""
        if not self.catalog_file.exists():
            return CATALOG_SCHEMA.empty_table()
        table = pq.ParquetFile(self.catalog_file).read()  # not read_table: no dataset discovery for one file
        if (table.schema.metadata or {}).get(CATALOG_LAYOUT_KEY) != CATALOG_LAYOUT:
            signatures = pa.repeat(pa.scalar(LEGACY_SIGNATURE, pa.string()), table.num_rows)
            table = table.set_column(table.schema.get_field_index("signature"), "signature", signatures)
        return table

    def legacy_keys(self) -> set[PartitionKey]:
        """Partitions still in a per-partition file of the earlier layout (see CATALOG_LAYOUT)."""
        table = self.catalog_table()
        legacy = table.filter(pc.equal(table["signature"], LEGACY_SIGNATURE))
        return set(zip(legacy["trade_date"].to_pylist(), legacy["security_code"].to_pylist()))

    def write_catalog(self, entries: dict[PartitionKey, dict]) -> None:
        """Entries' quantities are ints or Decimals; the column takes the most places among them,
        so every quantity is kept exactly (and whole units keep the int64 column)."""
        rows = [entries[key] for key in sorted(entries)]
        decimals = max((decimal_places(row["quantity"]) for row in rows), default=0)
        atomic_write_parquet(self.catalog_file, pa.Table.from_pylist(rows, schema=catalog_schema(decimals)))

    def replace_catalog_entries(self, entries: list[dict]) -> None:
        """The catalog with these partitions' entries replaced (others kept), columnar: a year's
        75,000 entries are filtered and concatenated, not turned into dicts. Hold catalog_locked."""
        new = pa.Table.from_pylist(entries, schema=catalog_schema(
            max((decimal_places(entry["quantity"]) for entry in entries), default=0)))
        current = self.catalog_table()
        replaced = pc.is_in(_key_texts(current), value_set=_key_texts(new).combine_chunks())
        kept = current.filter(pc.invert(replaced))
        decimals = max((schema.quantity_decimals_of(table.schema.field("quantity").type)
                        for table in (kept, new) if table.num_rows), default=0)
        target = catalog_schema(decimals)
        combined = pa.concat_tables([kept.cast(target), new.cast(target)])
        order = pc.sort_indices(combined, [("trade_date", "ascending"), ("security_code", "ascending")])
        atomic_write_parquet(self.catalog_file, combined.take(order).replace_schema_metadata(target.metadata))


def _key_texts(catalog: pa.Table) -> pa.ChunkedArray:
    """'date|security' of each catalog entry."""
    return pc.binary_join_element_wise(catalog["trade_date"], catalog["security_code"], "|")
