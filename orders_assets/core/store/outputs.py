"""The published outputs (partition files, reports) at a URL: a local folder or any fsspec filesystem.

    <output>/orders/trade_date=D/orders.parquet           one file per date (core/store/date_files.py)
    <output>/reports/...                                  report files, plots, index.html, summary.json

The output root is `output_url` as a `upath.UPath`, or the data folder when none is given. Every
write, read, existence test and removal of an output goes through this module, so the callers
hold one kind of path whatever the storage:

- a local path (plain, or a file:// URL) keeps the work area's writer: a temporary file in the
  target folder renamed into place, so the bytes are those of `store.atomic_write` and a reader
  never sees half a file;
- any other filesystem (s3://, gs://, memory://) gets the whole object in one `pipe_file` call.
  An object store has no rename and needs none: an upload becomes visible only once complete (a
  PUT, or the completion of a multipart upload), so a reader sees the old object or the new one.

Credentials and endpoints are fsspec's own configuration; this project has no plumbing of its
own. fsspec 2026.9.0 (fsspec/config.py) reads, once when fsspec is imported, the environment
variables FSSPEC_<PROTOCOL>_<KWARG> (FSSPEC_S3_ENDPOINT_URL, FSSPEC_S3_KEY, FSSPEC_S3_SECRET: the
keyword is lower-cased, and a value that parses as JSON is decoded, so a key of digits only
becomes a number) and FSSPEC_<PROTOCOL> (a JSON object of keywords), then the .ini and .json files
of FSSPEC_CONFIG_DIR (default ~/.config/fsspec); `apply_config` gives them as default keywords to
every filesystem of that protocol that is made, which is how UPath makes its filesystem. Without
them s3fs falls back to botocore's chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_ENDPOINT_URL, ~/.aws, instance roles) and gcsfs to Google's default credentials.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import BinaryIO
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from orders_assets.core.errors import InputError, one_line
from orders_assets.core.store.atomic import atomic_write, atomic_write_bytes, json_bytes, output_write_error

OutputPath = UPath | Path
"""An output's location: a UPath under the output root, or a plain local Path (tests, tools)."""
Writer = Callable[[Path | pa.NativeFile], None]
"""Writes one output to what it is given: a local temporary file, or an in-memory stream."""

LOCAL_PROTOCOLS = ("", "file", "local")
EXTRAS = {"s3": "install the s3 extra: pip install 'orders_assets[s3]' (s3fs), or leave output_url empty to "
                "publish into the data folder"}
"""The fix for a URL whose filesystem package is missing, by scheme: the project's extra where it has one."""
OTHER_URLS = ("give a folder, file://, s3://bucket/prefix or another fsspec URL whose package is installed "
              "(gs:// needs gcsfs), or leave output_url empty to publish into the data folder")


class OutputUrlError(InputError):
    """An output_url whose filesystem is unknown or whose package is not installed."""


def output_root(data_dir: Path | str, output_url: str | None = None) -> UPath:
    """The root of the outputs: `output_url`, or the data folder when it is empty.

    A file:// URL becomes the plain local path it names, so that local outputs are one kind of
    path (a pathlib.Path too) and take the atomic rename."""
    if not output_url:
        return UPath(data_dir)
    try:
        root = UPath(output_url)
        if root.protocol not in LOCAL_PROTOCOLS:
            fsspec.get_filesystem_class(root.protocol)  # imports the filesystem's package, which may be missing
    except (ImportError, ValueError) as error:
        raise OutputUrlError(f"output_url {output_url!r} cannot be used: {one_line(error)}; "
                             f"{EXTRAS.get(output_url.split(':', 1)[0], OTHER_URLS)}") from None
    return UPath(root.path) if root.protocol in LOCAL_PROTOCOLS else root


def is_local(path: OutputPath) -> bool:
    return isinstance(path, Path) or path.protocol in LOCAL_PROTOCOLS


def local_path(path: OutputPath) -> Path:
    return path if isinstance(path, Path) else Path(path.path)


def write_output(path: OutputPath, write: Writer) -> None:
    """Write one output with `write`: locally to a temporary file renamed over `path`, remotely
    into memory and then put as one object. Raises OutputWriteError naming the output."""
    if is_local(path):
        atomic_write(local_path(path), write)
        return
    sink = pa.BufferOutputStream()
    write(sink)
    _put(path, sink.getvalue().to_pybytes())


def write_bytes(path: OutputPath, data: bytes) -> None:
    if is_local(path):
        atomic_write_bytes(local_path(path), data)
    else:
        _put(path, data)


def write_json(path: OutputPath, document: dict) -> None:
    write_bytes(path, json_bytes(document))


def write_parquet(path: OutputPath, table: pa.Table, compression: str = "zstd", **options) -> None:
    write_output(path, lambda target: pq.write_table(table, target, compression=compression, **options))


def _put(path: UPath, data: bytes) -> None:
    """One upload of the whole object. No folders are made: object stores have none."""
    try:
        path.fs.pipe_file(path.path, data)
    except OSError as error:
        raise output_write_error(path, error) from error


def exists(path: OutputPath) -> bool:
    return local_path(path).exists() if is_local(path) else path.fs.exists(path.path)


def read_bytes(path: OutputPath) -> bytes:
    return local_path(path).read_bytes() if is_local(path) else path.fs.cat_file(path.path)


def read_text(path: OutputPath) -> str:
    return read_bytes(path).decode()


def read_table(path: OutputPath) -> pa.Table:
    """One Parquet file (ParquetFile, not read_table: no dataset discovery for a single file)."""
    if is_local(path):
        return pq.ParquetFile(local_path(path)).read()
    with path.fs.open(path.path, "rb") as handle:
        return pq.ParquetFile(handle).read()


@contextlib.contextmanager
def open_input(path: OutputPath) -> Iterator[str | BinaryIO]:
    """What pyarrow's readers open: a local file's path, or a remote object's file handle (ranged reads)."""
    if is_local(path):
        yield str(local_path(path))
        return
    with path.fs.open(path.path, "rb") as handle:
        yield handle


def read_metadata(path: OutputPath) -> pq.FileMetaData:
    """The Parquet footer only: remotely a few ranged reads, not the whole object."""
    if is_local(path):
        return pq.read_metadata(local_path(path))
    with path.fs.open(path.path, "rb") as handle:
        return pq.read_metadata(handle)


def remove(path: OutputPath) -> None:
    """Delete an output if it is there (a stale partition file); a missing one is no error."""
    if is_local(path):
        local_path(path).unlink(missing_ok=True)
        return
    try:
        path.fs.rm_file(path.path)
    except FileNotFoundError:
        pass


def matching(folder: OutputPath, pattern: str) -> list[OutputPath]:
    """The outputs in `folder` whose names match `pattern` (a glob), sorted; none if it is absent."""
    return sorted(folder.glob(pattern)) if exists(folder) else []


def display(path: OutputPath) -> str:
    """What the UI shows as an output's location: the local path, or the object's URL."""
    return str(local_path(path)) if is_local(path) else str(path)


def browser_url(path: OutputPath) -> str:
    """A link to an output: file:// for a local file, the object's URL (s3://, gs://) otherwise."""
    return local_path(path).resolve().as_uri() if is_local(path) else str(path)
