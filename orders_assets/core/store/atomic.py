"""Local files written so that a reader never sees half of one: a temporary file in the target folder,
renamed into place. The work area and local outputs are written this way.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orders_assets.core.errors import StoreError

TEMP_PREFIX = ".tmp-"


def temporary_file(folder: Path) -> Path:
    """An empty file with a temporary name in `folder`, with the permissions of a normal new file.

    mkstemp makes it private (0600); outputs are shared with their readers, so the process umask
    decides, as it would for open(). The name carries the writer's process id, so a later run can
    tell the leftovers of a killed process from the files of a live one.
    """
    handle, temporary = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder)
    os.close(handle)
    os.chmod(temporary, 0o666 & ~process_umask())
    return Path(temporary)


@functools.cache
def process_umask() -> int:
    """The umask, read once: reading it means setting it, which must not race with writer threads."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


class OutputWriteError(StoreError, OSError):
    """An output could not be written (a full disk, a read-only folder): the previous file is intact."""


def output_write_error(path: Path, error: OSError) -> OutputWriteError:
    """The OS error of a failed write, naming the output, with its errno (ENOSPC for a full disk) kept."""
    if isinstance(error, OutputWriteError):
        return error
    return OutputWriteError(error.errno, f"cannot write {path}: {error.strerror or error}")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(temporary path) in the target folder, then rename over `path`.

    On failure the temporary file is removed and the target is left as it was; an OS error is
    raised again naming the output.
    """
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_file(path.parent)
        write(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        if isinstance(error, OSError):
            raise output_write_error(path, error) from error
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda temporary: temporary.write_bytes(data))


def json_bytes(document: dict, indent: int | None = 1) -> bytes:
    """A JSON document as every JSON file of the store is written: sorted keys, one-space indent
    (`indent=None`: on one line, for a document too large to indent; Python's encoder indents in
    Python, five times slower than its compact C path)."""
    return (json.dumps(document, indent=indent, sort_keys=True) + "\n").encode()


def atomic_write_json(path: Path, document: dict, indent: int | None = 1) -> None:
    atomic_write_bytes(path, json_bytes(document, indent))


def atomic_write_parquet(path: Path, table: pa.Table) -> None:
    atomic_write(path, lambda temporary: pq.write_table(table, temporary, compression="zstd"))


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
