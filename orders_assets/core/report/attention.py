"""What in a summary needs the user's attention, said the same way wherever it is shown: the run's
output, the report page and the asset checks in the UI: no file read, a filter value that matches
no row, files past the rejected-rows threshold.

A run that exits 0 with a sixth of a day's value in the quarantine, or with a filter that keeps
nothing, looks like a success; the figures are right but not what the user meant. Each finding
here is one sentence that names the file or the value, how much, and what to do.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal

from orders_assets.core.report.summary import FileSummary, Summary
from orders_assets.core.store.rejected_rule import percent

FILTER_SETTINGS = {"order_type": "order_types", "participant_id": "participants"}
"""A filtered column -> the filter's setting that names its values."""
NO_ROW = {"order_type": ("matches no valid row of any current file", "the order types there are"),
          "participant_id": ("matches no row of any current file of the filter's order types in its session",
                             "the participants of those rows are")}
"""A filtered column -> where its values were looked for, and how the values found there are named."""
SHOWN_VALUES = 12
"""Values seen a message names (the check's table lists more)."""

REJECTED_FIX = ("read the quarantine's reasons: a layout that does not fit the file (docs/layouts.md), "
                "or mend the file and land it again")


@dataclass(frozen=True)
class RejectedShare:
    """A file whose rejected rows reach the rule's threshold."""

    file: FileSummary

    @property
    def share(self) -> Decimal:
        return Decimal(self.file.rows_rejected) / Decimal(self.file.rows_read)

    @property
    def message(self) -> str:
        entry = self.file
        reason = f", most for '{entry.main_rejection}'" if entry.main_rejection else ""
        where = f"; the rows are in {entry.quarantine}" if entry.quarantine else ""
        return (f"{entry.source_file}: {entry.rows_rejected:,} of {entry.rows_read:,} rows rejected "
                f"({percent(round(self.share, 4))}){reason}{where}")


def rejected_shares(summary: Summary) -> list[RejectedShare]:
    """The files whose rejected rows reach the summary's rule, the largest share first."""
    rule = summary.rejected_rule
    found = [RejectedShare(entry) for entry in summary.files if rule.passes(entry.rows_rejected, entry.rows_read)]
    return sorted(found, key=lambda finding: (-finding.share, finding.file.source_file))


def rejected_headline(summary: Summary, findings: list[RejectedShare]) -> str:
    """One line over the files past the threshold, with the rule and the fix."""
    rule = summary.rejected_rule
    return (f"{len(findings)} file(s) with at least {percent(rule.threshold)} of their rows rejected "
            f"(rejected_rows: {rule.text}): {REJECTED_FIX}")


@dataclass(frozen=True)
class UnmatchedValue:
    """A value the filter names that no row of any current file has."""

    column: str
    value: str
    seen: tuple[str, ...]
    """The column's values the files hold, most rows first."""

    @property
    def setting(self) -> str:
        return FILTER_SETTINGS[self.column]

    @property
    def message(self) -> str:
        close = difflib.get_close_matches(self.value, self.seen, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        shown = ", ".join(self.seen[:SHOWN_VALUES]) + (f", ... ({len(self.seen)} in all)"
                                                        if len(self.seen) > SHOWN_VALUES else "")
        where, found = NO_ROW[self.column]
        return f"filter {self.setting}: {self.value} {where}{hint}; {found}: {shown or 'none'}"


def unmatched_filter_values(summary: Summary) -> list[UnmatchedValue]:
    """The filter's values no row has, over every current file (none when no file was read, or a
    file's ingest did not count them)."""
    if not summary.source_files or summary.filter_value_rows is None:
        return []
    seen = summary.values_seen or {}
    return [UnmatchedValue(column, value, tuple(seen.get(column, ())))
            for column, counts in summary.filter_value_rows.items() for value, rows in counts.items() if rows == 0]


def nothing_read(summary: Summary) -> str | None:
    """Why no order file was read though the landing folder holds files (None when one was, or when
    the folder is empty): every file was skipped or refused, each named with its reason."""
    if summary.source_files or not summary.skipped:
        return None
    return (f"no order file was read: the landing folder's {len(summary.skipped)} file(s) were all skipped or "
            "refused, each named with its reason; land order files (.csv, .csv.gz, .csv.zst, .parquet, ...), "
            "mend the refused ones, or map a vendor's files with a layout (docs/layouts.md)")


def fails_the_run(summary: Summary) -> bool:
    """The findings that make `orders-assets run` exit 1 though every run succeeded: no file read from a
    landing folder that holds files, or a file past the rejected-rows threshold under severity error."""
    return nothing_read(summary) is not None or (summary.rejected_rule.severity == "error"
                                                 and bool(rejected_shares(summary)))


def attention_lines(summary: Summary, shown: int = 10) -> list[str]:
    """What the run's output says after its figures: a warning (or, under severity error, an error)
    per finding, at most `shown` files each, the rest counted."""
    lines = [f"error: {problem}" for problem in (nothing_read(summary),) if problem]
    lines += [f"warning: {unmatched.message}" for unmatched in unmatched_filter_values(summary)]
    findings = rejected_shares(summary)
    if not findings:
        return lines
    label = "error" if summary.rejected_rule.severity == "error" else "warning"
    lines.append(f"{label}: {rejected_headline(summary, findings)}")
    lines += [f"       {finding.message}" for finding in findings[:shown]]
    if len(findings) > shown:
        lines.append(f"       ... and {len(findings) - shown} more file(s) in summary.json")
    return lines
