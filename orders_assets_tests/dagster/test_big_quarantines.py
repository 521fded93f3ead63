"""Quarantines past the sizes Arrow's default CSV options read: the reports and their checks still run.

A stray quote early in a 1.6 MB file makes the rest of it one quarantined record, as
docs/reliability.md says it should (case 3), over 1 MiB of raw text; many rejected rows whose raw
text holds a quoted newline make a quarantine of several MB. Before, the summary step read each
quarantine with Arrow's defaults (1 MiB blocks, no newline inside a value) and failed on every run,
for every file. The expected counts are the test's own: it knows the rows it broke and why.
"""
import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

import dagster as dg

from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.glue.resources import OrdersSettings

REASON_PRICE = "price: not a decimal number with at most 14 digits before the point and 4 after"
REASON_NEGATIVE = "price: negative"
REASON_QUANTITY = "quantity: not greater than 0"
"""The messages contract section 2 and docs/reliability.md give for these rules."""


def field_count_reason(expected: int, found: int) -> str:
    return f"field_count: expected {expected} fields, found {found}"


def unescaped(cell: str) -> str:
    """README's rule for the CSV files written for people: a cell that begins with an apostrophe
    was written with one more."""
    return cell[1:] if cell.startswith("'") else cell


def quarantine_rows(data: Path) -> list[dict]:
    """Every quarantine's rows, read with Python's csv module (no limit on a field's size)."""
    csv.field_size_limit(sys.maxsize)
    rows = []
    for path in sorted((data / "quarantine").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            rows += [{name: unescaped(value) for name, value in row.items()} for row in csv.DictReader(handle)]
    return rows


def run(landing: Path, data: Path) -> tuple[bool, dict, dict]:
    """One pipeline run: whether it succeeded, summary.json, and each check's status on the summary."""
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(settings, instance)
        keys = [dg.AssetCheckKey(dg.AssetKey("summary"), name) for name in ("rows_accounted_for",)]
        records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
        checks = {key.name: record.status.value for key, record in records.items()}
    summary_path = data / "reports" / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return outcome.success, summary, checks


def test_a_stray_quote_early_in_a_big_file_makes_one_record_over_a_mebibyte_and_the_reports_still_build(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    path = generate_orders(landing / "orders.csv", rows=22_000, days=1, securities=4, seed=41).path
    lines = path.read_bytes().split(b"\n")
    header = lines[0].decode().split(",")
    column = header.index("security_code")
    fields = lines[2].split(b",")  # line 3: the quote opens at a field's start and is never closed
    lines[2] = b",".join([*fields[:column], b'"' + fields[column], *fields[column + 1:]])
    path.write_bytes(b"\n".join(lines))
    record = b"\n".join(lines[2:]).decode()  # to the end of the file, its last LF inside the quote
    assert path.stat().st_size > 1_500_000 and len(record) > 1 << 20

    success, summary, checks = run(landing, data)

    assert success and checks == {"rows_accounted_for": "SUCCEEDED"}
    reason = field_count_reason(len(header), column + 1)
    assert summary["rows_rejected"] == 1
    assert summary["rejections_by_reason"] == [{"reason": reason, "rows": 1}]
    assert [(row["line"], row["reason"], row["raw"]) for row in quarantine_rows(data)] == [("3", reason, record)]


def test_many_rejected_rows_with_quoted_newlines_make_a_quarantine_of_megabytes_and_the_reports_still_build(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    path = generate_orders(landing / "orders.csv", rows=30_000, days=2, securities=5, seed=43).path
    with open(path, newline="") as source:
        header, *rows = list(csv.reader(source))
    price, quantity, order_id = (header.index(name) for name in ("price", "quantity", "order_id"))
    chooser = random.Random(43)
    broken = {"price": (price, "1.2x", REASON_PRICE), "negative": (price, "-3.5", REASON_NEGATIVE),
              "quantity": (quantity, "0", REASON_QUANTITY)}
    expected: Counter = Counter()
    for row in rows:
        kind = chooser.choice(["kept", "price", "negative", "quantity"])
        if kind != "kept":
            column, value, reason = broken[kind]
            row[column] = value
            row[order_id] = f"{row[order_id]}\nsecond line, \"quoted\""  # a quoted newline in its raw text
            expected[reason] += 1
    with open(path, "w", newline="") as target:
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

    success, summary, checks = run(landing, data)

    quarantine = data / "quarantine"
    assert sum(file.stat().st_size for file in quarantine.glob("*.csv")) > 3 << 20
    assert success and checks == {"rows_accounted_for": "SUCCEEDED"}
    assert summary["rows_rejected"] == sum(expected.values())
    assert {entry["reason"]: entry["rows"] for entry in summary["rejections_by_reason"]} == dict(expected)
    rejected = quarantine_rows(data)
    assert len(rejected) == sum(expected.values()) and all("\nsecond line" in row["raw"] for row in rejected)
