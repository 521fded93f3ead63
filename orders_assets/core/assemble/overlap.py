"""Rows that more than one current source file brings to a (date, security): found, counted, and
resolved by the user's rule.

Vendors re-send: a corrected day under a new name, a weekly file over the daily ones, a partial
re-delivery. Each file's own accounting (rows_read = kept + filtered_out + rejected) never changes;
what a rule decides is which kept rows a partition holds:

- `union` (the default): every current file's rows count; rows equal across files are counted
  (`rows_duplicated`) and reported, not removed.
- `latest_per_date`: for each trade date, the rows of the file whose name sorts last (file_order)
  replace every other file's rows of that date; those count as `rows_superseded`.
- `dedup` on columns: a row equal on those columns to a row of an earlier file (by file_order)
  counts once; the later copies count as `rows_deduplicated`.

Across files: the kept rows of all current files = rows in the partitions + rows_superseded +
rows_deduplicated. Everything here works on the manifests' slice index (which file touches which
partition, with how many rows) and on the staged rows assembly reads anyway: sources are never read
again, and a partition with a single contributing file costs nothing.
"""
from __future__ import annotations

import dataclasses
import json

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.read.parse import SOURCE_FILE, SOURCE_LINE
from orders_assets.core.store.overlap_rule import DEDUP, LATEST_PER_DATE, OverlapRule, file_order

RANK = "__file_rank"
ROW = "__row"


def date_winners(touched: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """latest_per_date: per trade date, the file whose rows it keeps (the last in file_order among
    those touching it). `touched` maps each file to the 'date|security' texts it has rows in."""
    winners: dict[str, str] = {}
    for source_key, texts in touched.items():
        for trade_date in {text.partition("|")[0] for text in texts}:
            current = winners.get(trade_date)
            if current is None or file_order(source_key) > file_order(current):
                winners[trade_date] = source_key
    return winners


def signature_parts(rule: OverlapRule, contributors: list[str], superseded: list[str]) -> list[str]:
    """What a partition's signature digests under the rule, from the '<source>\\x1f<attempt>' tags of
    the files whose rows it holds and of those whose rows it supersedes.

    A partition the rule leaves as union makes it (one file, no file superseded) has union's parts,
    so a change of rule re-plans only the partitions it may change."""
    if superseded:
        return [LATEST_PER_DATE, *contributors, *(f"superseded\x1f{tag}" for tag in superseded)]
    if rule.kind == DEDUP and len(contributors) > 1:
        return [rule.text, *contributors]
    return contributors


@dataclass
class PartitionOverlap:
    """What the rule and the detection found in one partition."""

    copies: dict[str, int] = field(default_factory=dict)
    """Per file: its rows equal (on the rule's match columns) to a row of an earlier current file."""
    pairs: list[list] = field(default_factory=list)
    """[earlier file, later file, rows of the later equal to one of the earlier, first line in each]."""
    superseded: dict[str, int] = field(default_factory=dict)
    """Per file whose rows of this date another file replaced: its rows of this partition."""
    deduplicated: dict[str, int] = field(default_factory=dict)
    """Per file: its rows dropped as later copies (dedup)."""

    @property
    def rows_duplicated(self) -> int:
        return sum(self.copies.values())

    @property
    def rows_superseded(self) -> int:
        return sum(self.superseded.values())

    @property
    def rows_deduplicated(self) -> int:
        return sum(self.deduplicated.values())

    @property
    def empty(self) -> bool:
        return not (self.copies or self.superseded or self.deduplicated)

    def to_text(self) -> str:
        """The catalog's `overlap` column: "" for the usual partition, else compact JSON."""
        if self.empty:
            return ""
        return json.dumps({"copies": self.copies, "pairs": self.pairs,
                           "superseded": self.superseded, "deduplicated": self.deduplicated},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str | None) -> PartitionOverlap:
        if not text:
            return cls()
        document = json.loads(text)
        return cls(document["copies"], document["pairs"], document["superseded"], document["deduplicated"])


def with_ranks(rows: pa.Table, files: list[str]) -> pa.Table:
    """The rows with their file's position in file_order (RANK) and their position (ROW)."""
    ordered = sorted(files, key=file_order)
    ranks = pc.index_in(rows[SOURCE_FILE], value_set=pa.array(ordered, pa.string()))
    return rows.append_column(RANK, pc.cast(ranks, pa.int32())).append_column(ROW, pa.array(range(rows.num_rows),
                                                                                              pa.int64()))


def detect(rows: pa.Table, rule: OverlapRule) -> dict[str, PartitionOverlap]:
    """Per security of `rows` (one date's staged rows of securities with more than one file, with
    SOURCE_FILE and SOURCE_LINE), the rows equal to a row of an earlier file and the file pairs;
    under dedup, also the rows drop_later_copies leaves out, per file."""
    if rows.num_rows == 0:
        return {}
    keys = list(rule.match_columns)
    ranked = with_ranks(rows, pc.unique(rows[SOURCE_FILE]).to_pylist())
    ordered = sorted(pc.unique(rows[SOURCE_FILE]).to_pylist(), key=file_order)
    per_file = ranked.select([*keys, RANK, SOURCE_LINE]).group_by([*keys, RANK], use_threads=False).aggregate(
        [(SOURCE_LINE, "count"), (SOURCE_LINE, "min")])
    pairs = per_file.join(per_file, keys=keys, join_type="inner", left_suffix="_a", right_suffix="_b",
                          use_threads=False)
    pairs = pairs.filter(pc.less(pairs[f"{RANK}_a"], pairs[f"{RANK}_b"]))
    found: dict[str, PartitionOverlap] = {}
    if pairs.num_rows:
        by_pair = pairs.group_by([schema.SECURITY_CODE, f"{RANK}_a", f"{RANK}_b"], use_threads=False).aggregate(
            [(f"{SOURCE_LINE}_count_b", "sum"), (f"{SOURCE_LINE}_min_a", "min"), (f"{SOURCE_LINE}_min_b", "min")])
        for security, first, second, count, line_a, line_b in zip(*(by_pair[name].to_pylist() for name in (
                schema.SECURITY_CODE, f"{RANK}_a", f"{RANK}_b", f"{SOURCE_LINE}_count_b_sum",
                f"{SOURCE_LINE}_min_a_min", f"{SOURCE_LINE}_min_b_min"))):
            found.setdefault(security, PartitionOverlap()).pairs.append(
                [ordered[first], ordered[second], count, line_a, line_b])
    for security, copies in _later_copies(ranked, keys).items():
        detected = found.setdefault(security, PartitionOverlap())
        detected.copies = dict(sorted(copies.items()))
        if rule.kind == DEDUP:  # exactly the rows drop_later_copies leaves out
            detected.deduplicated = dict(detected.copies)
    for overlap in found.values():
        overlap.pairs.sort(key=lambda pair: (file_order(pair[0]), file_order(pair[1])))
    return found


def drop_later_copies(rows: pa.Table, rule: OverlapRule) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """dedup: the rows less those equal (on the rule's columns) to a row of an earlier file, in their
    order, and per security the rows dropped per file. A null never equals anything."""
    if rows.num_rows == 0 or pc.count_distinct(rows[SOURCE_FILE]).as_py() < 2:
        return rows, {}
    keys = list(rule.match_columns)
    ranked = with_ranks(rows, pc.unique(rows[SOURCE_FILE]).to_pylist())
    dropped = _later_copies(ranked, keys)
    if not dropped:
        return rows, {}
    kept = _first_file_rows(ranked, keys)
    return rows.take(pc.sort_indices(kept)), dropped


def _first_rank(ranked: pa.Table, keys: list[str]) -> pa.Table:
    """Each row's ROW, RANK and the lowest RANK among the rows equal to it (null where a key column is)."""
    first = ranked.select([*keys, RANK]).group_by(keys, use_threads=False).aggregate([(RANK, "min")])
    return ranked.select([*keys, RANK, ROW, SOURCE_FILE]).join(first, keys=keys, join_type="left outer",
                                                               use_threads=False)


def _first_file_rows(ranked: pa.Table, keys: list[str]) -> pa.Array:
    """The ROW of every row that no earlier file has a copy of."""
    joined = _first_rank(ranked, keys)
    keep = pc.or_kleene(pc.is_null(joined[f"{RANK}_min"]), pc.equal(joined[RANK], joined[f"{RANK}_min"]))
    return joined.filter(keep)[ROW].combine_chunks()


def _later_copies(ranked: pa.Table, keys: list[str]) -> dict[str, dict[str, int]]:
    """Per security, per file: its rows equal to a row of an earlier file."""
    joined = _first_rank(ranked, keys)
    later = joined.filter(pc.greater(joined[RANK], joined[f"{RANK}_min"]))
    if later.num_rows == 0:
        return {}
    counted = later.group_by([schema.SECURITY_CODE, SOURCE_FILE], use_threads=False).aggregate([(ROW, "count")])
    found: dict[str, dict[str, int]] = {}
    for security, source, count in zip(*(counted[name].to_pylist() for name in (
            schema.SECURITY_CODE, SOURCE_FILE, f"{ROW}_count"))):
        found.setdefault(security, {})[source] = count
    return found


@dataclass(frozen=True)
class FilePair:
    """Rows of `second` equal to a row of `first` (earlier in file_order), over every partition."""

    first_file: str
    second_file: str
    rows: int
    partitions: int
    first_line_in_first: int
    first_line_in_second: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class OverlapTotals:
    """The catalog's overlaps summed: what summary.json, the checks and the UI report."""

    rows_duplicated: int = 0
    rows_superseded: int = 0
    rows_deduplicated: int = 0
    pairs: tuple[FilePair, ...] = ()
    by_file: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Per file involved: rows_duplicated (its rows equal to an earlier file's), rows_superseded,
    rows_deduplicated."""


def overlap_totals(texts: Iterable[str | None]) -> OverlapTotals:
    """Sum the catalog's `overlap` texts (the empty ones cost nothing)."""
    pairs: dict[tuple[str, str], list[int]] = {}
    by_file: dict[str, dict[str, int]] = {}
    duplicated = superseded = deduplicated = 0
    for text in texts:
        if not text:
            continue
        found = PartitionOverlap.from_text(text)
        duplicated += found.rows_duplicated
        superseded += found.rows_superseded
        deduplicated += found.rows_deduplicated
        for first, second, rows, line_first, line_second in found.pairs:
            summed = pairs.setdefault((first, second), [0, 0, line_first, line_second])
            summed[0] += rows
            summed[1] += 1
            summed[2], summed[3] = min(summed[2], line_first), min(summed[3], line_second)
        for source, rows in found.copies.items():
            _add(by_file, source, "rows_duplicated", rows)
        for source, rows in found.superseded.items():
            _add(by_file, source, "rows_superseded", rows)
        for source, rows in found.deduplicated.items():
            _add(by_file, source, "rows_deduplicated", rows)
    ordered = sorted(pairs.items(), key=lambda item: (file_order(item[0][0]), file_order(item[0][1])))
    return OverlapTotals(duplicated, superseded, deduplicated,
                         tuple(FilePair(first, second, *summed) for (first, second), summed in ordered),
                         {source: by_file[source] for source in sorted(by_file, key=file_order)})


def catalog_overlaps(catalog: pa.Table) -> OverlapTotals:
    """The overlaps a catalog table records, summed (only the partitions that have one are parsed)."""
    return overlap_totals(pc.filter(catalog["overlap"], pc.not_equal(catalog["overlap"], "")).to_pylist())


def _add(by_file: dict[str, dict[str, int]], source: str, name: str, rows: int) -> None:
    counts = by_file.setdefault(source, {"rows_duplicated": 0, "rows_superseded": 0, "rows_deduplicated": 0})
    counts[name] += rows
