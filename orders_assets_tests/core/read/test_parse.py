"""Parsing and validation of blocks: every rule, exact lines, each of the three parse paths."""
import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from orders_assets.core.ingest.source import IngestSettings, parsed_blocks
from orders_assets.core.read.reader import SourceFormatError
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.read.validate import decimal_prices

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity,event"
GOOD = "1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,45.12,100,NEW"


def parse_text(tmp_path: Path, text: str, name: str = "orders.csv", block_bytes: int = 1 << 20):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    [source] = discover_sources(tmp_path)
    blocks = [parsed for parsed, _ in parsed_blocks(source, IngestSettings(block_bytes=block_bytes))]
    rows = pa.concat_tables([block.rows for block in blocks])
    rejects = pa.concat_tables([block.rejects for block in blocks])
    return rows, rejects, sum(block.rows_read for block in blocks)


@pytest.mark.parametrize(
    "bad_line, column",
    [
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,abc,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,-1.50,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.23456,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1e3,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,.5,100,NEW", "price"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,0,NEW", "quantity"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,-5,NEW", "quantity"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,12x,NEW", "quantity"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10.5,NEW", "quantity"),
        ("2,2025-13-45 99:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "timestamp"),
        ("2,2025-02-30 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "timestamp"),
        ("2,2025-10-05 02:30:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "timestamp"),
        (",2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW", "order_id"),
        ("2,2025-03-03 10:00:00,,P1,B,CENTRE_POINT,1.5,10,NEW", "security_code"),
        ("2,2025-03-03 10:00:00,BHP,,B,CENTRE_POINT,1.5,10,NEW", "participant_id"),
        ("2,2025-03-03 10:00:00,BHP,P1,X,CENTRE_POINT,1.5,10,NEW", "side"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10", "field_count"),
        ("2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW,extra", "field_count"),
    ],
)
def test_each_rule_rejects_its_row_with_line_and_raw_text(tmp_path, bad_line, column):
    rows, rejects, read = parse_text(tmp_path, "\n".join([HEADER, GOOD, bad_line, GOOD]) + "\n")
    assert read == 3
    assert rows.num_rows == 2
    assert rejects.to_pylist() == [
        {"source_file": "orders.csv", "line": 3, "column": column, "reason": rejects["reason"][0].as_py(), "raw": bad_line}
    ]
    assert rows["source_line"].to_pylist() == [2, 4]


def test_a_value_gets_the_same_verdict_in_a_clean_block_and_in_a_broken_one(tmp_path):
    lenient = "2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1e3,100,NEW"
    short = "3,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5"
    _, clean, _ = parse_text(tmp_path / "clean", "\n".join([HEADER, GOOD, lenient]) + "\n")
    _, broken, _ = parse_text(tmp_path / "broken", "\n".join([HEADER, GOOD, lenient, short]) + "\n")
    assert clean["reason"].to_pylist() == broken["reason"].to_pylist()[:1]
    assert broken["column"].to_pylist() == ["price", "field_count"]


def test_lines_stay_exact_across_blank_lines_crlf_and_small_blocks(tmp_path):
    body = [GOOD] * 5 + [""] + ["2,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,0,NEW"] + [GOOD] * 3
    text = "\r\n".join([HEADER] + body) + "\r\n"
    rows, rejects, read = parse_text(tmp_path, text, block_bytes=64)
    assert read == 9
    assert rejects["line"].to_pylist() == [8]
    assert rows["source_line"].to_pylist() == [2, 3, 4, 5, 6, 9, 10, 11]


def test_quoted_field_with_comma_and_broken_row_in_one_block(tmp_path):
    quoted = '3,2025-03-03 10:00:00,BHP,"P,1",B,CENTRE_POINT,1.5,10,NEW'
    short = "4,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5"
    rows, rejects, read = parse_text(tmp_path, "\n".join([HEADER, GOOD, quoted, short, GOOD]) + "\n")
    assert read == 4
    assert rows["participant_id"].to_pylist() == ["P1", "P,1", "P1"]
    assert rejects["line"].to_pylist() == [4]
    assert rejects["raw"].to_pylist() == [short]


def test_offsets_are_converted_to_exchange_time(tmp_path):
    utc = "5,2025-03-02T23:30:00Z,BHP,P1,B,CENTRE_POINT,1.5,10,NEW"
    offset = "6,2025-03-03T10:30:00+11:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW"
    rows, rejects, _ = parse_text(tmp_path, "\n".join([HEADER, GOOD, utc, offset]) + "\n")
    assert rejects.num_rows == 0
    local = pc.local_timestamp(rows["timestamp"]).to_pylist()
    assert [value.strftime("%Y-%m-%d %H:%M") for value in local] == [
        "2025-03-03 10:00", "2025-03-03 10:30", "2025-03-03 10:30"
    ]


def test_prices_are_exact_decimals_and_extras_pass_through(tmp_path, ):
    rows, _, _ = parse_text(tmp_path, "\n".join([HEADER, "7,2025-03-03 10:00:00,BHP,P1,S,LIMIT,0.0001,3,AMEND"]) + "\n",
                            name="orders.csv.gz")
    prices = decimal_prices(rows)["price"]
    assert prices.type == pa.decimal128(18, 4)
    assert str(prices[0].as_py()) == "0.0001"
    assert rows["event"].to_pylist() == ["AMEND"]


def test_missing_required_column_names_file_line_and_column(tmp_path):
    text = "order_id,timestamp,security_code,side,order_type,price,quantity\n1,2025-03-03 10:00:00,BHP,B,LIMIT,1,1\n"
    with pytest.raises(SourceFormatError, match=r"orders.csv: line 1: missing required column\(s\) participant_id"):
        parse_text(tmp_path, text)


def test_parquet_rows_follow_the_same_rules_with_row_numbers(tmp_path):
    import pyarrow.parquet as pq

    table = pa.table({
        "order_id": ["1", "2", "3"],
        "timestamp": pa.array([1741000000000000, 1741000000000000, 1741000000000000], pa.timestamp("us")),
        "security_code": ["BHP", "BHP", "CBA"],
        "participant_id": ["P1", "P2", "P3"],
        "side": ["B", "S", "B"],
        "order_type": ["CENTRE_POINT"] * 3,
        "price": pa.array([1.5, 2.25, 3.0]),
        "quantity": pa.array([10, -4, 7], pa.int64()),
    })
    pq.write_table(table, tmp_path / "orders.parquet")
    [source] = discover_sources(tmp_path)
    [(parsed, _)] = list(parsed_blocks(source, IngestSettings()))
    assert parsed.rows_read == 3
    assert parsed.rows["order_id"].to_pylist() == ["1", "3"]
    assert parsed.rows["source_line"].to_pylist() == [1, 3]
    [reject] = parsed.rejects.to_pylist()
    assert (reject["line"], reject["column"]) == (2, "quantity")
    assert '"order_id": "2"' in reject["raw"] and '"quantity": -4' in reject["raw"]
    assert [str(value) for value in decimal_prices(parsed.rows)["price"].to_pylist()] == ["1.5000", "3.0000"]


@pytest.mark.parametrize("quoted_newline", [False, True])
def test_broken_rows_among_blank_lines_and_a_quoted_newline_keep_exact_lines_on_arrows_path(
        tmp_path, monkeypatch, quoted_newline):
    from orders_assets.core.read import parse

    python_path = []
    exact = parse.RowParser._parse_exactly
    monkeypatch.setattr(parse.RowParser, "_parse_exactly", lambda self, *args: python_path.append(1) or exact(self, *args))
    short = "3,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5"
    long = "5,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW,extra"
    note = '6,2025-03-03 10:00:00,BHP,"P\n1",B,CENTRE_POINT,1.5,10,NEW' if quoted_newline else GOOD
    lines = [HEADER, GOOD, "", short, "", GOOD, long, note, "2025-02-30 10:00:00", GOOD]
    rows, rejects, read = parse_text(tmp_path, "\r\n".join(lines) + "\r\n")
    assert not python_path  # csv_rows numbers the rows Arrow read, quoted newline or not
    assert rejects["line"].to_pylist() == [4, 7, 9 + quoted_newline]
    assert rejects["raw"].to_pylist() == [short, long, "2025-02-30 10:00:00"]
    assert rows["source_line"].to_pylist() == [2, 6, 8, 10 + quoted_newline]
    assert read == rows.num_rows + rejects.num_rows == 7
