"""What in a summary needs the user's attention, said the same way wherever it is shown: the run's
output, the report page and the asset checks in the UI.

A run that exits 0 with a sixth of a day's value in the quarantine, or with a filter that keeps
nothing, looks like a success; the figures are right but not what the user meant. Each finding
here is one sentence that names the file or the value, how much, and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orders_assets.core.report.summary import FileSummary, Summary
from orders_assets.core.store.rejected_rule import percent

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
    findings = rejected_shares(summary)
    if not findings:
        return lines
    label = "error" if summary.rejected_rule.severity == "error" else "warning"
    lines.append(f"{label}: {rejected_headline(summary, findings)}")
    lines += [f"       {finding.message}" for finding in findings[:shown]]
    if len(findings) > shown:
        lines.append(f"       ... and {len(findings) - shown} more file(s) in summary.json")
    return lines
