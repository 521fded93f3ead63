"""Shared fixtures: data made with the project's own generator, compared with the independent reference."""
import hashlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest


def pytest_terminal_summary(terminalreporter) -> None:
    """Where the real-data tests read from, at the end of every run (-q too): they skip without it,
    never silently."""
    from orders_assets_tests.support.real_data_oracles import REAL_DATA, REAL_DATA_ENV

    found = "found" if REAL_DATA.is_dir() else f"NOT FOUND, so its tests skipped: {REAL_DATA_ENV}=PATH points at it"
    terminalreporter.write_line(f"real market data: {REAL_DATA} ({found})")


def pytest_sessionstart(session) -> None:
    """A real-data folder named by the variable must exist: asked for, its tests do not skip."""
    import os

    from orders_assets_tests.support.real_data_oracles import REAL_DATA, REAL_DATA_ENV

    if os.environ.get(REAL_DATA_ENV) and not REAL_DATA.is_dir():
        raise pytest.UsageError(f"{REAL_DATA_ENV}={os.environ[REAL_DATA_ENV]}: no such folder")


def tree_hashes(root: Path, skip: tuple[str, ...] = ("dagster_home",)) -> dict[str, str]:
    """sha256 of every file under root (paths relative), skipping the Dagster instance folder."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in skip:
            hashes[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def race_in_children(target, arguments: list[tuple], timeout: float = 120) -> None:
    """Run target(*args, start) in one forked process per args, all released at once by the `start`
    event (as two runs of a cluster's workers would start together); each must exit 0."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    start = context.Event()
    children = [context.Process(target=target, args=(*args, start)) for args in arguments]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(timeout)
        assert child.exitcode == 0, f"{child.name} exited {child.exitcode}"


def assert_report_equals(product: pd.DataFrame, expected: pd.DataFrame, name: str) -> None:
    """Every column, every row: keys and counts exactly, money and averages to 1e-6 relative."""
    assert list(product.columns) == list(expected.columns), name
    assert len(product) == len(expected), name
    for column in expected.columns:
        got, want = product[column].reset_index(drop=True), expected[column].reset_index(drop=True)
        if column in ("value", "avg_quantity", "avg_value"):
            got = pd.to_numeric(got.astype("float64"))
            want = pd.to_numeric(want.astype("float64"))
            pd.testing.assert_series_equal(got, want, rtol=1e-6, atol=0, check_names=False, obj=f"{name}.{column}")
        else:
            assert got.astype(str).tolist() == want.astype(str).tolist(), f"{name}.{column}"


REPORT_TEXT_COLUMNS = ("trade_date", "security_code", "participant_id", "size_bucket")


def read_report(reports: Path, name: str, kind: str) -> pd.DataFrame:
    """A report file of a local folder or of a UPath (memory://, s3://), opened through its own
    filesystem. A CSV file's text cells are read by README's rule: a cell written with a leading
    apostrophe, so that a spreadsheet takes it as text, loses it."""
    with (reports / f"{name}.{kind}").open("rb") as handle:
        if kind == "csv":
            table = pd.read_csv(handle, dtype=dict.fromkeys(REPORT_TEXT_COLUMNS, str))
            for column in set(REPORT_TEXT_COLUMNS) & set(table.columns):
                table[column] = [cell[1:] if isinstance(cell, str) and cell.startswith("'") else cell
                                 for cell in table[column]]
            return table
        table = pq.read_table(handle).to_pandas()
    if "trade_date" in table:
        table["trade_date"] = table["trade_date"].astype(str)
    return table
