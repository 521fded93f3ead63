"""Cutting one file into byte-range pieces (core/read/pieces.py): the cuts are the single pass's own
block starts, the pieces cover the file exactly once, each knows its first row's physical line, and
their digest segments make the digest one pass computes."""
from pathlib import Path

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.read import identity
from orders_assets.core.read.pieces import PieceStream, can_be_cut, piece_count, plan_pieces
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.read.reader import SourceFormatError, iter_blocks, open_stream, read_header, with_line_ends

BLOCK_BYTES = 4096


@pytest.fixture
def orders_file(tmp_path) -> Path:
    """A generated file with malformed rows, quoted fields among them."""
    return generate_orders(tmp_path / "orders.csv", rows=3_000, days=2, securities=5, seed=3, bad_rows=0.02).path


def single_pass_block_starts(path: Path, block_bytes: int, header: bool = True) -> dict[int, int]:
    """Byte offset -> physical line of every block one pass over the file starts."""
    with open_stream(path) as raw:
        stream, pending = with_line_ends(raw, path)
        header_end = 0
        if header:
            _names, pending = read_header(stream, path, pending)
            header_end = raw.file_position() - len(pending)
        return {header_end + block.offset: block.first_line
                for block in iter_blocks(stream, pending, block_bytes, path, 2 if header else 1)}


def test_pieces_start_where_the_single_pass_starts_a_block_on_its_line(orders_file):
    pieces = plan_pieces(orders_file, 4, BLOCK_BYTES)
    starts = single_pass_block_starts(orders_file, BLOCK_BYTES)
    assert len(pieces) == 4
    assert [(piece.index, piece.count) for piece in pieces] == [(index, 4) for index in range(4)]
    assert all(starts[piece.start] == piece.first_line for piece in pieces)
    content = orders_file.read_bytes()
    assert pieces[0].start == content.index(b"\n") + 1 and pieces[0].first_line == 2
    assert [piece.end for piece in pieces[:-1]] == [piece.start for piece in pieces[1:]]
    assert pieces[-1].end == len(content)
    body = len(content) - pieces[0].start
    targets = [pieces[0].start + body * k // 4 for k in range(1, 4)]  # equal bytes, moved on to a block start
    assert [piece.start for piece in pieces[1:]] == [min(start for start in starts if start >= target)
                                                     for target in targets]


def test_a_quoted_newline_across_a_cut_point_stays_in_one_piece(tmp_path):
    """Rows whose quoted field holds a newline: every piece starts on a row, its line counted
    with the quoted newlines before it (the physical line, as the single pass numbers it)."""
    header = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n"
    row = '{0},2025-03-03 10:00:00,BHP,"P\n{0}",B,CENTRE_POINT,1.5,10\n'
    path = tmp_path / "quoted.csv"
    path.write_text(header + "".join(row.format(index) for index in range(2_000)))
    pieces = plan_pieces(path, 3, 1024)
    content = path.read_bytes()
    assert len(pieces) == 3
    for piece in pieces:
        assert content[piece.start:].startswith(b"%d," % ((piece.first_line - 2) // 2))
        assert piece.first_line == content[:piece.start].count(b"\n") + 1


def test_fewer_blocks_than_pieces_and_files_that_are_not_cut(tmp_path, orders_file):
    assert len(plan_pieces(orders_file, 1_000, 64 << 20)) == 1  # one block: one piece
    cr_only = tmp_path / "mac.csv"
    cr_only.write_bytes(orders_file.read_bytes().replace(b"\n", b"\r"))
    [whole] = plan_pieces(cr_only, 4, BLOCK_BYTES)
    assert (whole.start, whole.end, whole.first_line) == (cr_only.read_bytes().index(b"\r") + 1,
                                                        cr_only.stat().st_size, 2)
    assert can_be_cut(Path("a.csv")) and can_be_cut(Path("a.txt")) and can_be_cut(Path("a.parquet"))  # row groups
    assert not any(can_be_cut(Path(name)) for name in ("a.csv.gz", "a.csv.xz", "a.csv.bz2", "a.csv.zst"))


def test_a_header_less_file_is_cut_from_line_one(orders_file, tmp_path):
    bare = tmp_path / "bare.csv"
    content = orders_file.read_bytes()
    bare.write_bytes(content[content.index(b"\n") + 1:])
    pieces = plan_pieces(bare, 3, BLOCK_BYTES, header=False)
    assert (pieces[0].start, pieces[0].first_line) == (0, 1)
    starts = single_pass_block_starts(bare, BLOCK_BYTES, header=False)
    assert len(pieces) == 3 and all(starts[piece.start] == piece.first_line for piece in pieces)


def test_the_hardware_rule_gives_one_piece_per_worker_none_below_the_minimum():
    assert piece_count(2 << 30, workers=2, min_piece_bytes=512 << 20) == 2
    assert piece_count(2 << 30, workers=16, min_piece_bytes=512 << 20) == 4
    assert piece_count(200 << 30, workers=16, min_piece_bytes=512 << 20) == 16
    assert piece_count(700 << 20, workers=8, min_piece_bytes=512 << 20) == 1
    assert piece_count(10, workers=1, min_piece_bytes=1) == 1


def test_the_pieces_rows_are_the_file_and_their_segments_its_digest(orders_file, monkeypatch):
    monkeypatch.setattr(identity, "SEGMENT_BYTES", 10_000)  # many segments, cut points inside them
    pieces = plan_pieces(orders_file, 3, BLOCK_BYTES)
    content = orders_file.read_bytes()
    rows, segments = [], []
    for piece in pieces:
        with PieceStream(orders_file, piece) as stream:
            while data := stream.read(777):
                rows.append(data)
            segments += stream.segments()
    assert b"".join(rows) == content[content.index(b"\n") + 1:]
    assert len(segments) == -(-len(content) // 10_000) > 3
    assert identity.combined_digest(segments) == identity.content_digest(discover_sources(orders_file.parent)[0])


def test_a_file_cut_shorter_than_its_plan_is_a_clear_error(orders_file):
    pieces = plan_pieces(orders_file, 2, BLOCK_BYTES)
    with open(orders_file, "r+b") as file:
        file.truncate(pieces[1].start + 100)
    with PieceStream(orders_file, pieces[1]) as stream, pytest.raises(SourceFormatError, match="the file changed"):
        while stream.read(1 << 20):
            pass
