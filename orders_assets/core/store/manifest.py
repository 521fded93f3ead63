"""The manifest of an ingested source file: the typed, versioned contract between ingest and the stages after it.

Ingest writes one per source file as the commit point of its attempt; assembly, the planner, the
summary, the checks and the UI metadata read it. It is JSON on disk (readable with any tool) and
this frozen class in memory, so a field has one name, one type and one default, here.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from orders_assets.core.store.versions import StoreVersionError, readable_version

MANIFEST_VERSION = 8
"""1: the manifests of releases before this class (no `version` key; `layout`, `workers`,
`rows_not_orders`, `stage_seconds`, `renamed_columns` and `content_digest` could be missing);
2: every field present; 3: `pieces`, and the content digest of a content over 128 MiB taken by
segments (identity.SEGMENT_BYTES): a file of a version-2 manifest over that size keeps its plain
SHA-256, so a renamed copy of it is recognised only once it is ingested again (`run --rehash`);
4: the filtered-out rows by the filter's rule (None in earlier manifests: not recorded);
5: the rejected rows by reason (None in earlier manifests: their quarantine is read instead);
6: the rows the compiled pass read (None in earlier manifests: the exact path read them all);
7: the rows of each value the filter names and the values of its columns seen (None in earlier
manifests: not counted), and the rows a layout's rounding changed (0 in earlier manifests);
8: `market_totals`, the valid rows' totals by (trade date, security, order type) kept beside the
staged slices (None in earlier manifests: not kept; market_share names those files).
A manifest of a later version is refused: its meaning is unknown here."""

CANONICAL_LAYOUT = "canonical"
MANIFEST_INDENT = None
"""A manifest is written on one line: a year's file lists some 74,000 partitions' slices, which
Python's encoder took 2.7 s to indent (0.4 s compact). Any JSON tool still reads (and indents) it."""


@dataclass(frozen=True)
class Manifest:
    """What one attempt at a source file produced, and the file it read."""

    source_key: str
    """The file's path under the landing folder: its partition key in the UI."""
    fingerprint: str
    """Name, size, modification time and settings the file was read with (identity.py)."""
    content_digest: str | None
    """Digest of the decompressed content; None in manifests of releases that did not record it."""
    filter_fingerprint: str
    """The filter and layout rules that decided the file's rows: a change re-ingests it."""
    bytes: int
    rows_read: int
    rows_kept: int
    rows_filtered_out: int
    rows_rejected: int
    partitions: Mapping[str, list] = field(default_factory=dict)
    """'date|security' -> the staged slices of that partition's kept rows."""
    rows_not_orders: int = 0
    """Part of rows_filtered_out: rows the file's layout says are not orders."""
    layout: str = CANONICAL_LAYOUT
    renamed_columns: Mapping[str, str] = field(default_factory=dict)
    """The file's own columns renamed because the pipeline adds a column of that name."""
    seconds: float = 0.0
    workers: int = 1
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    pieces: int = 1
    """Byte-range pieces the file was ingested in, each its own step (core/ingest/pieces.py)."""
    rows_filtered_order_type: int | None = None
    rows_filtered_session: int | None = None
    rows_filtered_participant: int | None = None
    """rows_filtered_out less rows_not_orders, by the first rule each row failed (filters.FILTER_RULES);
    None in a manifest written before they were counted."""
    rejections_by_reason: Mapping[str, int] | None = None
    """rows_rejected by reason, counted as the ingest wrote the quarantine, so that building the
    reports reads no quarantine; None in a manifest written before they were counted."""
    rows_read_compiled: int | None = None
    """Of rows_read, those the compiled pass judged (core/read/row_kernel.py); the exact path read the
    others. None in a manifest written before the compiled pass: the exact path read them all."""
    filter_value_rows: Mapping[str, Mapping[str, int]] | None = None
    """The rows of each value the filter names (order types among the valid rows; participants
    among the rows of its order types in its session), 0 for a value no row has."""
    values_seen: Mapping[str, list[str]] | None = None
    """The values of those columns the file holds, most rows first (core/read/values_seen.py).
    Both None in a manifest written before they were counted."""
    rows_rounded: int = 0
    """Of the valid rows, those whose price or quantity the file's layout rounded (its `rounding`);
    0 in a manifest written before layouts could round."""
    market_totals: bool | None = None
    """True when the attempt keeps the market's totals (core/read/market.py, `market.parquet`); None in
    a manifest written before they were kept."""
    attempt: str | None = None
    """The folder of the published attempt (set by the store when it commits the attempt)."""
    version: int = MANIFEST_VERSION

    @property
    def balanced(self) -> bool:
        """Every row read is kept, filtered out or rejected, once."""
        return self.rows_read == self.rows_kept + self.rows_filtered_out + self.rows_rejected

    @property
    def rows_by_path(self) -> tuple[int, int]:
        """(rows the compiled pass read, rows the exact path read): all by the exact path in a
        manifest written before the compiled pass."""
        compiled = self.rows_read_compiled or 0
        return compiled, self.rows_read - compiled

    def with_changes(self, **changes) -> Manifest:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        """Field by field (every value is JSON's already: text, numbers, lists and mappings of them);
        `dataclasses.asdict` deep-copied each staged slice, 3.4 s for a year's 74,000 partitions."""
        return {item.name: _plain(getattr(self, item.name)) for item in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, document: Mapping, where: str = "manifest") -> Manifest:
        """A manifest of this version or an earlier one (its missing fields take their defaults)."""
        readable_version(document, MANIFEST_VERSION, where, "manifest")
        known = {item.name for item in dataclasses.fields(cls)}
        values = {name: value for name, value in document.items() if name in known}
        values["version"] = MANIFEST_VERSION
        values.setdefault("content_digest", None)
        for name in ("layout", "renamed_columns", "workers", "stage_seconds"):
            if values.get(name) is None:
                values.pop(name, None)
        return cls(**values)


def _plain(value):
    """Mappings (nested ones too) as plain dicts, for JSON."""
    return {key: _plain(item) for key, item in value.items()} if isinstance(value, Mapping) else value
