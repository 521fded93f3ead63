"""The rejected-rows alert: from which share of a file's rows rejected to quarantine the run says
so loudly, and whether that fails it.

A vendor file whose prices were written through a float lost 16.8% of a day's value to the
quarantine while the run exited 0 and said nothing. One bad row in a million is noise; a few
percent is a file in a format the run does not read right. The rule is a setting the store is
kept under, as the overlap rule is (OrderStore.rejected_rule): the summary names it, the check
`rejected_rows_below_threshold` applies it, and a change rebuilds the reports that show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

WARN, ERROR = "warn", "error"
DEFAULT_THRESHOLD = Decimal("0.01")
"""1% of a file's rows."""


@dataclass(frozen=True)
class RejectedRule:
    """A file whose rejected rows reach `threshold` of its rows read is named: a warning, or with
    severity error, a failed check and a failed run."""

    threshold: Decimal = DEFAULT_THRESHOLD
    severity: str = WARN

    def __post_init__(self) -> None:
        problem = rejected_rule_problem(self.threshold, self.severity)
        if problem:
            raise ValueError(problem)

    @property
    def is_default(self) -> bool:
        return self.threshold == DEFAULT_THRESHOLD and self.severity == WARN

    @property
    def text(self) -> str:
        """'1%, warn': as the page, the check and the run's output name the rule."""
        return f"{percent(self.threshold)}, {self.severity}"

    def passes(self, rows_rejected: int, rows_read: int) -> bool:
        """True when a file's rejected rows reach the threshold (a file with none never does)."""
        return rows_rejected > 0 and rows_read > 0 and Decimal(rows_rejected) >= self.threshold * rows_read

    def to_json(self) -> dict:
        return {"threshold": str(self.threshold), "severity": self.severity}


def threshold_from(value) -> Decimal:
    """A threshold as written: a fraction (0.01) or a percentage ('1%'); ValueError with the fix."""
    text = str(value).strip()
    try:
        share = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        raise ValueError(f"rejected_rows threshold {value!r} is not a share: write 0.01 or '1%'") from None
    return share


def rejected_rule_problem(threshold: Decimal, severity: str) -> str | None:
    """Why (threshold, severity) is not a rule, with the fix; None when it is one."""
    if not threshold.is_finite() or not 0 < threshold <= 1:
        return (f"rejected_rows threshold {threshold} is not a share of a file's rows above 0 and at most 1 "
                "(0.01 or '1%': one row in a hundred)")
    if severity not in (WARN, ERROR):
        return f"rejected_rows severity {severity!r} is not {WARN} or {ERROR}"
    return None


def percent(share: Decimal) -> str:
    """A share as a percentage without trailing zeros: Decimal('0.01') -> '1%', 0.0125 -> '1.25%'."""
    scaled = (share * 100).normalize()
    return f"{scaled:f}%"
