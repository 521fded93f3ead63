"""The compiled pass against the exact path: every case of the bad-input catalogue, the fuzz test's
mutated files, generated files clean and malformed, compressed, in pieces, Parquet and vendor
layouts, each ingested twice (IngestSettings.engine exact, then compiled): the same kept rows, the
same quarantine and the same counts. And the kernel against its own plain-Python reference
(row_kernel.scan_rows.py_func) on hostile rows, output by output."""
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.pieces import commit_pieces, ingest_piece
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import COMPILED, EXACT
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read import compiled_block, compiled_market, row_kernel
from orders_assets.core.read.reader import SourceFormatError
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.core.ingest.test_bad_input import Rows, case_files

COUNTS = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "rows_filtered_order_type",
          "rows_filtered_session", "rows_filtered_participant", "rejections_by_reason", "partitions")


def staged(store: OrderStore, key: str) -> pa.Table:
    """A source's staged rows, in line order (the paths may stage a partition's rows in another order)."""
    manifest = store.manifest(key)
    folder = store.source_folder(key) / manifest.attempt
    tables = []
    for path in sorted(folder.rglob("*.arrow")):
        with pa.OSFile(str(path)) as file:
            tables.append(pa.ipc.open_file(file).read_all())
    return pa.concat_tables(tables).sort_by("source_line") if tables else None


def ingested(path: Path, root: Path, engine: str, **settings) -> tuple:
    """(manifest counts, staged rows, quarantine, market totals) of one file ingested by one engine, or
    the refusal."""
    store = OrderStore(root / engine)
    [source] = [found for found in discover_sources(path.parent) if found.key == path.name]
    try:
        manifest = ingest_source(ChunkedSource(source, IngestSettings(engine=engine, **settings)), store)
    except SourceFormatError as error:
        return ("refused", str(error)), None, None, None
    counts = {name: getattr(manifest, name) for name in COUNTS}
    counts["partitions"] = {text: sum(entry[-1] for entry in slices) for text, slices in manifest.partitions.items()}
    return counts, staged(store, source.key), store.quarantined(source.key).sort_by("line"), store.market_totals(manifest)


def assert_same(path: Path, root: Path, **settings) -> dict:
    exact, compiled = (ingested(path, root, engine, **settings) for engine in (EXACT, COMPILED))
    assert compiled[0] == exact[0], path.name
    if exact[1] is not None:
        assert compiled[1].equals(exact[1]), path.name
        assert compiled[2].equals(exact[2]), path.name
        assert compiled[3].equals(exact[3]), path.name  # the market around the filter, row for row
    return exact[0]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    return case_files(tmp_path_factory.mktemp("catalogue"))


def test_every_case_of_the_bad_input_catalogue_reads_the_same_by_both_paths(catalogue, tmp_path):
    compared = 0
    for number, (kind, (name, content, outcome)) in enumerate(sorted(catalogue.items())):
        folder = tmp_path / f"case-{number}"
        folder.mkdir()
        (folder / name).write_bytes(content)
        counts = assert_same(folder / name, folder / "stores")
        if isinstance(outcome, Rows):
            assert counts != "refused" and counts["rows_read"] == outcome.read, kind
            compared += 1
    assert compared >= 40  # the catalogue's ingested kinds, not only its refusals


@pytest.mark.parametrize("bad_rows", [0.0, 0.01])
def test_generated_files_clean_and_malformed_compressed_read_the_same(tmp_path, bad_rows):
    for name in ("orders.csv", "orders.csv.gz", "orders.csv.zst"):
        path = tmp_path / name
        generate_orders(path, rows=60_000, days=2, securities=8, seed=31, bad_rows=bad_rows)
        counts = assert_same(path, tmp_path / f"stores-{name}", block_bytes=1 << 18)
        assert counts["rows_read"] == 60_000


def test_a_non_default_filter_reads_the_same(tmp_path):
    path = tmp_path / "orders.csv"
    generate_orders(path, rows=30_000, days=2, securities=6, seed=32, bad_rows=0.005)
    from orders_assets.core.read.filters import OrderFilter

    order_filter = OrderFilter(order_types=("LIMIT", "SWEEP"), session_start="09:59:59", session_end="15:30:00",
                               participants=("P001", "P007", "P042"))
    counts = assert_same(path, tmp_path / "stores", order_filter=order_filter)
    assert counts["rows_filtered_participant"] > 0 and counts["rows_kept"] > 0


def test_every_order_type_reads_the_same_and_filters_out_none_by_type(tmp_path):
    """order_types () (a config file's `all` or []): every valid row in the session is kept,
    whatever its order type, by both paths."""
    path = tmp_path / "orders.csv"
    generate_orders(path, rows=20_000, days=2, securities=6, seed=33, bad_rows=0.005)
    from orders_assets.core.read.filters import OrderFilter

    every_type = assert_same(path, tmp_path / "every", order_filter=OrderFilter(order_types=()))
    default = assert_same(path, tmp_path / "default", order_filter=OrderFilter())
    assert every_type["rows_filtered_order_type"] == 0 < default["rows_filtered_order_type"]
    assert every_type["rows_kept"] == default["rows_kept"] + default["rows_filtered_order_type"] \
        - (every_type["rows_filtered_session"] - default["rows_filtered_session"])
    assert every_type["rows_kept"] + every_type["rows_filtered_session"] + every_type["rows_rejected"] \
        == every_type["rows_read"]


GAP_DAYS = {"Australia/Sydney": ("1917-01-01", "1971-10-31", "2025-10-05", "2037-10-04", "2038-10-03", "2050-10-02",
                                  "2199-10-06"),
            "America/New_York": ("1918-03-31", "2025-03-09", "2037-03-08", "2038-03-14", "2150-03-09"),
            "Australia/Lord_Howe": ("2025-10-05", "2040-10-07")}
"""Days on which each zone's clocks go (or went, or by its rules would go) forward, from 1917 to 2199."""


@pytest.mark.parametrize("timezone", sorted(GAP_DAYS))
def test_wall_times_around_clock_changes_read_the_same(tmp_path, timezone):
    """Every minute of the night of a change, years 1917-2199: the kernel's table of wall times
    that do not exist is the exact path's (Arrow's zone database), also past its last rule."""
    from orders_assets.core.read.filters import OrderFilter

    header = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n"
    rows = [f"{number},{day} {minute // 60:02d}:{minute % 60:02d}:30,BHP,P1,B,CENTRE_POINT,1.5,1\n"
            for number, (day, minute) in enumerate(((day, minute) for day in GAP_DAYS[timezone]
                                                    for minute in range(0, 4 * 60)), 1)]
    path = tmp_path / "orders.csv"
    path.write_text(header + "".join(rows))
    counts = assert_same(path, tmp_path / "stores",
                         order_filter=OrderFilter(timezone=timezone, session_start="00:00:00", session_end="23:59:59"))
    assert counts["rows_rejected"] > 0 and counts["rows_kept"] > 0


def test_the_kernel_reads_a_block_at_any_address_alike(tmp_path):
    """The kernel reads eight bytes at a time from aligned words: a block starting at each of the
    eight addresses of a word, and blocks shorter than a word, give the same rows."""
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n")
    from orders_assets.core.ingest.blocks import header_parser
    from orders_assets.core.read.filters import OrderFilter

    [source] = discover_sources(tmp_path)
    plan = compiled_block.compiled_plan(header_parser(source, IngestSettings()), OrderFilter(), 0)
    data = b"\n".join(HOSTILE_ROWS) + b"\n"
    for text in (data, data[:-1], b"1", b"1,2\r", b"\n\n", b'"a\nb', b""):
        expected = kernel_outputs(row_kernel.scan_rows, text, plan)
        for shift in range(1, 9):
            padded = np.frombuffer(b"\x00" * shift + text, dtype=np.uint8)[shift:]
            shifted = written(*compiled_block.scanned(padded, 5, plan))
            assert shifted[:2] == expected[:2], (text, shift)
            for ours, theirs in zip(shifted[2] + shifted[3], expected[2] + expected[3]):
                assert np.array_equal(ours, theirs), (text, shift)


def _real_rows(name: str, root: Path) -> list[str]:
    """A real exchange file's own values in the contract's columns, as text (the timestamp its
    instant written as a UTC wall time with nanoseconds, or its ISO text as published): real
    prices, quantities, sides and codes, many of which the contract rejects."""
    import pandas as pd

    def utc_text(nanoseconds) -> list[str]:
        walls = pd.to_datetime(pd.Series(nanoseconds, dtype="int64"), unit="ns")
        return [f"{wall:%Y-%m-%d %H:%M:%S}.{wall.microsecond:06d}{wall.nanosecond:03d}" for wall in walls]

    if name.startswith("cme"):
        frame = pd.read_csv(root / "cme_es_mbo_databento" / name[4:], dtype=str, keep_default_na=False)
        columns = (frame["order_id"], utc_text(frame["ts_event_ns"].astype("int64")), frame["symbol"], frame["flags"],
                   frame["side"], frame["action"], frame["price"], frame["size"])
    elif name == "xetra":
        frame = pd.read_csv(root / "xetra_posttrade_2025-10-31T1354" / "DETR-posttrade-2025-10-31T13_54.csv", dtype=str,
                            keep_default_na=False)
        columns = (frame["transIdCode"], frame["lastTradeTime"], frame["isin"], frame["executionVenueId"],
                   frame["mmtAlgoInd"], frame["tickActionIndicator"], frame["lastTrade"], frame["lastQty"])
    elif name == "tardis":
        frame = pd.read_csv(root / "binance_btcusdt_trades" / "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv",
                            dtype=str, keep_default_na=False)
        columns = (frame["id"], utc_text(frame["timestamp"].astype("int64") * 1000), frame["symbol"], frame["exchange"],
                   frame["side"].str[0].str.upper(), frame["side"], frame["price"], frame["amount"])
    else:
        frame = pd.read_csv(root / "bitstamp_btcusd_orders_2015-05-01" / "orders.csv.xz", dtype=str,
                            keep_default_na=False)
        columns = (frame["id"], utc_text(frame["timestamp"].astype("int64") * 1_000_000), frame["action"],
                   frame["direction"], frame["direction"].str[0].str.upper(), frame["action"], frame["price"],
                   frame["volume"])
    return [",".join(values) + "\n" for values in zip(*(list(column) for column in columns))]


@pytest.mark.parametrize("name", ["cme-ESH4_2023-12-24_mbo.csv.gz", "cme-ESH4_2023-12-25_mbo.csv.gz",
                                  "cme-ESM4_2024-05-08T000000-000002_mbo.csv.gz", "xetra", "tardis", "bitstamp"])
def test_real_exchange_values_read_the_same(tmp_path, name):
    """The real market data samples' own values (../shared/real-data, read from there) in the
    contract's columns: the same rows, quarantine and counts by both paths."""
    from orders_assets.core.read.filters import OrderFilter
    from orders_assets_tests.support.real_data_oracles import REAL_DATA

    if not REAL_DATA.is_dir():
        pytest.skip(f"real market data not found at {REAL_DATA}")
    path = tmp_path / "orders.csv"
    path.write_text("order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n"
                    + "".join(_real_rows(name, REAL_DATA)))
    order_filter = OrderFilter(order_types=("A", "I", "buy", "created"), timezone="UTC", session_start="00:00:00",
                               session_end="23:59:59")
    counts = assert_same(path, tmp_path / "stores", order_filter=order_filter, block_bytes=1 << 18)
    assert counts["rows_read"] > 500 and counts["rows_kept"] + counts["rows_rejected"] > 0


def test_the_fuzz_tests_mutated_files_read_the_same(tmp_path):
    from orders_assets_tests.dagster.test_fuzz import PLANS, SEED, write_landing

    landing = tmp_path / "landing"
    landing.mkdir()
    generated = tmp_path / "generated.csv"
    generate_orders(generated, rows=sum(plan.rows for plan in PLANS), days=3, securities=6, participants=30, seed=SEED)
    write_landing(landing, generated, random.Random(SEED))
    for path in sorted(landing.iterdir()):
        assert_same(path, tmp_path / f"stores-{path.name.encode().hex()[:40]}", block_bytes=1 << 16)


def test_blocks_cut_anywhere_read_the_same(tmp_path):
    """Small blocks put rows the kernel defers (quoted newlines, lone CRs) at every block edge."""
    path = tmp_path / "orders.csv"
    generate_orders(path, rows=4_000, days=1, securities=4, seed=33, bad_rows=0.02)
    text = path.read_bytes().split(b"\n")
    text[10] = text[10].replace(b",B,", b',"B",', 1)
    text[20] = text[20].replace(b",", b',"x\ny",', 1)
    text[30] = text[30] + b"\r"
    text[40] = text[40].replace(b",", b"\r,", 1)
    text[50] = text[50].replace(b"2025-03-03 ", b"2025-03-03T", 1)[:-2] + b"Z," + text[50][-1:]
    path.write_bytes(b"\n".join(text))
    for block_bytes in (1 << 12, 1 << 14, 1 << 20):
        assert_same(path, tmp_path / f"stores-{block_bytes}", block_bytes=block_bytes)


def test_a_file_in_pieces_reads_the_same(tmp_path):
    from orders_assets.core.ingest.pieces import cut_files, load_cut

    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=40_000, days=2, securities=5, seed=34, bad_rows=0.01)
    [source] = discover_sources(landing)
    results = {}
    for engine in (EXACT, COMPILED):
        store = OrderStore(tmp_path / engine)
        chunked = ChunkedSource(source, IngestSettings(engine=engine, block_bytes=1 << 16, stage_bytes=1 << 19))
        cut_id, pieces = cut_files(store, {source.key: chunked}, 3, piece_bytes=1)[source.key]
        pieces = load_cut(store, chunked, cut_id)
        for piece in pieces:
            ingest_piece(chunked, pieces, piece.index, store)
        manifest = commit_pieces(chunked, pieces, store)
        assert len(pieces) == 3 and manifest.pieces == 3
        results[engine] = ({name: getattr(manifest, name) for name in COUNTS if name != "partitions"},
                           staged(store, source.key), store.quarantined(source.key).sort_by("line"))
    assert results[COMPILED][0] == results[EXACT][0]
    assert results[COMPILED][1].equals(results[EXACT][1]) and results[COMPILED][2].equals(results[EXACT][2])


def test_parquet_and_vendor_layouts_are_read_by_the_exact_path_alone(tmp_path):
    path = tmp_path / "orders.parquet"
    generate_orders(path, rows=5_000, days=1, securities=3, seed=35)
    store = OrderStore(tmp_path / "store")
    [source] = discover_sources(tmp_path)
    manifest = ingest_source(ChunkedSource(source, IngestSettings(engine=COMPILED)), store)
    assert manifest.rows_read == 5_000 and manifest.rows_read_compiled == 0


def test_a_clean_canonical_file_is_read_by_the_compiled_pass_alone(tmp_path):
    path = tmp_path / "orders.csv"
    generate_orders(path, rows=20_000, days=1, securities=3, seed=36)
    [source] = discover_sources(tmp_path)
    manifest = ingest_source(ChunkedSource(source, IngestSettings(engine=COMPILED)), OrderStore(tmp_path / "store"))
    assert manifest.rows_read == manifest.rows_read_compiled == 20_000


HOSTILE_ROWS = [
    b"1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,45.12,100",
    b"2,2025-03-03 10:00:00.123456789,BHP,P1,S,CENTRE_POINT_BLOCK,0.0001,1",
    b"3,2025-10-05 02:30:00,BHP,P1,B,CENTRE_POINT,1,1",
    b"4,2025-02-29 10:00:00,BHP,P1,B,CENTRE_POINT,1,1",
    b"5,2024-02-29T15:59:59.999999,BHP,P1,B,CENTRE_POINT,-0.00,+007",
    b"6,2025-03-03 16:00:00,BHP,P1,B,CENTRE_POINT,-1.5,1",
    b"7,2025-03-03 12:00:00,BHP,P1,X,CENTRE_POINT,1.5,0",
    b"8,2025-03-03 12:00:00,,P1,B,CENTRE_POINT,1.5,1",
    b'9,2025-03-03 12:00:00,"BHP",P1,B,CENTRE_POINT,1.5,1',
    b'10,2025-03-03 12:00:00,"B""HP",P1,B,CENTRE_POINT,1.5,1',
    b"11,2025-03-03 12:00:00+11:00,BHP,P1,B,CENTRE_POINT,1.5,1",
    b"12,2025-03-03 12:00:00,BH\xc3\xa9,P1,B,CENTRE_POINT,1.5,1",
    b"13,2025-03-03 12:00:00,BH\xe9,P1,B,CENTRE_POINT,1.5,1",
    b"14,2025-03-03 12:00:00,BHP,P1,B,CENTRE_POINT,1.5",
    b"15,0001-01-01 12:00:00,BHP,P1,B,CENTRE_POINT,1.5,1",
    b"16,2025-03-03 12:00:00,BHP,P1,B,LIMIT,99999999999999.9999,999999999999999999",
    b"",
    b"\r",
    b"17,2025-03-03 12:00:00,BHP,P1,B,CENTRE_POINT,1.5,1\r",
    b"18,2025-03-03 12\r:00:00,BHP,P1,B,CENTRE_POINT,1.5,1",
]


def kernel_outputs(scan, data: bytes, plan) -> tuple:
    return written(*compiled_block.scanned(np.frombuffer(data, dtype=np.uint8), 5, plan, scan))


def written(rows: int, kept: int, out: tuple) -> tuple:
    """(rows, kept, per-row outputs, kept rows' outputs): the entries the kernel writes (its outputs
    are not initialised): every row's verdict, line and bytes; a rejected row's reason, and the
    fields found where the field count is the reason; the kept rows' fields and values; the order
    type's field of each row outside the filter's types, and the valid rows of each of its types; each
    valid row's wall time, price, quantity, security and order type fields (the market's totals)."""
    verdicts, reasons, lines, starts, stops, found = (array[:rows] for array in out[:6])
    rejected = verdicts == row_kernel.REJECTED
    miscounted = rejected & (np.where(rejected, reasons, -1) == row_kernel.FIELD_COUNT)
    other_type = verdicts == row_kernel.FILTERED_TYPE
    valid = compiled_market.valid_rows(verdicts)
    return (rows, kept, [verdicts, lines, starts, stops, reasons[rejected], found[miscounted],
                         out[11][:rows][other_type], out[12][:rows][other_type]],
            [array[:, :kept] for array in out[6:8]] + [array[:kept] for array in out[8:11]] + [out[13]]
            + [array[:rows][valid] for array in (*out[14:19], out[11], out[12])])


def test_the_kernel_equals_its_plain_python_reference(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id,timestamp,security_code,participant_id,side,order_type,price,quantity\n")
    from orders_assets.core.ingest.blocks import header_parser
    from orders_assets.core.read.filters import OrderFilter

    [source] = discover_sources(tmp_path)
    plan = compiled_block.compiled_plan(header_parser(source, IngestSettings()), OrderFilter(), 0)
    data = b"\n".join(HOSTILE_ROWS) + b"\n"
    compiled, reference = kernel_outputs(row_kernel.scan_rows, data, plan), \
        kernel_outputs(row_kernel.scan_rows.py_func, data, plan)
    assert compiled[:2] == reference[:2] and compiled[0] == len([row for row in HOSTILE_ROWS if row.strip(b"\r")])
    for ours, theirs in zip(compiled[2] + compiled[3], reference[2] + reference[3]):
        assert np.array_equal(ours, theirs)
    verdicts = dict(zip(compiled[2][1].tolist(), compiled[2][0].tolist()))
    line = {row.split(b",")[0]: 5 + index for index, row in enumerate(HOSTILE_ROWS)}
    assert verdicts[line[b"1"]] == row_kernel.KEPT and verdicts[line[b"3"]] == row_kernel.REJECTED
    assert verdicts[line[b"11"]] == verdicts[line[b"13"]] == verdicts[line[b"10"]] == row_kernel.DEFERRED
    assert verdicts[line[b"12"]] == row_kernel.KEPT and verdicts[line[b"16"]] == row_kernel.FILTERED_TYPE
