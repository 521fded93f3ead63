"""One file ingested in pieces, then committed as one (core/ingest/pieces.py), gives exactly what one
pass gives: the counts, the quarantine (lines and raw text) byte for byte, the content digest, the
assembled partitions and aggregates byte for byte; a piece that fails leaves the previous state whole,
and a rerun redoes only the pieces not done."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.errors import StoreError
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest import pieces as pieces_module
from orders_assets.core.ingest.pieces import commit_pieces, cut_files, ingest_piece, load_cut, pieces_done
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read import identity
from orders_assets.core.read.pieces import block_starts, pieces_at
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.core.ingest.test_bad_input import KEPT, Rows, case_files, rows, variant

COUNTS = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "rows_not_orders", "bytes",
          "rejections_by_reason", "filter_value_rows")
NOT_CUT = {"header only", "CR-only line ends (classic Mac)"}
"""The catalogue's ingested CSV files that stay one piece: no rows to cut, or CR line ends (read whole)."""


def chunked_file(landing: Path, block_bytes: int) -> ChunkedSource:
    [source] = discover_sources(landing)
    return ChunkedSource(source, IngestSettings(block_bytes=block_bytes, stage_bytes=block_bytes * 8, workers=2))


def store_files(store: OrderStore) -> dict[str, bytes]:
    """Every output file of the store (partitions, aggregates, quarantine), by path: what a user reads."""
    files = {}
    for folder in (Path(str(store.orders)), store.aggregates, store.quarantine):
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and not path.name.endswith(".lock"):
                files[str(path.relative_to(store.root))] = path.read_bytes()
    return files


def single_pass(landing: Path, data: Path, block_bytes: int):
    store = OrderStore(data)
    manifest = ingest_source(chunked_file(landing, block_bytes), store)
    assemble_partitions(store, pending_partitions(store))
    return store, manifest


def cut(landing: Path, store: OrderStore, block_bytes: int, parts: int):
    chunked = chunked_file(landing, block_bytes)
    cuts = cut_files(store, {chunked.source.key: chunked}, parts, piece_bytes=1)
    return chunked, cuts.get(chunked.source.key)


def in_pieces(landing: Path, data: Path, block_bytes: int, parts: int):
    """The file cut for `parts` workers, each piece ingested on its own, the last committing the file."""
    store = OrderStore(data)
    chunked, (cut_id, pieces) = cut(landing, store, block_bytes, parts)
    return store, ingest_and_commit(chunked, load_cut(store, chunked, cut_id), store), pieces


def ingest_and_commit(chunked: ChunkedSource, pieces: list, store: OrderStore):
    for piece in reversed(pieces):  # any order: here the last first
        ingest_piece(chunked, pieces, piece.index, store)
    manifest = commit_pieces(chunked, pieces, store)
    assemble_partitions(store, pending_partitions(store))
    return manifest


def assert_same_outputs(one, one_store: OrderStore, joined, cut_store: OrderStore, pieces: list) -> None:
    assert len(pieces) >= 2 and joined.pieces == len(pieces)
    assert {name: getattr(joined, name) for name in COUNTS} == {name: getattr(one, name) for name in COUNTS}
    assert joined.content_digest == one.content_digest
    assert sorted(joined.partitions) == sorted(one.partitions)
    one_files, cut_files_ = store_files(one_store), store_files(cut_store)
    assert cut_files_.keys() == one_files.keys()
    for name, content in one_files.items():
        assert cut_files_[name] == content, f"{name} differs from the single pass's"
    assert cut_store.market_totals(joined).equals(one_store.market_totals(one))  # the pieces' totals summed


def assert_same_as_one_pass(landing: Path, tmp_path: Path, block_bytes: int, parts: int) -> list:
    one_store, one = single_pass(landing, tmp_path / "one", block_bytes)
    cut_store, joined, pieces = in_pieces(landing, tmp_path / "cut", block_bytes, parts)
    assert joined.content_digest == identity.content_digest(chunked_file(landing, 1).source)
    assert_same_outputs(one, one_store, joined, cut_store, pieces)
    return pieces


def ingested_csv_cases(tmp_path: Path) -> dict:
    return {kind: (name, content) for kind, (name, content, expected) in case_files(tmp_path).items()
            if isinstance(expected, Rows) and name.endswith(".csv")}


def with_body_repeated(content: bytes, at_least: int) -> tuple[bytes, int]:
    """The case's rows repeated after its header until the file passes `at_least` bytes (the reader's
    first block holds the first 64 KiB whole), and where the last copy of its rows starts."""
    header_end = content.index(b"\n") + 1
    body = content[header_end:]
    copies = max(1, -(-(at_least - header_end) // max(1, len(body)))) + 1
    return content[:header_end] + body * copies, header_end + len(body) * (copies - 1)


def spread(items: list, most: int) -> list:
    return items if len(items) <= most else [items[index * len(items) // most] for index in range(most)]


def test_every_ingested_csv_case_of_the_bad_input_catalogue_cut_at_each_of_its_rows(tmp_path):
    """Each case's rows (a quoted newline, a stray quote, an unterminated quote, CRLF and blank lines,
    a BOM, Latin-1 ...) after 64 KiB of the same rows, cut in two at block starts of the last copy
    (found with 32-byte blocks: a row start of the single pass before nearly every row), the pieces
    read in 64 KiB blocks: outputs byte for byte the single pass's."""
    cases = ingested_csv_cases(tmp_path)
    assert len(cases) > 40
    tried = 0
    for number, (kind, (name, content)) in enumerate(cases.items()):
        folder = tmp_path / f"case-{number}"
        landing = folder / "landing"
        landing.mkdir(parents=True)
        if kind in NOT_CUT:
            (landing / name).write_bytes(content)
            assert cut(landing, OrderStore(folder / "plan"), 32, 4)[1] is None, kind
            continue
        content, last_copy = with_body_repeated(content, 70_000)
        (landing / name).write_bytes(content)
        one_store, one = single_pass(landing, folder / "one", 64 << 10)
        chunked = chunked_file(landing, 64 << 10)
        blocks = block_starts(chunked.source.path, 32)
        for index, cut_point in enumerate(spread([start for start in blocks.starts if start[0] >= last_copy], 4)):
            cut_store = OrderStore(folder / f"cut-{index}")
            pieces = pieces_at(blocks, [cut_point])
            try:
                assert_same_outputs(one, one_store, ingest_and_commit(chunked, pieces, cut_store), cut_store, pieces)
            except AssertionError as error:
                raise AssertionError(f"{kind}, cut at byte {cut_point[0]} (line {cut_point[1]}): {error}") from error
            tried += 1
    assert tried > 80


@pytest.mark.parametrize("bad_rows", [0.0, 0.001])
def test_a_generated_file_clean_or_with_malformed_rows_in_pieces_with_many_digest_segments(tmp_path, monkeypatch,
                                                                                            bad_rows):
    monkeypatch.setattr(identity, "SEGMENT_BYTES", 64 << 10)
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=3, securities=6, seed=5, bad_rows=bad_rows)
    pieces = assert_same_as_one_pass(landing, tmp_path, 64 << 10, 3)
    assert len(pieces) == 3
    rejected = OrderStore(tmp_path / "one").manifests()[0].rows_rejected
    assert (rejected > 0) == (bad_rows > 0)


def test_quoted_newlines_and_stray_quotes_at_every_cut(tmp_path):
    lines = []
    for index in range(400):
        lines += [KEPT, variant(participant_id='"P\n1"'), variant(participant_id='P"1'), variant(price="x")]
        if index % 50 == 0:
            lines.append(variant(participant_id='"P1'))  # unterminated: swallows the next line
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "quotes.csv").write_bytes(rows(*lines))
    for block_bytes in (64, 1000, 4096):
        assert_same_as_one_pass(landing, tmp_path / f"blocks-{block_bytes}", block_bytes, 5)


def test_files_refused_whole_are_not_cut(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_bytes(rows(KEPT, KEPT, header="order_id,timestamp,security_code"))
    assert cut(landing, OrderStore(tmp_path / "data"), 32, 4)[1] is None  # one step, refused with its reason


def test_a_failed_piece_leaves_the_previous_state_and_a_rerun_redoes_only_it(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=6_000, days=2, securities=4, seed=1, bad_rows=0.01)
    store = OrderStore(tmp_path / "data")
    previous = ingest_source(chunked_file(landing, 1 << 20), store)
    with open(landing / "orders.csv", "ab") as file:  # the file grows: to ingest again, this time in pieces
        file.write((variant(order_id="99999", price="x") + "\n").encode())
    chunked, (cut_id, pieces) = cut(landing, store, 4096, 3)
    ingest_piece(chunked, pieces, 0, store)
    real = pieces_module.stage_blocks

    def breaks(blocks, *arguments):
        for _block in blocks:
            raise OSError("disk gone")  # mid-piece, after the piece started writing
        return real(blocks, *arguments)

    monkeypatch.setattr(pieces_module, "stage_blocks", breaks)
    with pytest.raises(OSError):
        ingest_piece(chunked, pieces, 1, store)
    monkeypatch.setattr(pieces_module, "stage_blocks", real)
    with pytest.raises(StoreError, match=r"piece\(s\) 2/3, 3/3 not done"):
        commit_pieces(chunked, pieces, store)
    assert store.manifest(chunked.source.key) == previous  # the previous state stands
    assert pieces_done(store, chunked, pieces) == [0]
    outcomes = [ingest_piece(chunked, pieces, index, store) for index in range(3)]
    assert [outcome.redone for outcome in outcomes] == [False, True, True]
    manifest = commit_pieces(chunked, pieces, store)
    assert manifest.rows_read == previous.rows_read + 1 and manifest.rows_rejected == previous.rows_rejected + 1
    assert commit_pieces(chunked, pieces, store) is None  # committed once
    assert [entry.name for entry in store.source_folder(chunked.source.key).iterdir() if entry.is_dir()] == [
        manifest.attempt]


PIECE_SCRIPT = """
import os, sys
from pathlib import Path
from orders_assets.core.ingest import pieces as module
from orders_assets.core.ingest.pieces import ingest_piece, load_cut
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.core.ingest.test_pieces import chunked_file

landing, data, cut_id, index = sys.argv[1:]
store = OrderStore(data)
chunked = chunked_file(Path(landing), 4096)
real = module.stage_blocks
def killed(blocks, *arguments):
    def then_killed():
        for number, block in enumerate(blocks):
            if number == 3:
                os.kill(os.getpid(), 9)
            yield block
    return real(then_killed(), *arguments)
module.stage_blocks = killed
ingest_piece(chunked, load_cut(store, chunked, cut_id), int(index), store)
"""


def test_a_piece_killed_with_sigkill_then_a_rerun_commits_the_file_as_one_pass_does(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=2, securities=4, seed=2, bad_rows=0.001)
    store = OrderStore(tmp_path / "data")
    chunked, (cut_id, pieces) = cut(landing, store, 4096, 3)
    ingest_piece(chunked, pieces, 0, store)
    killed = subprocess.run([sys.executable, "-c", PIECE_SCRIPT, str(landing), str(store.root), cut_id, "1"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    attempt = store.source_folder(chunked.source.key) / f"attempt-p{cut_id}"
    assert (attempt / "piece-1.partial").is_dir() and not (attempt / "piece-1").exists()
    assert store.manifest(chunked.source.key) is None
    outcomes = [ingest_piece(chunked, pieces, index, store) for index in range(3)]
    assert [outcome.redone for outcome in outcomes] == [False, True, True]
    assert not (attempt / "piece-1.partial").exists()
    commit_pieces(chunked, pieces, store)
    assemble_partitions(store, pending_partitions(store))
    one_store, one = single_pass(landing, tmp_path / "one", 4096)
    assert store.manifest(chunked.source.key).rows_read == one.rows_read == 20_000
    assert store_files(store) == store_files(one_store)


def test_a_recorded_cut_is_found_without_a_scan_until_it_is_committed(tmp_path, monkeypatch):
    """The sensor plans from the recorded cut; once committed, the file asked again (run --rehash)
    is read as one step, which compares its content, never 'found done' from its pieces."""
    landing = tmp_path / "landing"
    generate_orders(landing / "history.csv", rows=20_000, days=2, securities=3, seed=2)
    store = OrderStore(tmp_path / "data")
    chunked, (cut_id, pieces) = cut(landing, store, 64 << 10, 3)
    assert pieces_module.find_cut(store, chunked) == (cut_id, pieces)
    other_rules = ChunkedSource(chunked.source, IngestSettings(quantity_decimals=2, block_bytes=64 << 10))
    assert pieces_module.find_cut(store, other_rules) is None  # cut under other rules: planned anew
    assert pieces_module.pieces_wanted(chunked, 3, 1) == 3 and pieces_module.pieces_wanted(chunked, 3, chunked.source.size) == 1
    monkeypatch.setattr(pieces_module, "plan_pieces", lambda *args, **kwargs: pytest.fail("scanned again"))
    assert cut_files(store, {chunked.source.key: chunked}, 3, 1) == {chunked.source.key: (cut_id, pieces)}
    ingest_and_commit(chunked, pieces, store)
    monkeypatch.undo()
    assert pieces_module.find_cut(store, chunked) is None
    assert cut_files(store, {chunked.source.key: chunked}, 3, 1) == {}


def parquet_in_row_groups(landing: Path, rows: int, group_rows: int) -> Path:
    """A generated Parquet file rewritten in row groups of `group_rows`, a quantity in every 997th row
    made negative so that some rows are rejected (with their row numbers) in every piece."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    generated = generate_orders(landing / "generated.parquet", rows=rows, days=2, securities=5, seed=6).path
    table = pq.read_table(generated)
    quantity = table["quantity"].to_numpy().copy()
    quantity[::997] = -5
    table = table.set_column(table.schema.get_field_index("quantity"), "quantity", pa.array(quantity))
    generated.unlink()
    path = landing / "history.parquet"
    pq.write_table(table, path, row_group_size=group_rows, compression="zstd")
    return path


def test_a_parquet_file_is_cut_at_its_row_groups_with_the_single_passs_row_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(identity, "SEGMENT_BYTES", 64 << 10)
    landing = tmp_path / "landing"
    path = parquet_in_row_groups(landing, 30_000, 2_500)
    monkeypatch.setattr(pieces_module, "plan_pieces", lambda *a, **k: pytest.fail("a Parquet file needs no scan"))
    for parts in (2, 5):
        pieces = assert_same_as_one_pass(landing, tmp_path / f"parts-{parts}", 1 << 20, parts)
        assert len(pieces) == parts and pieces[0].row_groups[0] == 0 and pieces[-1].row_groups[1] == 12
        assert [piece.first_line for piece in pieces] == [1 + piece.row_groups[0] * 2_500 for piece in pieces]
    one = OrderStore(tmp_path / "parts-2" / "one").manifests()[0]
    assert one.rows_rejected == len(range(0, 30_000, 997)) and path.stat().st_size > 4 * (64 << 10)
