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

from orders_assets.core.read.header import SOURCE_FILE, SOURCE_LINE
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


@dataclass(frozen=True)
class Keyed:
    """Staged rows reduced to what matching needs: the match columns as compact keys (K0.. in the
    rule's order, the security first; strings as their dictionary indices, times as integers, so
    Arrow's group-by and hash join work on fixed-width values, about 5 times faster than on the
    strings), each row's file position in file_order (RANK), position (ROW) and source line."""

    table: pa.Table
    keys: list[str]
    securities: pa.Array
    """The security of each K0 index."""
    files: list[str]
    """The files in file_order: RANK indexes it."""

    @classmethod
    def of(cls, rows: pa.Table, rule: OverlapRule) -> Keyed:
        files = sorted(pc.unique(rows[SOURCE_FILE]).to_pylist(), key=file_order)
        columns, securities = {}, None
        for index, name in enumerate(rule.match_columns):
            column, labels = _compact(rows[name].combine_chunks())
            securities = labels if index == 0 else securities
            columns[f"K{index}"] = column
        columns[RANK] = pc.cast(pc.index_in(rows[SOURCE_FILE], value_set=pa.array(files, pa.string())), pa.int32())
        columns[ROW] = pa.array(range(rows.num_rows), pa.int64())
        columns[SOURCE_LINE] = rows[SOURCE_LINE]
        return cls(pa.table(columns), [f"K{index}" for index in range(len(rule.match_columns))], securities, files)

    def security(self, index: int) -> str:
        return self.securities[index].as_py()


def _compact(column: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """A column as fixed-width values that are equal exactly when the originals are (nulls stay
    null), and the labels of a dictionary-encoded one."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_binary(column.type):
        encoded = pc.dictionary_encode(column)
        return encoded.indices, encoded.dictionary
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type) or pa.types.is_time(column.type):
        return pc.cast(column, pa.int64()), None
    return column, None


def detect(rows: pa.Table, rule: OverlapRule) -> dict[str, PartitionOverlap]:
    """Per security of `rows` (one date's staged rows of securities with more than one file, with
    SOURCE_FILE and SOURCE_LINE), the rows equal to a row of an earlier file and the file pairs;
    under dedup, also the rows drop_later_copies leaves out, per file."""
    if rows.num_rows == 0:
        return {}
    keyed = Keyed.of(rows, rule)
    keys = keyed.keys
    per_file = keyed.table.select([*keys, RANK, SOURCE_LINE]).group_by([*keys, RANK], use_threads=False).aggregate(
        [(SOURCE_LINE, "count"), (SOURCE_LINE, "min")])
    pairs = per_file.join(per_file, keys=keys, join_type="inner", left_suffix="_a", right_suffix="_b",
                          use_threads=False)
    pairs = pairs.filter(pc.less(pairs[f"{RANK}_a"], pairs[f"{RANK}_b"]))
    found: dict[str, PartitionOverlap] = {}
    if pairs.num_rows:
        by_pair = pairs.group_by([keys[0], f"{RANK}_a", f"{RANK}_b"], use_threads=False).aggregate(
            [(f"{SOURCE_LINE}_count_b", "sum"), (f"{SOURCE_LINE}_min_a", "min"), (f"{SOURCE_LINE}_min_b", "min")])
        for security, first, second, count, line_a, line_b in zip(*(by_pair[name].to_pylist() for name in (
                keys[0], f"{RANK}_a", f"{RANK}_b", f"{SOURCE_LINE}_count_b_sum",
                f"{SOURCE_LINE}_min_a_min", f"{SOURCE_LINE}_min_b_min"))):
            found.setdefault(keyed.security(security), PartitionOverlap()).pairs.append(
                [keyed.files[first], keyed.files[second], count, line_a, line_b])
    for security, copies in _later_copies(keyed).items():
        detected = found.setdefault(security, PartitionOverlap())
        detected.copies = dict(sorted(copies.items()))
        if rule.kind == DEDUP:  # exactly the rows drop_later_copies leaves out
            detected.deduplicated = dict(detected.copies)
    for detected in found.values():
        detected.pairs.sort(key=lambda pair: (file_order(pair[0]), file_order(pair[1])))
    return found


def drop_later_copies(rows: pa.Table, rule: OverlapRule) -> pa.Table:
    """dedup: the rows less those equal (on the rule's columns) to a row of an earlier file, in their
    order. A null never equals anything."""
    if rows.num_rows == 0 or pc.count_distinct(rows[SOURCE_FILE]).as_py() < 2:
        return rows
    joined = _first_rank(Keyed.of(rows, rule))
    keep = pc.or_kleene(pc.is_null(joined[f"{RANK}_min"]), pc.equal(joined[RANK], joined[f"{RANK}_min"]))
    kept = joined.filter(keep)[ROW].combine_chunks()
    return rows if len(kept) == rows.num_rows else rows.take(pc.take(kept, pc.array_sort_indices(kept)))


def _first_rank(keyed: Keyed) -> pa.Table:
    """Each row's keys, RANK and ROW, with the lowest RANK among the rows equal to it (null where a
    key is null: such a row equals none)."""
    first = keyed.table.select([*keyed.keys, RANK]).group_by(keyed.keys, use_threads=False).aggregate([(RANK, "min")])
    return keyed.table.select([*keyed.keys, RANK, ROW]).join(first, keys=keyed.keys, join_type="left outer",
                                                             use_threads=False)


def _later_copies(keyed: Keyed) -> dict[str, dict[str, int]]:
    """Per security, per file: its rows equal to a row of an earlier file."""
    joined = _first_rank(keyed)
    later = joined.filter(pc.greater(joined[RANK], joined[f"{RANK}_min"]))
    if later.num_rows == 0:
        return {}
    counted = later.group_by([keyed.keys[0], RANK], use_threads=False).aggregate([(ROW, "count")])
    found: dict[str, dict[str, int]] = {}
    for security, rank, count in zip(*(counted[name].to_pylist() for name in (keyed.keys[0], RANK, f"{ROW}_count"))):
        found.setdefault(keyed.security(security), {})[keyed.files[rank]] = count
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
