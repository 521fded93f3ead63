"""What the planner keeps between runs about the landing folder's files it does not ingest:
the copies of files already ingested (<data>/state/duplicates.json) and the files skipped or
refused (<data>/state/skipped.json). Frozen here, JSON on disk, each with a version.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from orders_assets.core.store.versions import readable_version

REGISTRY_VERSION = 2
"""1: the registries of releases before these classes (duplicates.json was the bare {key: entry}
map; skipped.json had no version, and a refusal could be its reason alone); 2: a `version` key."""


@dataclass(frozen=True)
class Copy:
    """A file whose content is already ingested under another name: its rows are counted once, there."""

    fingerprint: str
    """The copy as it was found (name, size, time): while it is unchanged it is not read again."""
    original: str

    @property
    def reason(self) -> str:
        return (f"a copy of {self.original} (the same content and file-name fields): its rows are counted "
                "once, under the original")


@dataclass(frozen=True)
class Refusal:
    """A file the ingest refused, and what it was refused as."""

    reason: str
    """The error, naming the file and the fix."""
    fingerprint: str | None = None
    filter_fingerprint: str | None = None
    """The file and the rules it was refused under (None in refusals of releases that did not record them)."""

    @classmethod
    def of(cls, message: str, names: tuple[str, ...], fingerprint: str, filter_fingerprint: str) -> Refusal:
        """The refusal of a file by an error's message, without the file's own name in front (one of
        `names`: its key, its path, a zip member's location): every place that shows a refusal names
        the file beside its reason, so the name is said once."""
        for name in sorted(names, key=len, reverse=True):
            if message.startswith(f"{name}: "):
                message = message[len(name) + 2:]
                break
        return cls(message, fingerprint, filter_fingerprint)

    def unchanged(self, fingerprint: str, filter_fingerprint: str) -> bool:
        """The same file under the same rules: it would be refused again, so it is not retried."""
        return self.fingerprint == fingerprint and self.filter_fingerprint == filter_fingerprint

    @classmethod
    def from_json(cls, entry) -> Refusal:
        return cls(entry) if isinstance(entry, str) else cls(**entry)


@dataclass(frozen=True)
class Duplicates:
    """Copies by key."""

    copies: Mapping[str, Copy] = field(default_factory=dict)
    version: int = REGISTRY_VERSION

    def to_json(self) -> dict:
        return {"version": self.version,
                "copies": {key: {"fingerprint": copy.fingerprint, "original": copy.original}
                           for key, copy in sorted(self.copies.items())}}

    @classmethod
    def from_json(cls, document: Mapping, where: str = "duplicates.json") -> Duplicates:
        if "version" not in document or isinstance(document["version"], Mapping):  # v1: a copy may be named "version"
            copies = document
        else:
            readable_version(document, REGISTRY_VERSION, where, "duplicates registry")
            copies = document.get("copies", {})
        return cls({key: Copy(**entry) for key, entry in copies.items()})


@dataclass(frozen=True)
class Skipped:
    """What the last look at the landing folder did not read: the names, links and archives it
    skips (`landing`: key -> reason), the files the ingest refused (`refused`), and the files that
    left the folder between the plan and their ingest (`gone`: key -> reason, said by the run that
    planned them; not in the summary, which describes the folder as it is, and forgotten by the
    next plan, which no longer sees them)."""

    landing: Mapping[str, str] = field(default_factory=dict)
    refused: Mapping[str, Refusal] = field(default_factory=dict)
    version: int = REGISTRY_VERSION
    gone: Mapping[str, str] = field(default_factory=dict)

    def with_landing(self, landing: Mapping[str, str], present: set[str]) -> Skipped:
        """The scan's skipped entries, and the refusals of files still there."""
        return replace(self, landing=dict(landing), gone={},
                       refused={key: entry for key, entry in self.refused.items() if key in present})

    def with_gone(self, gone: Mapping[str, str]) -> Skipped:
        """Files an ingest found gone: named until the next plan."""
        return replace(self, gone={**self.gone, **gone}, refused={key: entry for key, entry in self.refused.items()
                                                                  if key not in gone})

    def with_refusals(self, attempted: set[str], refused: Mapping[str, Refusal]) -> Skipped:
        """After an ingest of `attempted`: its refusals replace what was known of those files."""
        kept = {key: entry for key, entry in self.refused.items() if key not in attempted}
        return replace(self, refused={**kept, **refused})

    def to_json(self) -> dict:
        return {"version": self.version, "landing": dict(sorted(self.landing.items())),
                "refused": {key: {"reason": entry.reason, "fingerprint": entry.fingerprint,
                                  "filter_fingerprint": entry.filter_fingerprint}
                            for key, entry in sorted(self.refused.items())},
                **({"gone": dict(sorted(self.gone.items()))} if self.gone else {})}

    @classmethod
    def from_json(cls, document: Mapping, where: str = "skipped.json") -> Skipped:
        readable_version(document, REGISTRY_VERSION, where, "skipped registry")
        return cls(dict(document.get("landing", {})),
                   {key: Refusal.from_json(entry) for key, entry in document.get("refused", {}).items()},
                   gone=dict(document.get("gone", {})))
