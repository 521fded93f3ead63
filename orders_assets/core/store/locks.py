"""Locks between the runs that share a work area: flock on a file, shared by the threads of one
process (a second descriptor of the same process would deadlock with the first)."""
from __future__ import annotations

import contextlib
import fcntl
import threading
from pathlib import Path


class FileLock:
    """A flock shared by the threads of this process: the first entry takes it, the last exit releases
    it. Entered with `with`, it is exclusive; `shared()` takes it shared, with other processes' shared
    holders, excluding exclusive ones."""

    def __init__(self, path: Path):
        self.path = path
        self.guard = threading.RLock()
        self.depth = 0
        self.handle = None
        self.held_shared = False

    def __enter__(self) -> None:
        self._acquire(fcntl.LOCK_EX)

    def __exit__(self, *exc_info) -> None:
        self._release()

    @contextlib.contextmanager
    def shared(self):
        self._acquire(fcntl.LOCK_SH)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, operation: int) -> None:
        self.guard.acquire()
        if self.depth == 0:
            self.handle = open(self.path, "w")
            fcntl.flock(self.handle, operation)
            self.held_shared = operation == fcntl.LOCK_SH
        elif operation == fcntl.LOCK_EX and self.held_shared:
            self.guard.release()
            raise RuntimeError(f"{self.path}: an exclusive lock asked for under a shared one (two processes "
                               "doing so would deadlock)")
        self.depth += 1

    def _release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
        self.guard.release()


_FILE_LOCKS: dict[Path, FileLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def file_lock(path: Path) -> FileLock:
    """The process's one lock on `path`."""
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(path.resolve(), FileLock(path.resolve()))
