"""summary.json: row accounting over every source file and the totals of the filtered order set.

The reports' commit point, and what users and scripts read (contract section 4). It is JSON on
disk, with the keys the contract names, and the frozen `Summary` in memory, so the page, the
checks and the command line take one name, one type and one default for each figure, here.
Money stays exact: the quantity is an int for whole units or a Decimal, the value a Decimal; on
disk both decimals are strings (core/assemble/aggregate.json_amount).
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


from orders_assets.core.assemble.aggregate import json_amount
from orders_assets.core.assemble.overlap import FilePair
from orders_assets.core.store import outputs
from orders_assets.core.store.versions import readable_version
from orders_assets.core.store.rejected_rule import DEFAULT_THRESHOLD, WARN, RejectedRule
from orders_assets.core.store.outputs import OutputPath

SUMMARY_NAME = "summary.json"

SUMMARY_VERSION = 5
"""1: the keys summary.json has always held; a file written before this class has no `version` key
and is read as 1. 2 adds what the reports were made under and over: the filter, the trade dates,
the rejected rows by reason, the filtered-out rows by cause, and each file's quarantine (a version
1 file reads with them empty). 3 adds the overlap between files: the rule, the rows in the
partitions, rows_duplicated_across_files per file pair, rows_superseded, rows_deduplicated, and
rows counted more than once (an earlier file reads with none). 4 adds the rows each path read,
the compiled pass and the exact path, in all and per file (0 in an earlier file). 5 adds the
rejected-rows rule (rejected_rows: threshold and severity), each file's main rejection reason, the
rows of each value the filter names, the values of its columns seen, and the rows a layout's
rounding changed, in all and per file (an earlier file reads with the default rule, none and 0).
A summary of a later version is refused: its meaning is unknown here."""

COUNT_FIELDS = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected")
FILTERED_OUT_CAUSES = {"order_type": "rows_filtered_order_type", "session": "rows_filtered_session",
                       "participant": "rows_filtered_participant", "not_orders": "rows_not_orders"}
"""Why a valid row is not in the order set -> the manifest's count: the first rule of the filter it
failed (not of the order types, outside the session, another participant), or its layout says it
is not an order."""


@dataclass(frozen=True)
class FileSummary:
    """One source file's accounting; a file read through a vendor layout also names it and counts
    the rows it says are not orders (part of rows_filtered_out)."""

    source_file: str
    rows_read: int
    rows_kept: int
    rows_filtered_out: int
    rows_rejected: int
    partitions: int
    layout: str | None = None
    """The vendor layout the file was read through; None for a canonical file (no key on disk)."""
    rows_not_orders: int | None = None
    quarantine: str | None = None
    """Its rejected rows' file, relative to the data folder (None: no row rejected)."""
    filtered_out_by: Mapping[str, int] | None = None
    """rows_filtered_out by cause (FILTERED_OUT_CAUSES); None when its manifest did not count them."""
    rows_duplicated: int = 0
    """Its kept rows equal to a row of a file earlier in the overlap order (overlap.file_order)."""
    rows_superseded: int = 0
    rows_deduplicated: int = 0
    """Its kept rows the overlap rule left out of the partitions (latest_per_date, dedup)."""
    rows_read_compiled: int = 0
    rows_read_exact: int = 0
    """Its rows read by the compiled pass and by the exact path (core/read/compiled_block.py)."""
    main_rejection: str | None = None
    """The reason most of its rejected rows have (None: no row rejected)."""
    rows_rounded: int = 0
    """Its valid rows whose price or quantity its layout rounded (the layout's `rounding`)."""

    def to_json(self) -> dict:
        document = dataclasses.asdict(self)
        if self.layout is None:
            del document["layout"], document["rows_not_orders"]
        for name in ("quarantine", "filtered_out_by", "main_rejection"):
            if document[name] is None:
                del document[name]
        return document

    @classmethod
    def from_json(cls, document: Mapping) -> FileSummary:
        return cls(**_known_fields(cls, document))


@dataclass(frozen=True)
class SkippedFile:
    """A file of the landing folder not read or not counted, and why."""

    source_file: str
    reason: str

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, document: Mapping) -> SkippedFile:
        return cls(**_known_fields(cls, document))


@dataclass(frozen=True)
class Summary:
    """What the reports were built from: sources, row accounting, partitions and totals.

    Holds no clock time, so a rerun with nothing new writes the same bytes.
    """

    source_files: int
    rows_read: int
    rows_kept: int
    rows_filtered_out: int
    rows_rejected: int
    partitions: int
    """Partitions with rows."""
    orders: int
    quantity: int | Decimal
    """An int for whole units; an exact Decimal for quantities with decimal places."""
    value: Decimal
    inputs_signature: str | None = None
    """The ingests, partitions and skipped files the reports were built from
    (OrderStore.inputs_signature); None in a summary that did not record it, never current."""
    files: tuple[FileSummary, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    order_filter: dict | None = None
    """The rule the order set was made under: order_types, session_start, session_end (local,
    end exclusive), timezone, participants (empty: all)."""
    first_trade_date: str | None = None
    last_trade_date: str | None = None
    trade_dates: int = 0
    """Trade dates with rows in the order set (the dates between without any are not counted)."""
    rejections_by_reason: tuple[tuple[str, int], ...] = ()
    """(reason, rows) over every file's quarantine, most rows first."""
    rows_filtered_out_by: Mapping[str, int] | None = None
    """rows_filtered_out by cause (FILTERED_OUT_CAUSES) over every file; None when a file's manifest
    did not count them (ingested by an earlier release)."""
    overlap: Mapping | None = None
    """The overlap rule ({rule, columns}) the partitions were assembled under."""
    rows_in_partitions: int | None = None
    """Rows the partitions hold: rows_kept = rows_in_partitions + rows_superseded + rows_deduplicated."""
    rows_superseded: int = 0
    rows_deduplicated: int = 0
    rows_duplicated_across_files: tuple[FilePair, ...] = ()
    """Per pair of current files with equal rows in a partition: the later file's rows equal to one of
    the earlier's, the partitions, and the first line in each file."""
    rows_counted_more_than_once: int = 0
    """Kept rows equal to a row of an earlier file that the partitions still count (union)."""
    rows_read_compiled: int = 0
    rows_read_exact: int = 0
    """rows_read by the path that read them: the compiled pass, or the exact path (rows it defers,
    files of vendor layouts, Parquet, compressed or not)."""
    rejected_rows: Mapping[str, str] | None = None
    """The rejected-rows rule the files were judged by ({threshold, severity}); None: the default."""
    filter_value_rows: Mapping[str, Mapping[str, int]] | None = None
    """Over every file, the rows of each value the filter names (0: it matches no row); None when a
    file's ingest (an earlier release's) did not count them."""
    values_seen: Mapping[str, list[str]] | None = None
    """The values of the filter's columns the files hold (core/read/values_seen.py), the first
    file's most frequent first; None as filter_value_rows."""
    rows_rounded: int = 0
    """Valid rows whose price or quantity their file's layout rounded (its `rounding`), over every file."""
    version: int = SUMMARY_VERSION

    @property
    def rejected_rule(self) -> RejectedRule:
        document = self.rejected_rows or {}
        return RejectedRule(Decimal(document.get("threshold", DEFAULT_THRESHOLD)), document.get("severity", WARN))

    @property
    def totals(self) -> dict[str, int | Decimal]:
        """Orders, quantity and value, exact."""
        return {"orders": self.orders, "quantity": self.quantity, "value": self.value}

    def to_json(self) -> dict:
        document = dataclasses.asdict(self)
        document.update(quantity=json_amount(self.quantity), value=json_amount(self.value),
                        files=[entry.to_json() for entry in self.files],
                        skipped=[entry.to_json() for entry in self.skipped],
                        rejections_by_reason=[{"reason": reason, "rows": rows}
                                              for reason, rows in self.rejections_by_reason],
                        rows_duplicated_across_files=[pair.to_json() for pair in self.rows_duplicated_across_files])
        return document

    @classmethod
    def from_json(cls, document: Mapping, where: str = SUMMARY_NAME) -> Summary:
        """A summary of this version or an earlier one (its missing fields take their defaults)."""
        readable_version(document, SUMMARY_VERSION, where, "summary")
        values = _known_fields(cls, document)
        values.update(quantity=exact_amount(document["quantity"]), value=Decimal(document["value"]),
                      files=tuple(FileSummary.from_json(entry) for entry in document.get("files", ())),
                      skipped=tuple(SkippedFile.from_json(entry) for entry in document.get("skipped", ())),
                      rejections_by_reason=tuple((entry["reason"], entry["rows"])
                                                 for entry in document.get("rejections_by_reason", ())),
                      rows_duplicated_across_files=tuple(FilePair(**entry) for entry in
                                                         document.get("rows_duplicated_across_files", ())),
                      version=SUMMARY_VERSION)
        return cls(**values)


def exact_amount(amount: int | str) -> int | Decimal:
    """An amount of a JSON document as a number: decimal strings (fractional quantities, values)
    as Decimals, whole ones as the ints they are."""
    return Decimal(amount) if isinstance(amount, str) else amount


def _known_fields(cls, document: Mapping) -> dict:
    """The document's values of the class's fields (keys of other releases are left out)."""
    known = {item.name for item in dataclasses.fields(cls)}
    return {name: value for name, value in document.items() if name in known}


def read_summary(reports_dir: OutputPath) -> Summary | None:
    """summary.json, None when it is not built yet."""
    path = reports_dir / SUMMARY_NAME
    if not outputs.exists(path):
        return None
    return Summary.from_json(json.loads(outputs.read_text(path)), where=outputs.display(path))


def write_summary(summary: Summary, reports_dir: OutputPath) -> OutputPath:
    path = reports_dir / SUMMARY_NAME
    outputs.write_json(path, summary.to_json())
    return path
