"""Comparison of the product's report files with the expected reports of real_data_oracles.

Keys and counts exactly; quantity exactly as Decimal (a CSV's 0.13200000 equals 0.132); value and
averages to 1e-9 relative, NaN equal to NaN. Shares no code with the orders_assets package.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from orders_assets_tests.support.real_data_oracles import REPORT_NAMES, Expected


def _read_product_report(reports_dir: Path, name: str, kind: str) -> pd.DataFrame:
    """CSV as exact text (every field a str); Parquet as its native Python values."""
    if kind == "csv":
        return pd.read_csv(reports_dir / f"{name}.csv", dtype=str, keep_default_na=False, na_filter=False)
    return pq.read_table(reports_dir / f"{name}.parquet").to_pandas()


def _as_date_text(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _as_exact(value, decimals: int | None) -> Decimal:
    """A count or quantity as Decimal.  With ``decimals``, a float is read as its
    nearest decimal of that many places (a float cannot hold 0.132 exactly);
    without, a float counts only if it is exactly the whole number."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return Decimal(value.strip())
    if isinstance(value, float):
        if decimals is None:
            return Decimal(value)
        with localcontext(prec=100):
            return Decimal(float(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return Decimal(int(value))


def _as_float(value) -> float:
    if isinstance(value, str):
        return float(value) if value.strip() else math.nan
    return math.nan if value is None else float(value)


def _same(column: str, got, want, decimals: int) -> bool:
    if column in ("value", "avg_quantity", "avg_value"):
        got, want = _as_float(got), float(want)
        return (math.isnan(got) and math.isnan(want)) or math.isclose(got, want, rel_tol=1e-9, abs_tol=0)
    if column == "trade_date":
        return _as_date_text(got) == want
    if column in ("security_code", "participant_id", "size_bucket"):
        return str(got) == want
    try:
        return _as_exact(got, decimals if column == "quantity" else None) == Decimal(want)
    except (InvalidOperation, ValueError, TypeError):
        return False


def report_differences(product: pd.DataFrame, expected: pd.DataFrame, label: str, decimals: int) -> list[str]:
    """Every difference between a product report and the expected one, as text."""
    if list(product.columns) != list(expected.columns):
        return [f"{label}: columns {list(product.columns)} != expected {list(expected.columns)}"]
    if len(product) != len(expected):
        return [f"{label}: {len(product)} rows != expected {len(expected)}"]
    problems = []
    for column in expected.columns:
        for row, (got, want) in enumerate(zip(product[column].tolist(), expected[column].tolist())):
            if not _same(column, got, want, decimals):
                problems.append(f"{label} row {row} {column}: product {got!r} != expected {want!r}")
    return problems


def assert_reports_match(product_reports_dir: Path, expected: Expected, decimals: int) -> None:
    """Compare the product's <name>.csv and <name>.parquet with the expected reports.

    Keys and counts exactly; quantity exactly as Decimal (so a CSV's 0.13200000
    equals 0.132); value and averages to 1e-9 relative, NaN equal to NaN."""
    problems = []
    for name in REPORT_NAMES:
        for kind in ("csv", "parquet"):
            path = Path(product_reports_dir) / f"{name}.{kind}"
            if not path.is_file():
                problems.append(f"{path}: missing")
                continue
            product = _read_product_report(Path(product_reports_dir), name, kind)
            problems += report_differences(product, expected.reports[name], f"{name}.{kind}", decimals)
    if problems:
        shown = "\n".join(problems[:40])
        more = f"\n... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise AssertionError(f"{len(problems)} report differences for {expected.spec.folder}:\n{shown}{more}")
