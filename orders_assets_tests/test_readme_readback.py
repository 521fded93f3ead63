"""The README's read-back block, executed as written on a folder `orders-assets run` made: DuckDB,
Polars, pandas and pyarrow each read the whole set and one (date, security) partition, and find
the rows the independent reference keeps (their count and their exact value), each once; and each
shows a row's time as the exchange-local wall time the source file wrote (naive Sydney time)."""
import csv
import os
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets_tests.support.reference import reference_reports

README = Path(__file__).resolve().parent.parent / "README.md"
BIN = Path(sys.executable).parent
FOLDER_LINE = 'folder = "sample/data/orders"'
READERS = ("duckdb", "polars", "pandas", "pyarrow")


def readme_block() -> str:
    """The README's Python block that reads the filtered order sets back."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    [block] = [block for block in blocks if FOLDER_LINE in block]
    return block


@pytest.fixture(scope="module")
def read_back(tmp_path_factory):
    root = tmp_path_factory.mktemp("readback")
    files = [generate_orders(root / "landing" / f"orders-{day:%d}.csv", rows=20_000, days=1, securities=5, seed=day.day,
                             start_date=day, bad_rows=0.001).path for day in (date(2025, 3, 3), date(2025, 3, 4))]
    environment = {key: value for key, value in os.environ.items()
                   if key != "DAGSTER_HOME" and not key.startswith("ORDERS_ASSETS_")}
    run = subprocess.run([BIN / "orders-assets", "run", "--landing", root / "landing", "--data", root / "data"],
                         capture_output=True, text=True, env=environment, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    namespace: dict = {}
    exec(readme_block().replace(FOLDER_LINE, f'folder = "{root / "data" / "orders"}"'), namespace)
    return namespace, reference_reports(files), files


def source_times(files: list[Path]) -> dict[tuple[str, int], str]:
    """(file name, line the record starts on, header = 1) -> its timestamp as the source CSV writes it."""
    times = {}
    for path in files:
        with open(path, newline="") as handle:
            reader, consumed = csv.reader(handle), 0
            header = next(reader)
            consumed = reader.line_num
            for fields in reader:
                if len(fields) == len(header):
                    times[(path.name, consumed + 1)] = fields[header.index("timestamp")]
                consumed = reader.line_num
    return times


def shown_local_times(namespace: dict, reader: str, rows: int = 20) -> list[tuple[tuple[str, int], str]]:
    """(source file, line) and the time as the reader prints it, after the block's own lines, for the
    first rows of its (date, security) partition: a DataFrame's column (DuckDB's and pandas' are
    pandas'), a Polars Series, pyarrow's local_timestamp array."""
    one = namespace[f"{reader}_one"]
    if reader == "pyarrow":
        times = namespace["pyarrow_local_times"]
        printed = [times.slice(index, 1).to_string() for index in range(rows)]
        files, lines = one["source_file"].to_pylist(), one["source_line"].to_pylist()
    elif reader == "polars":
        printed = [str(one["timestamp"].slice(index, 1)) for index in range(rows)]
        files, lines = one["source_file"].to_list(), one["source_line"].to_list()
    else:
        printed = [one["timestamp"].iloc[[index]].to_string() for index in range(rows)]
        files, lines = list(one["source_file"]), list(one["source_line"])
    return [((Path(files[index]).name, int(lines[index])), printed[index]) for index in range(rows)]


def test_the_readme_names_a_whole_set_and_one_partition_read_for_each_reader():
    block = readme_block()
    assert all(f"{reader}_all = " in block and f"{reader}_one = " in block for reader in READERS)


@pytest.mark.parametrize("reader", READERS)
def test_each_reader_reads_the_whole_set_and_one_partition_as_the_reference_keeps_them(read_back, reader):
    namespace, reference, _ = read_back
    every, one = (namespace[f"{reader}_{which}"] for which in ("all", "one"))
    kept_here = [row for row in reference.kept if (row.trade_date, row.security_code) == (date(2025, 3, 3), "BHP")]
    assert len(every) == reference.rows_kept and len(one) == len(kept_here) > 0
    columns = every.column_names if reader == "pyarrow" else list(every.columns)
    assert {"trade_date", "security_code", "source_file", "source_line", "price", "quantity"} <= set(columns)
    rows = one.to_pylist() if reader == "pyarrow" else (one.to_dicts() if reader == "polars" else one.to_dict("records"))
    assert {(row["security_code"], str(row["trade_date"])[:10]) for row in rows} == {("BHP", "2025-03-03")}
    assert sum(Decimal(str(row["price"])) * int(row["quantity"]) for row in rows) == sum(row.value for row in kept_here)
    assert len({(row["source_file"], int(row["source_line"])) for row in rows}) == len(rows)  # each row once


@pytest.mark.parametrize("reader", READERS)
def test_each_reader_shows_the_exchange_local_time_the_source_file_wrote(read_back, reader):
    namespace, _, files = read_back
    written = source_times(files)
    for key, printed in shown_local_times(namespace, reader):
        text = written[key]
        assert not re.search(r"(Z|[+-]\d\d:?\d\d)$", text), text  # naive: exchange-local by the contract
        shown = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", printed)
        assert shown and datetime.fromisoformat(shown.group(0)) == datetime.fromisoformat(text), (reader, printed, text)
