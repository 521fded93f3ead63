"""What every throwaway test server needs: a free port on 127.0.0.1, and a sure stop."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen, grace_seconds: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within the grace period."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_group(process: subprocess.Popen, grace_seconds: float = 30) -> None:
    """Stop a server started with start_new_session=True and every process it started (dagster dev
    and dagster-webserver start code servers of their own): SIGTERM to the group, SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
    except ProcessLookupError:
        pass


def group_alive_after(group: int, seconds: float) -> bool:
    """Whether a process of the group is still running (zombies aside) after waiting up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [fields for fields in map(_stat_fields, Path("/proc").glob("[0-9]*/stat"))
                 if fields[2:3] == [str(group)] and fields[0] != "Z"]
        if not alive:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.5)


def _stat_fields(status: Path) -> list[str]:
    """state, ppid, pgrp, ... of /proc/<pid>/stat (the fields after the command's parentheses)."""
    try:
        return status.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []
