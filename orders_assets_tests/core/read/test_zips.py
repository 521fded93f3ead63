"""Zips in the landing folder: which sources a zip is, their identity by content (a zipped copy of a CSV
is the CSV, as a gzipped one is), streamed in flat memory, never cut into pieces, and member names
that never name anything on disk."""
import gzip
import tracemalloc
import zipfile

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.identity import DIGEST_CHUNK, content_digest
from orders_assets.core.read.pieces import can_be_cut
from orders_assets.core.read.sources import scan_landing
from orders_assets.core.read.zips import zip_listing
from orders_assets.core.store.order_store import OrderStore


def write_zip(path, members: dict, method=zipfile.ZIP_DEFLATED):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def test_a_zip_of_one_order_file_is_that_file_and_a_zip_of_several_a_source_per_member(tmp_path):
    landing = tmp_path / "landing"
    write_zip(landing / "aig" / "20131007_trade.zip", {"20131007_trade.csv": "a\n", "__MACOSX/._x.csv": "x"})
    write_zip(landing / "week.zip", {"mon.csv": "a\n", "days/tue.csv": "b\n" * 50, "README.txt": "hi",
                                     "tue.csv.gz": gzip.compress(b"a\n"), "../up.csv": "c\n"})
    (landing / "odd.zip!x.csv").write_text("a\n")
    scan = scan_landing(landing)
    sources = {source.key: source for source in scan.sources}
    assert sorted(sources) == ["aig/20131007_trade.zip", "week.zip!days/tue.csv", "week.zip!mon.csv"]
    assert sources["aig/20131007_trade.zip"].member == "20131007_trade.csv"
    assert sources["aig/20131007_trade.zip"].size == (landing / "aig" / "20131007_trade.zip").stat().st_size
    sizes = {info.filename: info.compress_size for info in zipfile.ZipFile(landing / "week.zip").infolist()}
    assert sources["week.zip!days/tue.csv"].size == sizes["days/tue.csv"]
    assert str(sources["week.zip!mon.csv"].location) == f"{landing / 'week.zip'}!mon.csv"
    reasons = {entry.key: entry.reason for entry in scan.skipped}
    assert sorted(reasons) == ["aig/20131007_trade.zip!__MACOSX/._x.csv", "odd.zip!x.csv", "week.zip!../up.csv",
                               "week.zip!README.txt", "week.zip!tue.csv.gz"]
    assert reasons["week.zip!../up.csv"].startswith("a member name that is a path out of the archive")
    assert reasons["week.zip!tue.csv.gz"].startswith("a compressed file inside the zip")
    assert reasons["odd.zip!x.csv"].startswith("a path holding '.zip!'")


def test_a_zip_that_cannot_be_read_is_one_source_with_the_reason(tmp_path):
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + bytes(40))
    write_zip(tmp_path / "notes.zip", {"notes.txt": "hi"})
    assert zip_listing(tmp_path / "cut.zip").problem.startswith("not a readable zip archive")
    assert zip_listing(tmp_path / "notes.zip").problem.startswith("holds no order file (1 member(s); 'notes.txt'")
    [cut, notes] = scan_landing(tmp_path).sources
    assert (cut.key, cut.member, notes.key, notes.member) == ("cut.zip", None, "notes.zip", None)


def test_a_csv_its_gzip_and_its_zips_have_one_content_digest(tmp_path):
    landing = tmp_path / "landing"
    report = generate_orders(landing / "day.csv", rows=2_000, days=1, securities=3, seed=3)
    content = report.path.read_bytes()
    (landing / "day.csv.gz").write_bytes(gzip.compress(content))
    write_zip(landing / "stored.zip", {"day.csv": content}, zipfile.ZIP_STORED)
    write_zip(landing / "deflated.zip", {"inner/day.csv": content})
    write_zip(landing / "bzip2.zip", {"x.csv": content}, zipfile.ZIP_BZIP2)
    write_zip(landing / "pair.zip", {"day.csv": content, "other.csv": content[:500]})
    digests = {source.key: content_digest(source) for source in scan_landing(landing).sources}
    assert len(digests) == 7
    assert len({digests[key] for key in digests if key != "pair.zip!other.csv"}) == 1
    assert digests["pair.zip!other.csv"] != digests["day.csv"]


def test_a_zip_member_is_streamed_in_flat_memory_and_never_cut_into_pieces(tmp_path):
    row = b"1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,45.12,100\n"
    content_bytes = 12 * DIGEST_CHUNK
    write_zip(tmp_path / "big.zip", {"big.csv": row * (content_bytes // len(row))})
    [source] = scan_landing(tmp_path).sources
    tracemalloc.start()
    try:
        content_digest(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * DIGEST_CHUNK < content_bytes / 2
    assert not can_be_cut(source.path) and can_be_cut(tmp_path / "big.csv")


def test_a_member_name_names_no_file_on_disk(tmp_path):
    """Staging and quarantine names come from the source key through storage_id, whatever the member is named."""
    landing = tmp_path / "landing"
    bad_row = "2,2025-03-03 10:00:00,BHP,P1,X,CENTRE_POINT,45.12,100"
    header = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"
    members = {name: f"{header}\n{bad_row}\n" for name in ("a/b/..x.csv", "c:\\d.csv", "e f;$(g).csv")}
    write_zip(landing / "odd.zip", members)
    store = OrderStore(tmp_path / "data")
    for source in scan_landing(landing).sources:
        manifest = ingest_source(ChunkedSource(source, IngestSettings()), store)
        assert manifest.rows_rejected == 1
        assert store.quarantined(source.key).to_pylist()[0]["source_file"] == source.key
        for path in (store.quarantine_file(source.key), store.source_folder(source.key)):
            assert path.parent in (store.quarantine, store.staging) and "!" not in path.name
    assert {path.name for path in landing.iterdir()} == {"odd.zip"}
