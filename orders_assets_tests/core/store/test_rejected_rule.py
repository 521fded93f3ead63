"""The rejected-rows rule: a threshold written as a fraction or a percentage, exact at its edge, and
refused with the fix when it is none."""
from decimal import Decimal

import pytest

from orders_assets.core.store.rejected_rule import RejectedRule, percent, threshold_from


@pytest.mark.parametrize("written, share", [(0.01, Decimal("0.01")), ("1%", Decimal("0.01")),
                                            ("2.5%", Decimal("0.025")), ("0.125", Decimal("0.125")), (1, Decimal(1))])
def test_a_threshold_reads_as_a_fraction_or_a_percentage(written, share):
    assert threshold_from(written) == share


def test_a_file_at_the_threshold_is_named_and_one_row_below_it_is_not():
    rule = RejectedRule(threshold_from("1%"))
    assert rule.passes(rows_rejected=10, rows_read=1_000)
    assert not rule.passes(rows_rejected=9, rows_read=1_000)
    assert not rule.passes(rows_rejected=0, rows_read=0)  # a file without rows has no share
    third = RejectedRule(Decimal(1) / Decimal(3))
    assert third.passes(1, 3) and not RejectedRule(Decimal("0.3334")).passes(1, 3)  # exact, no float edge


@pytest.mark.parametrize("threshold, severity, said", [
    (Decimal(0), "warn", "above 0 and at most 1"), (Decimal("1.5"), "warn", "above 0 and at most 1"),
    (Decimal("NaN"), "warn", "above 0 and at most 1"), (Decimal("0.01"), "fatal", "is not warn or error")])
def test_a_rule_that_is_none_is_refused_with_the_fix(threshold, severity, said):
    with pytest.raises(ValueError, match=said):
        RejectedRule(threshold, severity)
    with pytest.raises(ValueError, match="write 0.01 or '1%'"):
        threshold_from("many")


def test_the_rule_is_named_as_it_was_written():
    assert RejectedRule().text == "1%, warn" and RejectedRule().is_default
    assert percent(Decimal("0.0125")) == "1.25%" and percent(Decimal("0.5")) == "50%"
    assert RejectedRule(Decimal("0.05"), "error").to_json() == {"threshold": "0.05", "severity": "error"}
