"""One set of settings at a time per data folder: the lease every run and step takes.

The settings that shape the outputs (the filter, time zone, layouts, quantity decimals, size
edges, overlap rule, output root) are the data folder's, not a run's: two runs under different
settings on one folder, each correct alone, interleave their stages and leave a summary that names
one filter over the partitions of the other. So whatever writes to the folder (`orders-assets
run` for its whole length, each Dagster step, the sensor before it requests runs) holds a shared
lease under its settings' fingerprint. A run under the settings of the runs in flight joins them;
a run under other settings is refused at once, saying what differs and what to do, rather than
made to wait: once the others ended it would rebuild what they had just built, which is seldom
what two configs pointed at one folder meant. With no run in flight, new settings take the folder
over (the next stages rebuild what they change). `state/settings.json` records the settings the
folder is under.

flock on `state/.settings.lease` (held shared by every holder, released by the kernel when a
process dies) tells whether anyone holds it; a short exclusive flock on `state/.settings.mutex`
makes the look and the take one step, so two runs starting together cannot both take over.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from orders_assets.core.errors import InputError
from orders_assets.core.read.digests import short_digest
from orders_assets.core.store.atomic import atomic_write_json

RECORD_NAME = "settings.json"
LEASE_NAME = ".settings.lease"
MUTEX_NAME = ".settings.mutex"


@dataclass(frozen=True)
class FolderSettings:
    """The settings that shape a data folder's outputs, as one JSON document."""

    document: dict

    @property
    def fingerprint(self) -> str:
        return short_digest(json.dumps(self.document, sort_keys=True, default=str), length=20)

    def changes(self, other: dict) -> list[tuple[str, str, object, object]]:
        """(setting, name, theirs, ours) for each setting that differs from `other` (a record's
        document), a section's own settings one by one (name 'filter.order_types')."""
        found = []
        for setting in sorted(set(self.document) | set(other)):
            ours, theirs = self.document.get(setting), other.get(setting)
            if ours == theirs:
                continue
            if isinstance(ours, dict) and isinstance(theirs, dict):
                found += [(setting, f"{setting}.{key}", theirs.get(key), ours.get(key))
                          for key in sorted(set(ours) | set(theirs)) if ours.get(key) != theirs.get(key)]
            else:
                found.append((setting, setting, theirs, ours))
        return found

    def differences(self, other: dict) -> list[str]:
        """'name: theirs -> ours' for each setting that differs from `other` (changes)."""
        return [f"{name}: {theirs!r} -> {ours!r}" for _setting, name, theirs, ours in self.changes(other)]


class SettingsConflict(InputError):
    """A run under other settings than the runs in flight on the same data folder."""


class _ProcessLease:
    """This process's hold on one lease file: taken once, counted for each holder inside."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.holders = 0
        self.handle = None
        self.fingerprint: str | None = None


_LEASES: dict[Path, _ProcessLease] = {}
_LEASES_GUARD = threading.Lock()


def _process_lease(state: Path) -> _ProcessLease:
    with _LEASES_GUARD:
        return _LEASES.setdefault(state.resolve(), _ProcessLease())


@contextlib.contextmanager
def settings_lease(state: Path, settings: FolderSettings):
    """Hold the data folder's lease under `settings` (raises SettingsConflict saying what differs
    from the settings of the runs in flight)."""
    lease = _process_lease(state)
    _acquire(lease, state, settings)
    try:
        yield
    finally:
        _release(lease)


def conflicting_holder(state: Path, settings: FolderSettings) -> str | None:
    """The message a run under `settings` would be refused with now, or None: for the sensor, which
    looks before it requests runs rather than holding the lease between ticks."""
    lease = _process_lease(state)
    with lease.guard:
        if lease.holders:
            return None if lease.fingerprint == settings.fingerprint else _conflict_message(state, settings)
    if not (state / LEASE_NAME).exists():
        return None
    with _mutex(state), open(state / LEASE_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = _record(state)
            if record.get("fingerprint") != settings.fingerprint:
                return _conflict_message(state, settings, record)
        return None


def superseded_since(state: Path, settings: FolderSettings, since_ns: int) -> str | None:
    """Why settings loaded at `since_ns` (a code location's, the sensor's) should not take the data
    folder back: the folder was put under other settings after they loaded (a command with another
    config ran since); None when the folder is under these settings or was recorded before. Without
    this, a UI's sensor would ingest every file again under the settings it started with, and the
    next command under its own, back and forth."""
    record = _record(state)
    if not record or record.get("fingerprint") == settings.fingerprint:
        return None
    try:
        recorded_ns = (state / RECORD_NAME).stat().st_mtime_ns
    except FileNotFoundError:
        return None
    if recorded_ns <= since_ns:
        return None
    differ = "; ".join(settings.differences(record.get("settings") or {})) or "they differ"
    return (f"{state.parent}: the data folder was put under other settings after this code location loaded "
            f"({differ}): nothing is requested under the old ones. Reload the code location (Deployment > "
            "Reload, or restart orders-assets ui) to follow the folder's settings")


def recorded_settings(state: Path) -> dict | None:
    """The settings the data folder was last under (settings.json's document), None before any run."""
    return _record(state).get("settings")


def _acquire(lease: _ProcessLease, state: Path, settings: FolderSettings) -> None:
    with lease.guard:
        if lease.holders:
            if lease.fingerprint != settings.fingerprint:
                raise SettingsConflict(_conflict_message(state, settings))
            lease.holders += 1
            return
        state.mkdir(parents=True, exist_ok=True)
        with _mutex(state):
            handle = open(state / LEASE_NAME, "a+")
            try:
                _take(handle, state, settings)
            except BaseException:
                handle.close()
                raise
        lease.handle, lease.holders, lease.fingerprint = handle, 1, settings.fingerprint


def _take(handle, state: Path, settings: FolderSettings) -> None:
    """Under the mutex: take the folder over when no one holds it, join the holders when they
    share these settings, else refuse."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = True
    except BlockingIOError:
        alone = False
    if alone:
        if _record(state).get("fingerprint") != settings.fingerprint:  # written on a change only: a rerun writes nothing
            atomic_write_json(state / RECORD_NAME, {"fingerprint": settings.fingerprint, "settings": settings.document})
        fcntl.flock(handle, fcntl.LOCK_SH)  # every other taker waits on the mutex meanwhile
        return
    record = _record(state)
    if record.get("fingerprint") != settings.fingerprint:
        raise SettingsConflict(_conflict_message(state, settings, record))
    fcntl.flock(handle, fcntl.LOCK_SH)  # only shared holders: granted at once


def _release(lease: _ProcessLease) -> None:
    with lease.guard:
        lease.holders -= 1
        if lease.holders == 0:
            fcntl.flock(lease.handle, fcntl.LOCK_UN)
            lease.handle.close()
            lease.handle, lease.fingerprint = None, None


@contextlib.contextmanager
def _mutex(state: Path):
    with open(state / MUTEX_NAME, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _record(state: Path) -> dict:
    try:
        return json.loads((state / RECORD_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _conflict_message(state: Path, settings: FolderSettings, record: dict | None = None) -> str:
    record = _record(state) if record is None else record
    differ = settings.differences(record.get("settings") or {})
    folder = state.parent
    return (f"{folder}: another run (a command, the sensor's or the UI's) is working on this data folder under "
            f"other settings ({'; '.join(differ) or 'they differ'}): runs under both would mix them in one set of "
            "outputs. Run again once it has ended (these settings then take the folder over), or give these "
            "settings a data folder of their own")
