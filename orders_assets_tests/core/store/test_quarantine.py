"""A quarantine is read back with the options it was written with: any row the reader accepts
(quoted newlines, doubled quotes, a row at the reader's limit) comes back exactly, in the memory of
its longest row."""
import csv
import random
import sys

import pyarrow as pa
import pytest

from orders_assets.core.errors import StoreError
from orders_assets.core.read.parse import QUARANTINE_SCHEMA
from orders_assets.core.read.reader import MAX_ROW_BYTES
from orders_assets.core.store import quarantine
from orders_assets.core.store.quarantine import QuarantineWriter, read_quarantine, reasons_in_file

HOSTILE_RAW = ['=HYPERLINK("http://x","y"),2025-03-03', "+1,a", "-2,b", "@SUM(A1),c", "'quoted,d", "\tT,e",
               "two\nlines,\"quoted, \"\"twice\"\"\"", "lone\rCR", "ÄÖü,€", '"', "a,b,c\n\n\nd"]


def rejects(raw: list[str], reasons: list[str] | None = None, first_line: int = 2, source: str = "=1+2.csv") -> pa.Table:
    reasons = reasons or ["price: negative"] * len(raw)
    return pa.table([[source] * len(raw), list(range(first_line, first_line + len(raw))),
                     [reason.split(":")[0] for reason in reasons], reasons, raw], schema=QUARANTINE_SCHEMA)


def written(path, *tables: pa.Table):
    with QuarantineWriter(path) as writer:
        for table in tables:
            writer.write(table)
    return path


def spreadsheet_cells(path) -> list[dict]:
    """The file as a spreadsheet or Python's csv module reads it: cells as written."""
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_hostile_raw_text_is_written_spreadsheet_safe_and_read_back_exactly(tmp_path):
    table = rejects(HOSTILE_RAW, reasons=["=x: a vendor column", *["price: negative"] * (len(HOSTILE_RAW) - 1)])
    path = written(tmp_path / "q.csv", table)
    cells = spreadsheet_cells(path)
    assert [row["raw"] for row in cells] == [
        "'" + raw if raw[:1] in "=+-@\t\r'" and raw else raw for raw in HOSTILE_RAW]
    assert {row["source_file"] for row in cells} == {"'=1+2.csv"} and cells[0]["column"] == "'=x"
    assert read_quarantine(path).equals(table)
    assert reasons_in_file(path) == {"=x: a vendor column": 1, "price: negative": len(HOSTILE_RAW) - 1}


def test_blocks_cut_at_every_position_give_the_rows_written(tmp_path, monkeypatch):
    """Random raw texts of quotes, commas, newlines and CRs, read in blocks of a few bytes, so that
    a block ends at every kind of place (inside a quoted field, on a doubled quote, at a row end)."""
    chooser = random.Random(5)
    raw = ["".join(chooser.choice('ab",\n\r\'=') for _ in range(chooser.randrange(1, 30))) for _ in range(300)]
    table = rejects(raw)
    path = written(tmp_path / "q.csv", table)
    for block_bytes in (1, 2, 3, 7, 64, 1000):
        monkeypatch.setattr(quarantine, "BLOCK_BYTES", block_bytes)
        assert read_quarantine(path).equals(table), block_bytes


@pytest.mark.slow
def test_a_row_at_the_readers_limit_among_many_rows_reads_back_exactly(tmp_path):
    """A raw text of MAX_ROW_BYTES of quotes and newlines (a quoted value doubles its quotes: the
    longest cell a source row can make) after more rows than one 16 MiB block holds, and rows after it."""
    before = rejects([f"row {line},\"a\nb\",{'x' * 80}" for line in range(200_000)])
    longest = rejects(['"\n' * (MAX_ROW_BYTES // 2)], first_line=200_002)
    after = rejects(["after,1", "-after,2"], first_line=200_003)
    path = written(tmp_path / "q.csv", before, longest, after)
    assert path.stat().st_size > MAX_ROW_BYTES + (16 << 20)
    assert reasons_in_file(path) == {"price: negative": 200_003}
    back = read_quarantine(path)
    assert back.num_rows == 200_003 and back.slice(200_000, 1).equals(longest)
    assert back.slice(0, 200_000).equals(before) and back.slice(200_001).equals(after)


def test_a_file_that_is_not_a_quarantine_is_refused_naming_it_and_the_fix(tmp_path):
    path = tmp_path / "quarantine" / "abc.csv"
    path.parent.mkdir()
    path.write_text("source_file,line,column,reason,raw\na.csv,3,price,price: negative,x\na.csv,4,price\n")
    with pytest.raises(StoreError) as refused:
        reasons_in_file(path)
    assert str(path) in str(refused.value)
    assert str(tmp_path / "staging" / "abc" / "manifest.json") in str(refused.value)
