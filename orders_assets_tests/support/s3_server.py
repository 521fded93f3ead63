"""A throwaway S3-protocol server for tests: moto's server (`moto[server]`, a test dependency) as its own
process on 127.0.0.1, stopped on exit whatever happened.

The server logs every request it answers (werkzeug's access log); `S3Server.writes` reads that log, so a
test can say which objects a step put or deleted, as the server saw them.
"""
import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from orders_assets_tests.support.loopback import free_port, stop

KEY_ID = "testing"
SECRET = "testing"
START_SECONDS = 20.0
REQUEST_LINE = re.compile(r'"(?P<method>PUT|DELETE|POST) /(?P<path>[^ ?]+)[^ ]* HTTP/[\d.]+" (?P<status>\d+)')
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
"""werkzeug colours some status lines (204, 206) with terminal escapes, even in a file."""


@dataclass(frozen=True)
class S3Server:
    port: int
    log: Path
    host: str = "127.0.0.1"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """How a process reaches the server: fsspec's own FSSPEC_S3_<keyword> variables, nothing of ours."""
        return {"FSSPEC_S3_ENDPOINT_URL": self.endpoint_url, "FSSPEC_S3_KEY": KEY_ID, "FSSPEC_S3_SECRET": SECRET}

    def filesystem(self):
        """An s3fs client given the endpoint explicitly (not through the environment), with no listing cache,
        so every listing is the server's current one."""
        import s3fs

        return s3fs.S3FileSystem(key=KEY_ID, secret=SECRET, endpoint_url=self.endpoint_url,
                                 use_listings_cache=False, skip_instance_cache=True)

    def storage_options(self) -> dict:
        return {"key": KEY_ID, "secret": SECRET, "endpoint_url": self.endpoint_url}

    def log_size(self) -> int:
        """The access log's size once every request answered so far is logged."""
        _wait_until_log_settles(self.log)
        return self.log.stat().st_size

    def writes(self, start: int, end: int) -> list[tuple[str, str]]:
        """(method, bucket/key) of every successful PUT, DELETE or POST logged between two log sizes."""
        with self.log.open("rb") as handle:
            handle.seek(start)
            text = COLOUR.sub("", handle.read(end - start).decode(errors="replace"))
        return [(match["method"], unquote(match["path"])) for match in REQUEST_LINE.finditer(text)
                if match["status"].startswith("2")]


def _wait_until_log_settles(log: Path, quiet_seconds: float = 0.2) -> None:
    """The server logs a request just after answering it: wait until the log stops growing."""
    size = -1
    while size != log.stat().st_size:
        size = log.stat().st_size
        time.sleep(quiet_seconds)


@contextlib.contextmanager
def running_s3_server(folder: Path) -> Iterator[S3Server]:
    """moto's server on a free port of 127.0.0.1, its access log in `folder`."""
    server = S3Server(port=free_port(), log=folder / "moto.log")
    program = Path(sys.executable).parent / "moto_server"
    with server.log.open("wb") as log:
        process = subprocess.Popen([str(program), "-H", server.host, "-p", str(server.port)],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(server, process)
        yield server
    finally:
        stop(process)


def _wait_for_port(server: S3Server, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}: {server.log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((server.host, server.port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on {server.host}:{server.port} within {START_SECONDS:.0f} s "
                       f"(is moto[server] installed? pip install -e '.[test]'): {server.log.read_text()[-2000:]}")
