"""What `orders-assets run` says when the machine, not the input, is wrong (issue 41, item 13): a data
folder that is a file or on a read-only mount, a Dask scheduler or an s3:// output without its
packages, and a disk that fills during a run. Each is one line naming what and the fix, with exit
status 2 (1 where a run did fail), never a traceback; after a full disk the same command, run again
with space, gives the outputs of a clean run."""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders
from orders_assets_tests.dagster.test_crash import outputs

BIN = Path(sys.executable).parent
SQLITE_SUFFIX = ".db"


def command(landing: Path, data: Path, *extra: str) -> list[str]:
    return [str(BIN / "orders-assets"), "run", "--landing", str(landing), "--data", str(data), *extra]


def environment(**extra: str) -> dict[str, str]:
    return {**{key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}, **extra}


def one_error_line(stderr: str) -> str:
    """The stderr of a command that stopped on a said error: that line alone, no traceback."""
    assert "Traceback" not in stderr and "Stack Trace" not in stderr, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), stderr[-3000:]
    return lines[-1]


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small") / "landing"
    generate_orders(folder / "orders.csv", rows=2_000, days=2, securities=3, seed=41)
    return folder


def test_a_file_given_as_the_data_folder_is_refused_in_one_line(landing, tmp_path, capfd):
    data = tmp_path / "data"
    data.write_text("not a folder")
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 2
    assert capfd.readouterr().err == (f"error: the data folder {data} is a file, not a folder: give --data a folder "
                                      "(it is created if missing)\n")


def read_only_mounts_allowed() -> str | None:
    """Why a read-only mount cannot be made here (None when it can): the test mounts a read-only tmpfs
    in a mount namespace of its own, which needs the right to create one (root in a VM or a
    privileged container)."""
    if shutil.which("unshare") is None:
        return "no unshare(1) on this machine"
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt"], capture_output=True,
                           text=True)
    return None if probe.returncode == 0 else f"no mount namespace can be made here: {probe.stderr.strip()}"


def test_a_data_folder_on_a_read_only_mount_is_refused_in_one_line(landing, tmp_path):
    """A real read-only file system (EROFS): root ignores file modes, so chmod would prove nothing."""
    reason = read_only_mounts_allowed()
    if reason:
        pytest.skip(reason)
    mount_point = tmp_path / "read-only"
    mount_point.mkdir()
    script = 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"'
    refused = subprocess.run(["unshare", "--mount", "sh", "-c", script, str(mount_point),
                              *command(landing, mount_point / "data")],
                             capture_output=True, text=True, env=environment(), timeout=300)
    assert refused.returncode == 2
    assert one_error_line(refused.stderr) == (
        f"error: the data folder {mount_point / 'data'} cannot be written (Read-only file system: the disk is "
        "mounted read-only): give --data a folder on a disk this user can write to")


def test_a_data_folder_where_the_kernel_refuses_folders_is_refused_in_one_line(landing, capfd):
    """sysfs refuses new folders even to root: a refusal that needs no mount rights."""
    data = Path("/sys/orders-assets-data")
    if not Path("/sys/kernel").is_dir() or data.exists():
        pytest.skip("no sysfs mounted at /sys")
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 2
    assert capfd.readouterr().err == (f"error: the data folder {data} cannot be written (Operation not permitted): "
                                      "give --data a folder on a disk this user can write to\n")


@pytest.fixture()
def missing_packages(tmp_path) -> Path:
    """A folder to put first on PYTHONPATH in which dask, distributed, dagster_dask and s3fs fail to
    import as an absent package does: a real ImportError wherever they are imported."""
    folder = tmp_path / "missing"
    for name in ("dask", "distributed", "dagster_dask", "s3fs"):
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{name}'\", "
                                                   f"name={name!r})\n")
    return folder


@pytest.mark.parametrize("given_by", ["--dask", "environment"])
def test_a_dask_scheduler_without_the_dask_packages_is_refused_in_one_line(landing, tmp_path, missing_packages,
                                                                           given_by):
    address = "tcp://127.0.0.1:1"
    extra = ("--dask", address) if given_by == "--dask" else ()
    variables = {"PYTHONPATH": str(missing_packages)}
    if given_by == "environment":
        variables["ORDERS_ASSETS_DASK_SCHEDULER"] = address
    refused = subprocess.run(command(landing, tmp_path / "data", *extra), capture_output=True, text=True,
                             env=environment(**variables), timeout=300)
    assert refused.returncode == 2
    given = f"--dask {address}" if given_by == "--dask" else f"ORDERS_ASSETS_DASK_SCHEDULER={address}"
    assert one_error_line(refused.stderr) == (
        f"error: {given}: the steps cannot be sent to Dask, its packages are not installed here (No module named "
        "'dagster_dask'): pip install 'orders_assets[dask]' (dagster-dask and distributed), or run without a "
        "scheduler to work on this machine")
    assert not (tmp_path / "data" / "staging").exists()  # refused before any work


def test_an_s3_output_without_s3fs_is_refused_in_one_line(landing, tmp_path, missing_packages):
    config = tmp_path / "config.yaml"
    config.write_text("output_url: s3://bucket/orders\n")
    refused = subprocess.run(command(landing, tmp_path / "data", "--config", str(config)), capture_output=True,
                             text=True, env=environment(PYTHONPATH=str(missing_packages)), timeout=300)
    assert refused.returncode == 2
    assert one_error_line(refused.stderr) == (
        "error: output_url 's3://bucket/orders' cannot be used: Install s3fs to access S3; install the s3 extra: "
        "pip install 'orders_assets[s3]' (s3fs), or leave output_url empty to publish into the data folder")


def under_file_size_limit(limit: int):
    """A child's setup: writes past `limit` bytes fail with EFBIG (SIGXFSZ ignored, so the process
    lives to say so), as they do on a full disk with ENOSPC."""
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limited


def file_sizes(data: Path) -> dict[str, int]:
    return {str(path.relative_to(data)): path.stat().st_size for path in data.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory, landing) -> dict[str, tuple[Path, Path]]:
    """kind of landing -> (landing folder, data folder of its clean run): small (SQLite's files are the
    largest it writes) and big (a staged slice file is far larger than SQLite's)."""
    big = tmp_path_factory.mktemp("big") / "landing"
    generate_orders(big / "orders.csv", rows=200_000, days=3, securities=5, seed=42)
    runs = {}
    for kind, folder in (("small", landing), ("big", big)):
        data = folder.parent / "clean"
        done = subprocess.run(command(folder, data), capture_output=True, text=True, env=environment(), timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[kind] = folder, data
    return runs


def limit_for(case: str, clean: Path) -> int:
    """A file-size limit that the write named by `case` crosses first, from the clean run's files."""
    sizes = file_sizes(clean)
    sqlite = max(size for name, size in sizes.items() if name.endswith(SQLITE_SUFFIX))
    if case == "the instance's creation":
        return 4096
    if case == "the event log, mid-run":
        assert all(size < sqlite // 2 for name, size in sizes.items() if not name.endswith(SQLITE_SUFFIX))
        return sqlite // 2
    staged = max(size for name, size in sizes.items() if name.startswith("staging/") and name.endswith(".arrow"))
    assert sqlite < staged // 2
    return staged // 2


@pytest.mark.slow
@pytest.mark.parametrize("case, landing_kind, failed_write", [
    ("the instance's creation", "small", "sqlite3.OperationalError: disk I/O error"),
    ("the event log, mid-run", "small", "sqlite3.OperationalError: disk I/O error"),
    ("a staged slice file", "big", "OutputWriteError: [Errno 27] cannot write "),
])
def test_a_full_file_size_limit_is_said_in_one_line_and_a_rerun_gives_the_clean_outputs(
        clean_runs, tmp_path, case, landing_kind, failed_write):
    landing_folder, clean = clean_runs[landing_kind]
    limit = limit_for(case, clean)
    data = tmp_path / "data"
    stopped = subprocess.run(command(landing_folder, data), capture_output=True, text=True, env=environment(),
                             preexec_fn=under_file_size_limit(limit), timeout=600)
    assert stopped.returncode == 1
    line = one_error_line(stopped.stderr)
    assert line.startswith("error: a file reached the file-size limit (") and failed_write in line
    assert re.search(r"\): the data folder's disk has [0-9.]+ (GiB|MiB|KiB|bytes) free; ", line), line
    shown_limit = f"{limit / 1024:.1f} KiB" if limit < 1 << 20 else f"{limit / (1 << 20):.1f} MiB"
    assert line.endswith(f"this process's file-size limit (ulimit -f) is {shown_limit}. Raise or lift the "
                         "file-size limit (ulimit -f unlimited) and run the same command again: what was written is "
                         "whole, and the run goes on from there")

    rerun = subprocess.run(command(landing_folder, data), capture_output=True, text=True, env=environment(),
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert outputs(data) == outputs(clean)
