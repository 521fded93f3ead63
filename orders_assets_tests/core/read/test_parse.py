"""Parsing of blocks: one verdict whatever the path, exact lines, each of the three parse paths
(the rules themselves: test_validate, test_timestamps, test_amounts)."""
import pyarrow as pa
import pytest

from orders_assets.core.ingest.blocks import parsed_blocks
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.amounts import decimal_prices
from orders_assets.core.read.reader import SourceFormatError
from orders_assets.core.read.sources import discover_sources
from orders_assets_tests.core.read.parsing import GOOD, HEADER, parse_text


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
