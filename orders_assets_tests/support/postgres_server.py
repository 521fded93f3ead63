"""A throwaway PostgreSQL server for tests: Debian's server binaries, a cluster in a temporary folder,
listening on 127.0.0.1 only, stopped and removed on exit whatever happened.

initdb and pg_ctl refuse to run as root; as root (CI) the cluster belongs to the `postgres` system user
that Debian's package creates, and those commands run as that user. Clients connect over TCP with a
password (scram-sha-256), the way a production instance is reached.
"""
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orders_assets_tests.support.loopback import free_port

POSTGRES_ROOT = Path("/usr/lib/postgresql")
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres", "createdb")
SERVER_PACKAGE = "postgresql"
SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The server cannot be installed or started here; the message says why and the fix."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where to reach it, and as whom."""

    port: int
    username: str
    password: str
    database: str
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        """postgresql://user@host:port/db, without the password."""
        return f"postgresql://{self.username}@{self.host}:{self.port}/{self.database}"


def server_binaries() -> Path | None:
    """The bin folder of the newest PostgreSQL under /usr/lib/postgresql that has every program needed."""
    versions = sorted((folder for folder in POSTGRES_ROOT.glob("*") if re.fullmatch(r"\d+", folder.name)),
                      key=lambda folder: int(folder.name), reverse=True)
    for version in versions:
        if all((version / "bin" / program).is_file() for program in SERVER_PROGRAMS):
            return version / "bin"
    return None


def install_postgres() -> float:
    """apt-get update and install Debian's `postgresql`, returning the seconds taken."""
    fix = (f"install it first (as root: apt-get update && apt-get install -y --no-install-recommends "
           f"{SERVER_PACKAGE})")
    apt = shutil.which("apt-get")
    if apt is None:
        raise PostgresUnavailable(f"no PostgreSQL server under {POSTGRES_ROOT} and no apt-get to install it: {fix}")
    if os.geteuid() != 0:
        raise PostgresUnavailable(f"no PostgreSQL server under {POSTGRES_ROOT}; installing needs root, this is uid "
                                  f"{os.geteuid()}: {fix}")
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in ([apt, "update"], [apt, "install", "-y", "--no-install-recommends", SERVER_PACKAGE]):
        result = subprocess.run(step, capture_output=True, text=True, env=env, timeout=1200)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(step)} exited with {result.returncode}:\n{result.stderr[-3000:]}")
    if server_binaries() is None:
        raise PostgresUnavailable(f"apt-get installed {SERVER_PACKAGE} but {', '.join(SERVER_PROGRAMS)} are not all "
                                  f"under {POSTGRES_ROOT}/<version>/bin")
    return time.monotonic() - started


@contextlib.contextmanager
def running_postgres(binaries: Path, database: str = "dagster", username: str = "orders",
                     password: str = "orders-test-password") -> Iterator[PostgresServer]:
    """initdb a cluster in a new temporary folder, start it on 127.0.0.1 and a free port with its socket in
    that folder, create `database`; on exit stop the server and remove the folder."""
    as_user = _server_user()
    with tempfile.TemporaryDirectory(prefix="orders-assets-postgres-") as folder:
        root = Path(folder)
        cluster, log, password_file = root / "cluster", root / "server.log", root / "password"
        password_file.write_text(password + "\n")
        if as_user is not None:
            os.chown(root, as_user.pw_uid, as_user.pw_gid)
            os.chown(password_file, as_user.pw_uid, as_user.pw_gid)
        run = _runner(root, as_user)
        run(binaries / "initdb", "-D", cluster, "-U", username, f"--pwfile={password_file}", "--auth-local=trust",
            "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")
        port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
                   f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        try:
            run(binaries / "pg_ctl", "-D", cluster, "-l", log, "-o", options, "-w", "-t", "60", "start",
                log=log)
            server = PostgresServer(port=port, username=username, password=password, database=database)
            run(binaries / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", username, database,
                env={"PGPASSWORD": password}, log=log)
            yield server
        finally:
            _stop(run, binaries, cluster)


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as: `postgres` when this is root (initdb refuses root), else nobody else."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root, and there is no '{SYSTEM_USER}' user to run the server as "
                                  f"(Debian's {SERVER_PACKAGE} package creates it: apt-get install --reinstall "
                                  f"{SERVER_PACKAGE}-common)") from None


def _runner(root: Path, as_user: pwd.struct_passwd | None):
    """A function that runs a server program (as `as_user` when given) and raises with its output on failure."""
    def run(*command, env: dict | None = None, log: Path | None = None) -> None:
        environment = {**os.environ, "LC_ALL": "C", **(env or {})}
        identity = {} if as_user is None else {"user": as_user.pw_uid, "group": as_user.pw_gid, "extra_groups": []}
        result = subprocess.run([str(part) for part in command], cwd=root, env=environment, capture_output=True,
                                text=True, timeout=120, **identity)
        if result.returncode != 0:
            server_log = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise PostgresUnavailable(f"{Path(str(command[0])).name} exited with {result.returncode}:\n"
                                      f"{result.stdout[-2000:]}{result.stderr[-3000:]}\n{server_log}")
    return run


def _stop(run, binaries: Path, cluster: Path) -> None:
    """Stop the server if it runs; kill it when a fast shutdown does not end it."""
    pid_file = cluster / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        run(binaries / "pg_ctl", "-D", cluster, "-m", "fast", "-w", "-t", "60", "stop")
    except (PostgresUnavailable, subprocess.TimeoutExpired):
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), 9)
