"""A write the disk refused is recognised in every form it reaches the command in, and said with the
data folder's free space and the fix (core/store/disk.py); a data folder that cannot be written is
found before anything runs. The whole command under a real file-size limit: cli/test_environment_errors."""
import errno
import os
import re
import shutil
import sqlite3
from collections import namedtuple

import pytest

from orders_assets.core.store.atomic import OutputWriteError, atomic_write, atomic_write_bytes
from orders_assets.core.store.disk import (
    DISK_FULL,
    FILE_SIZE_LIMIT,
    QUOTA_USED,
    WRITE_FAILED,
    data_folder_problem,
    full_disk_cause,
    full_disk_in_report,
    full_disk_message,
)

Report = namedtuple("Report", "message cls_name cause context")
"""The shape of Dagster's serialized error of a failed step, as the event log holds it."""


def refused_write(tmp_path, number: int) -> OutputWriteError:
    """The project's own error for a write the OS refused with `number`, as atomic_write raises it."""
    def refuse(_temporary):
        raise OSError(number, os.strerror(number))
    with pytest.raises(OutputWriteError) as raised:
        atomic_write(tmp_path / "out.parquet", refuse)
    return raised.value


@pytest.mark.parametrize("number, kind", [(errno.ENOSPC, DISK_FULL), (errno.EDQUOT, QUOTA_USED),
                                          (errno.EFBIG, FILE_SIZE_LIMIT)])
def test_an_output_write_refused_by_the_disk_is_recognised_by_its_errno(tmp_path, number, kind):
    error = refused_write(tmp_path, number)
    assert full_disk_cause(error) == (kind, f"[Errno {number}] cannot write {tmp_path / 'out.parquet'}: "
                                            f"{os.strerror(number)}")


def test_sqlites_errors_are_recognised_through_the_wrapper_that_raised_them():
    class WrapperError(Exception):
        """As SQLAlchemy's OperationalError: its text has the statement, its cause is SQLite's error."""

    for text, kind in (("database or disk is full", DISK_FULL), ("disk I/O error", WRITE_FAILED)):
        try:
            try:
                raise sqlite3.OperationalError(text)
            except sqlite3.OperationalError as cause:
                raise WrapperError(f"(sqlite3.OperationalError) {text}\n[SQL: INSERT ...]") from cause
        except WrapperError as error:
            assert full_disk_cause(error) == (kind, f"sqlite3.OperationalError: {text}")


def test_other_errors_are_not_taken_for_a_full_disk(tmp_path):
    assert full_disk_cause(refused_write(tmp_path, errno.EACCES)) is None
    assert full_disk_cause(ValueError("no space in the name")) is None


def test_a_failed_steps_report_is_recognised_through_dagsters_wrapper():
    written = Report("orders_assets.core.store.atomic.OutputWriteError: [Errno 28] cannot write x: No space left on "
                     "device\n", "OutputWriteError", None, None)
    wrapper = Report('dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "a":\n',
                     "DagsterExecutionStepExecutionError", written, None)
    assert full_disk_in_report(wrapper) == (DISK_FULL, written.message.strip())
    assert full_disk_in_report(Report("ValueError: x", "ValueError", None, None)) is None


UNITS = {"GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10, "bytes": 1}


def test_the_message_has_the_free_space_of_the_data_folders_disk_and_the_fix(tmp_path):
    message = full_disk_message(tmp_path / "data", DISK_FULL, "[Errno 28] cannot write x: No space left on device\n")
    free = shutil.disk_usage(tmp_path).free
    assert message.startswith("the disk is full ([Errno 28] cannot write x: No space left on device): the data "
                              "folder's disk has ")
    figure, unit = re.search(r"disk has ([0-9.]+) (GiB|MiB|KiB|bytes) free", message).groups()
    assert float(figure) * UNITS[unit] == pytest.approx(free, rel=0.01, abs=64 << 20)  # other writers move it
    assert message.endswith("Free space on it and run the same command again: what was written is whole, and the "
                            "run goes on from there")
    assert "\n" not in message


def test_a_bare_disk_io_error_with_space_to_spare_and_no_limit_asks_to_check_the_disk(tmp_path):
    import resource

    if resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY:
        pytest.skip("this process runs under a file-size limit")
    if shutil.disk_usage(tmp_path).free < 1 << 30:
        pytest.skip("the temporary folder's disk is nearly full")
    message = full_disk_message(tmp_path, WRITE_FAILED, "sqlite3.OperationalError: disk I/O error")
    assert message.startswith("a write to the disk failed (sqlite3.OperationalError: disk I/O error)")
    assert "Check the disk (and free space if it is nearly full) and run the same command again" in message


def test_a_data_folder_that_is_a_file_or_under_one_is_refused_with_the_fix(tmp_path):
    afile = tmp_path / "data"
    atomic_write_bytes(afile, b"x")
    assert data_folder_problem(afile) == (f"the data folder {afile} is a file, not a folder: give --data a folder "
                                          "(it is created if missing)")
    assert data_folder_problem(afile / "sub") == (
        f"the data folder {afile / 'sub'} cannot be written (Not a directory: a part of its path is a file, not a "
        "folder): give --data a folder on a disk this user can write to")


def test_a_writable_data_folder_is_created_and_left_empty(tmp_path):
    data = tmp_path / "new" / "data"
    assert data_folder_problem(data) is None
    assert data.is_dir() and not list(data.iterdir())
