"""What the partitions should hold under each overlap rule, computed apart from orders_assets.

Works on the files' text with the csv module (no product code): the rows each rule keeps are
written to one CSV file that support/reference.py then turns into the independent reports.
latest_per_date keeps, for each trade date, the rows of the file whose name sorts last (digit runs
as numbers) among the files with kept rows on that date; dedup keeps a row unless a file earlier in
that order has a row with the same text in the given columns (and the same security). The test
files are re-sends of generated files whose matched rows share their order type and time, so a
row and its copy are kept or filtered out alike, as the product dedups among kept rows.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from orders_assets_tests.support.reference import reference_reports


def natural(name: str) -> list:
    """Digit runs as numbers, before text at the same place (orders_20250303 before orders_week)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def kept_dates(path: Path) -> set[str]:
    """Trade dates on which the reference keeps a row of the file."""
    return {str(row.trade_date) for row in reference_reports([path]).kept}


def expected_file(paths: list[Path], rule: str, columns: tuple[str, ...] = (), out: Path | None = None) -> Path:
    """One CSV file with the rows the partitions should hold under `rule`, for reference_reports."""
    ordered = sorted(paths, key=lambda path: natural(path.name))
    header, chosen = None, []
    if rule == "latest_per_date":
        winner = {}
        for path in ordered:
            for day in kept_dates(path):
                winner[day] = path  # later files overwrite: the last in order wins
    seen: set[tuple] = set()
    for path in ordered:
        header, rows = _rows(path)
        at = {name: index for index, name in enumerate(header)}
        timestamp = at["timestamp"]
        if rule == "union":
            chosen += rows
        elif rule == "latest_per_date":
            chosen += [row for row in rows if winner.get(row[timestamp][:10]) == path]
        elif rule == "dedup":
            names = ["security_code", *[column for column in columns if column != "security_code"]]
            mine = set()
            for row in rows:
                key = tuple(row[at[name]] for name in names)
                if key not in seen:
                    chosen.append(row)
                    mine.add(key)
            seen |= mine
        else:
            raise ValueError(rule)
    out = out or ordered[0].parent.parent / f"expected_{rule}.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(chosen)
    return out
