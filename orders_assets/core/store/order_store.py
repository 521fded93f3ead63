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
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from orders_assets.core.schema import DEFAULT_SIZE_EDGES
from orders_assets.core.store.overlap_rule import OverlapRule
from orders_assets.core.read.market import MARKET_FILE
from orders_assets.core.read.parse import QUARANTINE_SCHEMA
from orders_assets.core.read.sources import storage_id
from orders_assets.core.store import catalog, date_files, outputs
from orders_assets.core.store.atomic import TEMP_PREFIX, atomic_write, atomic_write_json
from orders_assets.core.store.catalog import CatalogEntry
from orders_assets.core.store.keys import PartitionKey
from orders_assets.core.store.locks import FileLock, file_lock
from orders_assets.core.store.manifest import MANIFEST_INDENT, Manifest
from orders_assets.core.store.manifest_cache import forget_manifests_except, read_manifest
from orders_assets.core.store.outputs import is_local, local_path, output_root
from orders_assets.core.store.quarantine import read_quarantine, reasons_in_file
from orders_assets.core.store.rejected_rule import RejectedRule
from orders_assets.core.store.registry_files import RegistryFiles
from orders_assets.core.store.signature import inputs_signature


class OrderStore(RegistryFiles):
    """Paths and atomic updates of one work area, and the roots of its published outputs."""

    def __init__(self, data_dir: Path | str, output_url: str | None = None, overlap: OverlapRule | None = None,
                 size_edges: tuple[int, ...] = DEFAULT_SIZE_EDGES, rejected_rule: RejectedRule | None = None,
                 declared_reports: tuple = ()):
        self.root = Path(data_dir)
        self.output_root = output_root(self.root, output_url)
        """Where partition files and reports are published: a local folder or a URL (s3://, gs://)."""
        self.overlap = overlap or OverlapRule()
        """Which current files' rows a partition holds when several bring rows to it (core/assemble/overlap.py)."""
        self.size_edges = tuple(size_edges)
        """The order-value edges the aggregates are bucketed by (core/assemble/aggregate_files.py)."""
        self.rejected_rule = rejected_rule or RejectedRule()
        """From which share of rejected rows a file is named loudly (core/store/rejected_rule.py)."""
        self.declared_reports = tuple(declared_reports)
        """The reports declared in the config file (core/report/declared.py): built with the others."""

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
        """A source's rejected rows, exact (none when its quarantine file is absent)."""
        path = self.quarantine_file(source_key)
        return read_quarantine(path) if path.exists() else QUARANTINE_SCHEMA.empty_table()

    def quarantine_reasons(self, source_key: str) -> dict[str, int]:
        """A source's quarantined rows counted by reason ({} when it has no quarantine), read as a
        stream of its reason column: O(rejected rows), for the check."""
        path = self.quarantine_file(source_key)
        return reasons_in_file(path) if path.exists() else {}

    def rejections_by_reason(self, manifest: Manifest) -> dict[str, int]:
        """A source's rejected rows counted by reason: its manifest's count, or for a manifest
        written before the ingest counted them, its quarantine's."""
        if manifest.rejections_by_reason is not None:
            return dict(manifest.rejections_by_reason)
        return self.quarantine_reasons(manifest.source_key) if manifest.rows_rejected else {}

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

    def written_folders(self) -> list[Path]:
        """The local folders the runs write their own files into (the outputs' when they are local)."""
        folders = [self.staging, self.quarantine, self.aggregates, self.state]
        if is_local(self.output_root):
            folders += [local_path(self.orders), local_path(self.reports)]
        return folders

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

    def _store_lock(self) -> FileLock:
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

    def abandon_attempt(self, source_key: str, attempt: Path) -> None:
        """Remove an attempt that did not finish (its file refused, or gone), and the source's folder
        when nothing else is in it (a file never ingested leaves no staging folder behind)."""
        shutil.rmtree(attempt, ignore_errors=True)
        with contextlib.suppress(OSError):  # not empty: a current manifest, or another attempt's folder
            self.source_folder(source_key).rmdir()

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
        self._write_manifest(source_key, manifest.with_changes(attempt=attempt.name))
        if previous and previous != attempt.name:
            shutil.rmtree(self.source_folder(source_key) / previous, ignore_errors=True)

    def _write_manifest(self, source_key: str, manifest: Manifest) -> None:
        """The source's current manifest, replaced atomically (on one line: MANIFEST_INDENT)."""
        atomic_write_json(self.source_folder(source_key) / "manifest.json", manifest.to_json(),
                          indent=MANIFEST_INDENT)

    def drop_attempts_except(self, source_key: str, attempt_name: str) -> None:
        """Remove a source's attempt folders other than `attempt_name` (a cut's pieces left by a crash)."""
        for entry in self.source_folder(source_key).iterdir():
            if entry.is_dir() and entry.name != attempt_name:
                shutil.rmtree(entry, ignore_errors=True)

    def manifest(self, source_key: str) -> Manifest | None:
        return read_manifest(self.source_folder(source_key) / "manifest.json")

    def manifests(self) -> list[Manifest]:
        """The current manifest of every ingested source, sorted by source key."""
        if not self.staging.is_dir():
            return []
        paths = [folder / "manifest.json" for folder in self.staging.iterdir()]
        forget_manifests_except(self.staging, {str(path) for path in paths})
        found = (read_manifest(path) for path in paths)
        return sorted((manifest for manifest in found if manifest is not None),
                      key=lambda manifest: manifest.source_key)

    def refresh_fingerprint(self, source_key: str, fingerprint: str) -> None:
        """A source rewritten with the same content: its manifest takes the new size and time."""
        manifest = self.manifest(source_key)
        if manifest is not None and manifest.fingerprint != fingerprint:
            self._write_manifest(source_key, manifest.with_changes(fingerprint=fingerprint))

    def inputs_signature(self, manifests: list[Manifest] | None = None, catalog_table: pa.Table | None = None) -> str:
        """Names what the reports are built from (core/store/signature.py); `manifests` and
        `catalog_table`: the store as a snapshot saw it, by default as it is now."""
        return inputs_signature(self, self.manifests() if manifests is None else manifests,
                                self.catalog_table() if catalog_table is None else catalog_table)

    def retire(self, source_key: str) -> None:
        """Forget a source that left the landing folder: its rows leave every partition."""
        with self.locked():
            shutil.rmtree(self.source_folder(source_key), ignore_errors=True)
            self.quarantine_file(source_key).unlink(missing_ok=True)

    def slice_path(self, manifest: Manifest, slice_file: str) -> Path:
        return self.source_folder(manifest.source_key) / manifest.attempt / slice_file

    def market_totals(self, manifest: Manifest) -> pa.Table | None:
        """The file's market totals (core/read/market.py), None when its ingest did not keep them."""
        if not manifest.market_totals:
            return None
        return pq.read_table(self.slice_path(manifest, MARKET_FILE))

    @property
    def catalog_file(self) -> Path:
        return self.state / "partitions.parquet"

    def catalog(self) -> dict[PartitionKey, CatalogEntry]:
        """Per assembled partition: the signature of its inputs and its totals."""
        return catalog.entries(self.catalog_table())

    def catalog_table(self) -> pa.Table:
        """The catalog as a table, for the passes over every partition (totals, checks) without an
        object per partition."""
        return catalog.read_table(self.catalog_file)

    def legacy_keys(self) -> set[PartitionKey]:
        """Partitions still in a per-partition file of the earlier layout (catalog.CATALOG_LAYOUT)."""
        return catalog.legacy_keys(self.catalog_table())

    def replace_catalog_entries(self, entries: list[CatalogEntry]) -> None:
        """The catalog with these partitions' entries replaced (others kept). Hold catalog_locked."""
        catalog.replace_entries(self.catalog_file, entries)


