"""The data folder's disk: whether it can be written at all, and what a full one says.

Two kinds of failure are the disk's, not the input's, and a user can fix both in a minute when
told plainly. A data folder that cannot be written (a file given as --data, a read-only mount)
is found before anything runs. A disk that fills during a run (or a file that reaches the
process's file-size limit, `ulimit -f`) surfaces wherever the next write happens: as the
project's OutputWriteError (ENOSPC, EFBIG, EDQUOT), or from SQLite in the Dagster instance as
"database or disk is full" or, for a write cut short, only "disk I/O error". Whatever its form,
it is said in one line with the free space of the data folder's disk and the fix; the state is
intact (every output is written atomically, SQLite rolls back), so the same command run again
once there is space finishes the work.
"""
from __future__ import annotations

import errno
import os
import resource
import shutil
import tempfile
from pathlib import Path

from orders_assets.core.errors import LIBRARY_REASON_CHARACTERS, StoreError, one_line, shown

DISK_FULL = "the disk is full"
QUOTA_USED = "the disk quota is used up"
FILE_SIZE_LIMIT = "a file reached the file-size limit"
WRITE_FAILED = "a write to the disk failed"
FIXES = {DISK_FULL: "Free space on it", QUOTA_USED: "Free space on it, or have the quota raised",
         FILE_SIZE_LIMIT: "Raise or lift the file-size limit (ulimit -f unlimited)",
         WRITE_FAILED: "Check the disk (and free space if it is nearly full)"}
FULL_ERRNOS = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: QUOTA_USED, errno.EFBIG: FILE_SIZE_LIMIT}
FULL_TEXTS = {os.strerror(number): kind for number, kind in FULL_ERRNOS.items()} | {
    "database or disk is full": DISK_FULL}
"""What an error's text says when only its text is left (an error from a step, from SQLite)."""
SQLITE_WRITE_FAILED = "disk I/O error"
"""SQLite's only words for a write the OS cut short (a file-size limit among others): WRITE_FAILED."""
LOW_SPACE_BYTES = 64 << 20
"""Below this free on the data folder's disk, an unexplained write failure is taken for a full disk."""
WHY_NOT_WRITABLE = {errno.ENOTDIR: ": a part of its path is a file, not a folder",
                    errno.EROFS: ": the disk is mounted read-only"}
"""What an OS error of a data folder that cannot be written means, where its words do not say it."""


class DiskFullError(StoreError):
    """A run stopped because the data folder's disk (or the file-size limit) is full; the message
    has the free space and the fix, and what was written is whole."""


def data_folder_problem(data: Path) -> str | None:
    """Why `data` cannot be the data folder (with the fix), or None. A folder that does not exist
    yet is created, as the run would; then a file is written in it and removed, since neither the
    mode bits (root ignores them) nor access(2) tells of every mount that refuses writes."""
    data = Path(data)
    if data.exists() and not data.is_dir():
        return f"the data folder {data} is a file, not a folder: give --data a folder (it is created if missing)"
    try:
        data.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data, prefix=".write-test-"):
            pass
    except OSError as error:
        return (f"the data folder {data} cannot be written ({error.strerror or one_line(error)}"
                f"{WHY_NOT_WRITABLE.get(error.errno, '')}): give --data a folder on a disk this user can write to")
    return None


def full_disk_cause(error: BaseException) -> tuple[str, str] | None:
    """(what filled up, one of FIXES; the failing error's line) if `error` or an error it was raised
    from is a write the disk or the file-size limit refused, else None. An OSError with its errno
    (the project's OutputWriteError names the file) wins; else the innermost error whose text says
    so (SQLite's own, under SQLAlchemy's wrapper with the statement)."""
    found = None
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in FULL_ERRNOS:
            return FULL_ERRNOS[link.errno], str(link)
        kind = full_disk_kind_of_text(str(link))
        if kind:
            found = kind, f"{type(link).__module__}.{type(link).__qualname__}: {link}"
    return found


def full_disk_kind_of_text(text: str) -> str | None:
    """What filled up, by an error's text alone (FULL_TEXTS, then SQLite's bare "disk I/O error"), or None."""
    for words, kind in FULL_TEXTS.items():
        if words in text:
            return kind
    return WRITE_FAILED if SQLITE_WRITE_FAILED in text else None


def full_disk_in_report(report) -> tuple[str, str] | None:
    """(what filled up, the failing error's line) if an error report (Dagster's serialized error of
    a failed step: message, cls_name, cause, context) or one it chains to is a refused write."""
    while report is not None:
        kind = full_disk_kind_of_text(report.message)
        if kind:
            return kind, report.message.strip()  # Dagster's message starts with the error's class
        report = report.cause or report.context
    return None


def _chain(error: BaseException):
    """The error and those it was raised from or during, each once."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def full_disk_error(data: Path, kind: str, cause: str) -> DiskFullError:
    return DiskFullError(full_disk_message(data, kind, cause))


def full_disk_message(data: Path, kind: str, cause: str) -> str:
    """One line: what filled up, the write that failed, the free space of the data folder's disk
    and the file-size limit when one is set, and the fix."""
    free = free_bytes(data)
    limit = file_size_limit()
    if kind == WRITE_FAILED:  # SQLite does not say why: the disk's state does
        kind = DISK_FULL if free < LOW_SPACE_BYTES else FILE_SIZE_LIMIT if limit is not None else WRITE_FAILED
    limit_text = f"; this process's file-size limit (ulimit -f) is {_size(limit)}" if limit is not None else ""
    return (f"{kind} ({shown(cause.strip(), LIBRARY_REASON_CHARACTERS)}): the data folder's disk has "
            f"{_size(free)} free{limit_text}. {FIXES[kind]} and run the same command again: what was written "
            "is whole, and the run goes on from there")


def free_bytes(data: Path) -> int:
    return shutil.disk_usage(_existing(Path(data))).free


def file_size_limit() -> int | None:
    """The file-size limit of this process in bytes (`ulimit -f`), or None when there is none."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def _existing(path: Path) -> Path:
    """The path or its nearest existing ancestor (the data folder may not exist yet)."""
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _size(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"
