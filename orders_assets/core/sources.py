"""Order files in a landing folder: which files count, and how a file is identified.

A landing folder is shared with the tools that drop files into it, so the rules are
conservative: hidden files, temporary names and partial downloads are not orders yet, and
a symlink that leads out of the folder is never followed.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zst", ".csv.zstd", ".csv.xz", ".csv.bz2")
PARQUET_SUFFIXES = (".parquet", ".pq")
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".inprogress")


@dataclass(frozen=True)
class SourceFile:
    """One order file in the landing folder.

    `key` is the path relative to the landing folder with '/' separators: stable across
    machines, readable in the UI, and the Dagster partition key of the file.
    """

    key: str
    path: Path
    size: int
    mtime_ns: int

    @property
    def fingerprint(self) -> str:
        """Changes whenever the file is rewritten; equal fingerprints mean nothing new."""
        return f"{self.size}:{self.mtime_ns}"

    @property
    def storage_id(self) -> str:
        """A folder-safe, collision-free name for this file's staged outputs."""
        return storage_id(self.key)

    @property
    def is_parquet(self) -> bool:
        return self.key.lower().endswith(PARQUET_SUFFIXES)


def storage_id(key: str) -> str:
    """Folder-safe name for a source key: readable stem plus a short hash of the full key."""
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)[-80:]
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return f"{stem}-{digest}"


def is_order_file_name(name: str) -> bool:
    """True for a name the pipeline should ingest (by suffix; hidden and temporary names excluded)."""
    lowered = name.lower()
    if name.startswith((".", "~", "_")) or lowered.endswith(TEMPORARY_SUFFIXES):
        return False
    return lowered.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)


def discover_sources(landing: Path | str) -> list[SourceFile]:
    """Every order file under `landing`, sorted by key.

    Sub-folders are walked (hidden ones skipped); symlinks are accepted only when they
    resolve to a regular file inside the landing folder.
    """
    root = Path(landing).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"landing folder {root} does not exist or is not a folder")
    found: list[SourceFile] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "_")))
        for name in sorted(names):
            if not is_order_file_name(name):
                continue
            source = _source_file(root, Path(folder) / name)
            if source is not None:
                found.append(source)
    return sorted(found, key=lambda source: source.key)


def _source_file(root: Path, path: Path) -> SourceFile | None:
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    stat = resolved.stat()
    key = path.relative_to(root).as_posix()
    return SourceFile(key=key, path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def folders_problem(landing: Path | str, data: Path | str) -> str | None:
    """Why this landing and data folder cannot work together, or None.

    A data folder inside the landing folder (or the same folder) would have the next run ingest
    the project's own outputs (reports, quarantine, staged rows) as order files.
    """
    landing_path, data_path = Path(landing).resolve(), Path(data).resolve()
    if data_path == landing_path or landing_path in data_path.parents:
        return (f"the data folder {data} is inside the landing folder {landing}: the next run would read the "
                "project's own outputs as order files; put the data folder beside the landing folder")
    return None
