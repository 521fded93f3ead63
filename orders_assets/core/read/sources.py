"""Order files in a landing folder: which files count, and how a file is identified.

A landing folder is shared with the tools that drop files into it, so the rules are
conservative: hidden files, temporary names and partial downloads are not orders yet, a
symlink that leads out of the folder is never followed, and a symlink to a folder is not walked.
Every file or folder not read is named with the reason (scan_landing's `skipped`).

A zip is a source (its one order file) or several, one per order file it holds, each keyed
`archive.zip!member` (core/read/zips.py).
"""
from __future__ import annotations

import dataclasses
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from orders_assets.core.errors import InputError
from orders_assets.core.read.digests import short_digest
from orders_assets.core.read.zips import ZIP_SUFFIX, is_zip_name, zip_listing

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zst", ".csv.zstd", ".csv.xz", ".csv.bz2")
PARQUET_SUFFIXES = (".parquet", ".pq")
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".inprogress")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".7z", ".rar")
MEMBER_SEPARATOR = "!"
"""Between a zip's key and a member's name in the key of a zip holding several order files."""
ZIP_MEMBER_MARK = ZIP_SUFFIX + MEMBER_SEPARATOR


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
    member: str | None = None
    """The order file read inside the zip at `path` (None: `path` itself, or a zip with none to read)."""

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

    @property
    def location(self) -> Path:
        """Where the rows are, as a message names it: the file, or `archive.zip!member`."""
        return self.path if self.member is None else Path(f"{self.path}{MEMBER_SEPARATOR}{self.member}")


def zip_parts(key: str) -> tuple[str, str] | None:
    """(the zip's key, the member's name) of a zip member's source key; None for a file's own key."""
    at = key.lower().find(ZIP_MEMBER_MARK)
    return None if at < 0 else (key[:at + len(ZIP_SUFFIX)], key[at + len(ZIP_MEMBER_MARK):])


NAME_MAX_BYTES = 255
"""The longest file name, in bytes, of the file systems a data folder lives on (Linux's NAME_MAX)."""
STORAGE_SUFFIXES = (".lock", ".csv")
"""What the store adds to a storage id to name a source's files: its lock and its quarantine
(core/store/order_store.py; the staging folder is the id alone)."""
STEM_CHARACTERS = 80
STORAGE_ID_BYTES = NAME_MAX_BYTES - max(len(suffix.encode()) for suffix in STORAGE_SUFFIXES)
"""The longest storage id whose every derived name fits NAME_MAX_BYTES."""


def storage_id(key: str) -> str:
    """Folder-safe name for a source key: readable stem (the key's last characters) plus a short
    hash of the full key, never longer than STORAGE_ID_BYTES in UTF-8.

    The stem is the key's last STEM_CHARACTERS characters, as data folders made before the bound
    name their staging folders; a key of wide letters (4-byte UTF-8: 62 of them are a legal file
    name) would make that longer than a file name may be, and only then is the stem cut to the
    bytes that fit. A name that fit before is kept as it was: changing it would leave the source's
    staging folder under its old name beside the new one, its rows counted twice."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
    suffix = f"-{short_digest(key, length=10)}"
    return f"{_last_bytes(safe[-STEM_CHARACTERS:], STORAGE_ID_BYTES - len(suffix))}{suffix}"


def _last_bytes(text: str, limit: int) -> str:
    """The longest tail of `text` (whole characters) that is at most `limit` bytes in UTF-8."""
    size = 0
    for start in range(len(text) - 1, -1, -1):
        size += len(text[start].encode())
        if size > limit:
            return text[start + 1:]
    return text


@dataclass(frozen=True)
class SkippedFile:
    """A file or folder of the landing folder that is not read, and why: said in the run's output,
    the ingest's metadata and summary.json, never silently left out. A folder's key ends in '/'."""

    key: str
    reason: str


@dataclass(frozen=True)
class LandingScan:
    sources: list[SourceFile]
    skipped: list[SkippedFile]


def discover_sources(landing: Path | str) -> list[SourceFile]:
    """Every order file under `landing`, sorted by key (scan_landing's sources)."""
    return scan_landing(landing).sources


def scan_landing(landing: Path | str) -> LandingScan:
    """Every order file under `landing`, sorted by key, and every other entry with the reason it is skipped.

    Sub-folders are walked, except hidden ones, symlinks to folders and folders this process cannot
    read, each named in `skipped` with the reason and the fix. Symlinks are accepted only when they
    resolve to a regular file inside the landing folder. A landing folder that cannot be read at
    all is refused (InputError): listing no file would retire every file ingested from it.
    """
    root = Path(landing).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"landing folder {root} does not exist or is not a folder")
    found: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    unreadable: list[OSError] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable.append):
        reasons = {name: _folder_skip_reason(root, Path(folder) / name) for name in subfolders}
        skipped += [SkippedFile(_key(root, Path(folder) / name) + "/", reason)
                    for name, reason in reasons.items() if reason is not None]
        subfolders[:] = sorted(name for name, reason in reasons.items() if reason is None)
        for name in sorted(names):
            path = Path(folder) / name
            reason = name_skip_reason(name) or _key_skip_reason(_key(root, path))
            if reason is None:
                source = _source_file(root, path)
                if isinstance(source, SourceFile):
                    sources, members_skipped = _zip_sources(source) if is_zip_name(name) else ([source], [])
                    found += sources
                    skipped += members_skipped
                    continue
                reason = source
            skipped.append(SkippedFile(_key(root, path), reason))
    skipped += [_unreadable_folder(root, error) for error in unreadable]
    return LandingScan(sorted(found, key=lambda source: source.key), sorted(skipped, key=lambda entry: entry.key))


def _folder_skip_reason(root: Path, path: Path) -> str | None:
    """Why the sub-folder at `path` is not walked (None: it is walked)."""
    if path.name.startswith((".", "_")):
        return "a hidden folder (its name starts with '.' or '_'): not walked"
    if not path.is_symlink():
        return None
    try:
        target = path.resolve()
    except RuntimeError:  # Python 3.11's word for a symlink loop
        return "a symlink loop: not followed"
    if not target.is_relative_to(root):
        return (f"a symlink to a folder outside the landing folder ({target}): not followed; copy its files in, "
                "or make that folder the landing folder")
    where = f"{_key(root, target)}/" if target != root else "the landing folder itself"
    hidden = any(part.startswith((".", "_")) for part in target.relative_to(root).parts)
    return (f"a symlink to {where} of the landing folder: not walked, "
            + ("and the files there are not read either (a hidden folder)" if hidden else
               "its files are read at their own path (reading both would count them twice)"))


def _unreadable_folder(root: Path, error: OSError) -> SkippedFile:
    """A folder the walk could not list; the landing folder itself is refused (scan_landing)."""
    folder = Path(error.filename)
    if folder == root:
        raise InputError(f"landing folder {root} cannot be read ({error.strerror}): {_grant_read(root)}")
    return SkippedFile(_key(root, folder) + "/", f"a folder this process cannot read ({error.strerror}): its files "
                                                 f"are not read; {_grant_read(folder)}")


def _grant_read(folder: Path) -> str:
    """The fix for a folder this process cannot list, naming the user it runs as."""
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a name (containers)
        user = f"uid {os.geteuid()}"
    return f"grant {user} read and execute permission on it (e.g. chmod a+rx '{folder}')"


def name_skip_reason(name: str) -> str | None:
    """Why a file of this name is not read (None: it is an order file by name)."""
    lowered = name.lower()
    if name.startswith((".", "~", "_")):
        return "a hidden or temporary name (it starts with '.', '~' or '_'): read once it is renamed"
    if lowered.endswith(TEMPORARY_SUFFIXES):
        return "a partial download or temporary file: read once it is complete and renamed"
    if lowered.endswith(ARCHIVE_SUFFIXES):
        return ("an archive that is not a zip: not read; extract its files into the landing folder, or recompress "
                "each CSV as .csv.gz, .csv.zst or .zip")
    if not lowered.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES + (ZIP_SUFFIX,)):
        return ("not an order file by name: order files end in "
                f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES + (ZIP_SUFFIX,))}")
    return None


def _key_skip_reason(key: str) -> str | None:
    """A path that would read as a zip member's key (`a.zip!b.csv`) is not read: two sources, one key."""
    if zip_parts(key) is not None:
        return (f"a path holding '{ZIP_MEMBER_MARK}', which names a file inside a zip: not read; rename it "
                f"(or the folder) without '{MEMBER_SEPARATOR}' after '{ZIP_SUFFIX}'")
    return None


def _zip_sources(archive: SourceFile) -> tuple[list[SourceFile], list[SkippedFile]]:
    """The sources of a zip: itself reading its one order file, or one per order file it holds (its
    members not read are skipped, each with the reason). A zip with none to read is one source that
    the ingest refuses with the reason, so the refusal is reported where every refusal is."""
    listing = zip_listing(archive.path)
    skipped = [SkippedFile(f"{archive.key}{MEMBER_SEPARATOR}{member}", reason) for member, reason in listing.skipped]
    if len(listing.members) <= 1:
        return [dataclasses.replace(archive, member=next((member.name for member in listing.members), None))], skipped
    return [dataclasses.replace(archive, key=f"{archive.key}{MEMBER_SEPARATOR}{member.name}", member=member.name,
                                size=member.compressed_bytes)
            for member in listing.members], skipped


def _key(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _source_file(root: Path, path: Path) -> SourceFile | str:
    """The order file at `path`, or why it is not read."""
    try:
        resolved = path.resolve()
    except RuntimeError:  # Python 3.11's word for a symlink loop
        return "not a regular file (a symlink loop)"
    if not resolved.is_relative_to(root):
        return "a symlink that leads out of the landing folder: not followed (copy the file in instead)"
    try:
        if not resolved.is_file():
            return "not a regular file (a broken symlink, a pipe or a device)"
        stat = resolved.stat()
    except OSError as error:  # its folder can be listed but not searched (read without execute permission)
        return f"cannot be read ({error.strerror}): {_grant_read(path.parent)}"
    return SourceFile(key=_key(root, path), path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns)

