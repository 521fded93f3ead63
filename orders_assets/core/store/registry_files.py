"""The data folder's two registries as files under its state folder: the duplicates (files whose
content is already ingested under another name) and the skipped (what the last look at the landing
folder did not read, and the files the ingest refused), read and written atomically. A part of
OrderStore (its `state` folder)."""
from __future__ import annotations

import json
from pathlib import Path

from orders_assets.core.store.atomic import atomic_write_json
from orders_assets.core.store.registries import Duplicates, Refusal, Skipped


class RegistryFiles:
    """The registries of a store whose `state` is its state folder."""

    state: Path

    @property
    def duplicates_file(self) -> Path:
        return self.state / "duplicates.json"

    def duplicates(self) -> Duplicates:
        """Files in the landing folder whose content is already ingested under another name."""
        return _read(self.duplicates_file, Duplicates)

    def write_duplicates(self, registry: Duplicates) -> None:
        atomic_write_json(self.duplicates_file, registry.to_json())

    @property
    def skipped_file(self) -> Path:
        return self.state / "skipped.json"

    def skipped(self) -> Skipped:
        """What the last look at the landing folder did not read, and the files the ingest refused."""
        return _read(self.skipped_file, Skipped)

    def write_skipped(self, registry: Skipped) -> None:
        if registry != self.skipped():
            atomic_write_json(self.skipped_file, registry.to_json())

    def refused(self) -> dict[str, Refusal]:
        """The landing folder's files the ingest refused, by key."""
        return dict(self.skipped().refused)

    def skipped_list(self) -> list[dict[str, str]]:
        """Every file of the landing folder not read or not counted, with the reason (summary.json's `skipped`)."""
        registry = self.skipped()
        entries = dict(registry.landing)
        entries.update({key: entry.reason for key, entry in registry.refused.items()})
        entries.update({key: copy.reason for key, copy in self.duplicates().copies.items()})
        return [{"source_file": key, "reason": reason} for key, reason in sorted(entries.items())]


def _read(path: Path, registry):
    """A registry from its file; an empty one when there is no file yet."""
    if not path.exists():
        return registry()
    return registry.from_json(json.loads(path.read_text()), where=str(path))
