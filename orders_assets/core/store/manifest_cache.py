"""Manifests parsed once per version of the file, shared by the readers of one process.

A year's manifest is megabytes of JSON (an entry per partition) and a step reads it several times
(plan, contributions, signatures, checks, summary). A manifest is only ever replaced by a rename
(atomic_write_json), so a new version is a new inode: the parse is kept per path with the file's
(inode, size, mtime) and reused while they are unchanged. Callers must not mutate what they get.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from orders_assets.core.store.manifest import Manifest

_PARSED_MANIFESTS: dict[str, tuple[tuple, Manifest]] = {}
_PARSED_MANIFESTS_GUARD = threading.Lock()


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at `path` as parsed, or None when there is none."""
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # no manifest, or a lock file beside the folders
        with _PARSED_MANIFESTS_GUARD:
            _PARSED_MANIFESTS.pop(str(path), None)
        return None
    identity = (status.st_ino, status.st_size, status.st_mtime_ns)
    with _PARSED_MANIFESTS_GUARD:
        cached = _PARSED_MANIFESTS.get(str(path))
    if cached is not None and cached[0] == identity:
        return cached[1]
    manifest = Manifest.from_json(json.loads(path.read_text()), where=str(path))
    with _PARSED_MANIFESTS_GUARD:
        _PARSED_MANIFESTS[str(path)] = (identity, manifest)
    return manifest


def forget_manifests_except(staging: Path, present: set[str]) -> None:
    """Drop the parses of manifests under `staging` whose source was retired, so the cache holds
    only current sources."""
    prefix = str(staging) + os.sep
    with _PARSED_MANIFESTS_GUARD:
        for path in [path for path in _PARSED_MANIFESTS if path.startswith(prefix) and path not in present]:
            del _PARSED_MANIFESTS[path]
