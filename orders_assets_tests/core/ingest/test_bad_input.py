"""The catalogue of bad input (docs/reliability.md lists the same cases): for each kind, the file is
either ingested with every row accounted for (kept, filtered out, or quarantined with its line and
reason), or refused as a whole with a message naming the file and the problem."""
import bz2
import errno
import gzip
import io
import lzma
import zipfile
from decimal import Decimal
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.reader import MAX_ROW_BYTES, SourceFormatError, SourceVanishedError
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.atomic import OutputWriteError
from orders_assets.core.store.atomic import TEMP_PREFIX
from orders_assets.core.store.order_store import OrderStore

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity"
KEPT = "1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,45.12,100"
OUT = "2,2025-03-03 10:00:00,BHP,P1,B,LIMIT,45.12,100"


BAD_ROW_BASE = {"order_id": "3", "timestamp": "2025-03-03 10:00:00", "security_code": "BHP", "participant_id": "P1",
                "side": "B", "order_type": "CENTRE_POINT", "price": "1.5", "quantity": "10"}


def variant(**fields: str) -> str:
    """A row kept by default, with the given fields replaced: each case shows only what is wrong."""
    return ",".join({**BAD_ROW_BASE, **fields}[name] for name in HEADER.split(","))


def rows(*lines: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return (newline.join([header, *lines]) + newline).encode()


def generated(tmp_path: Path, name: str = "base.csv", rows_: int = 300) -> bytes:
    path = tmp_path / "generated" / name
    generate_orders(path, rows=rows_, days=1, securities=3, seed=11)
    return path.read_bytes()


@dataclass(frozen=True)
class Rows:
    """Ingested: rows_read, kept, filtered out, and {line: column} of the quarantined rows."""

    read: int
    kept: int
    filtered_out: int
    rejected: dict


@dataclass(frozen=True)
class Refused:
    message: str


def parquet_orders(price: pa.Array, quantity: pa.Array) -> bytes:
    """A Parquet order file with these price and quantity columns (as typed), the other fields of BAD_ROW_BASE."""
    rows_ = len(price)
    table = pa.table({name: [value] * rows_ for name, value in BAD_ROW_BASE.items() if name not in ("price", "quantity")})
    table = table.append_column("price", price).append_column("quantity", quantity)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def zipped(name: str, content: bytes, method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def zip_patched(archive: bytes, field: int, value: int) -> bytes:
    """A zip of one member whose central directory entry says `value` at `field` (its byte offset in the
    entry: 8 the flags, 10 the compression method), as another archiver writes an encrypted or a
    Deflate64 member; the local header says the same."""
    patched = bytearray(archive)
    for header, offset in ((b"PK\x01\x02", field), (b"PK\x03\x04", field - 2)):
        at = patched.find(header) + offset
        patched[at:at + 2] = value.to_bytes(2, "little")
    return bytes(patched)


def zip_with_bad_crc(content: bytes) -> bytes:
    """A stored member whose last byte was changed after its CRC-32 was written: damage found at its end."""
    archive = bytearray(zipped("orders.csv", content))
    at = archive.find(content) + len(content) - 2
    archive[at] = ord("7") if archive[at] != ord("7") else ord("8")
    return bytes(archive)


def case_files(tmp_path: Path) -> dict[str, tuple[str, bytes, object]]:
    """kind -> (file name, content, expected outcome)."""
    base = generated(tmp_path)
    base_rows = base.count(b"\n") - 1
    reordered = pacsv.read_csv(io.BytesIO(base), convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in HEADER.split(",") + ["event"]}))
    reordered = reordered.select(list(reversed(reordered.column_names)))
    reordered_bytes = io.BytesIO()
    pacsv.write_csv(reordered, reordered_bytes, pacsv.WriteOptions(quoting_style="none"))
    parquet_wrong = io.BytesIO()
    pq.write_table(pa.table({"order_id": ["1"], "price": [1.0]}), parquet_wrong)
    return {
        "wrong field count, short": ("a.csv", rows(KEPT, "3,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.5"),
                                     Rows(2, 1, 0, {3: "field_count"})),
        "wrong field count, long": ("a.csv", rows(KEPT, KEPT + ",extra"), Rows(2, 1, 0, {3: "field_count"})),
        "unterminated quote swallowing the next line": (
            "a.csv", rows(KEPT, variant(participant_id='"P1'), KEPT),
            Rows(2, 1, 0, {3: "field_count"})),
        "embedded newline in a quoted field": (
            "a.csv", rows(KEPT, variant(participant_id='"P\n1"'), KEPT), Rows(3, 3, 0, {})),
        "non-numeric price": ("a.csv", rows(KEPT, variant(price="abc")),
                              Rows(2, 1, 0, {3: "price"})),
        "negative price": ("a.csv", rows(KEPT, variant(price="-0.5")),
                           Rows(2, 1, 0, {3: "price"})),
        "zero quantity": ("a.csv", rows(KEPT, variant(quantity="0")),
                          Rows(2, 1, 0, {3: "quantity"})),
        "negative quantity": ("a.csv", rows(KEPT, variant(quantity="-10")),
                              Rows(2, 1, 0, {3: "quantity"})),
        "huge quantity (beyond int64)": ("a.csv", rows(KEPT, variant(quantity="9" * 30)),
                                         Rows(2, 1, 0, {3: "quantity"})),
        "huge price (beyond decimal(18,4))": ("a.csv", rows(KEPT, variant(price="9" * 30)),
                                              Rows(2, 1, 0, {3: "price"})),
        "tiny price (5 decimals)": ("a.csv", rows(KEPT, variant(price="0.00001")),
                                    Rows(2, 1, 0, {3: "price"})),
        "impossible timestamp": ("a.csv", rows(KEPT, variant(timestamp="2025-02-30 10:00:00")),
                                 Rows(2, 1, 0, {3: "timestamp"})),
        "bad time zone offset": ("a.csv", rows(KEPT, variant(timestamp="2025-03-03T10:00:00+25:00")),
                                 Rows(2, 1, 0, {3: "timestamp"})),
        "valid offsets in another zone": ("a.csv", rows(KEPT, variant(timestamp="2025-03-02T23:30:00Z")),
                                          Rows(2, 2, 0, {})),
        "DST gap (a local time that does not exist)": (
            "a.csv", rows(KEPT, variant(timestamp="2025-10-05 02:30:00")), Rows(2, 1, 0, {3: "timestamp"})),
        "DST overlap (a local time that exists twice)": (
            "a.csv", rows(KEPT, variant(timestamp="2025-04-06 02:30:00")), Rows(2, 1, 1, {})),
        "missing key field": ("a.csv", rows(KEPT, variant(security_code="")),
                              Rows(2, 1, 0, {3: "security_code"})),
        "duplicate order events (same line twice)": ("a.csv", rows(KEPT, KEPT), Rows(2, 2, 0, {})),
        "missing header (data on line 1)": ("a.csv", rows(KEPT, header=OUT), Refused("missing required column(s)")),
        "missing required column": ("a.csv", rows("1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,100",
                                                  header=HEADER.replace(",price", "")),
                                    Refused("missing required column(s) price")),
        "duplicate header column": ("a.csv", rows(KEPT + ",P2", header=HEADER + ",participant_id"),
                                    Refused("duplicate column name(s) participant_id")),
        "extra columns pass through": ("a.csv", rows(KEPT + ",x,y", OUT + ",x,y", header=HEADER + ",venue,note"),
                                       Rows(2, 1, 1, {})),
        "reordered columns": ("a.csv", reordered_bytes.getvalue(), Rows(base_rows, None, None, None)),
        "UTF-8 byte order mark": ("a.csv", b"\xef\xbb\xbf" + rows(KEPT, OUT), Rows(2, 1, 1, {})),
        "Latin-1 bytes": ("a.csv", rows(KEPT) + (variant(participant_id="Pé") + "\n").encode("latin-1"),
                          Rows(2, 2, 0, {})),
        "CRLF line ends and blank lines": ("a.csv", rows(KEPT, "", OUT, "", newline="\r\n"), Rows(2, 1, 1, {})),
        "empty file": ("a.csv", b"", Refused("empty file or empty header line")),
        "header only": ("a.csv", rows(), Rows(0, 0, 0, {})),
        "truncated gzip": ("a.csv.gz", gzip.compress(base)[:-40], Refused("cannot read past byte")),
        "corrupt zstd": ("a.csv.zst", b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4, Refused("cannot read past byte")),
        "gzip that is not gzip": ("a.csv.gz", base, Refused("cannot read past byte")),
        "Parquet with the wrong schema": ("a.parquet", parquet_wrong.getvalue(),
                                          Refused("missing required column(s) timestamp")),
        "corrupt Parquet": ("a.parquet", b"PAR1" + bytes(100) + b"PAR1", Refused("not a readable Parquet file")),
        "a single line longer than the row limit": (
            "a.csv", rows(KEPT) + b"9," + b"x" * (MAX_ROW_BYTES + 10) + b"\n", Refused("a row longer than")),
        "file name with spaces, unicode and shell metacharacters": ("a b é $(x); `y`.csv", rows(KEPT, OUT),
                                                                    Rows(2, 1, 1, {})),
        # issue 18: values that stopped a whole file
        "Parquet prices inf and NaN": ("a.parquet", parquet_orders(pa.array([1.5, float("inf"), float("nan")]),
                                                                   pa.array([10, 10, 10])),
                                       Rows(3, 1, 0, {2: "price", 3: "price"})),
        "Parquet float price with 5 places (never rounded silently)": (
            "a.parquet", parquet_orders(pa.array([12.34, 12.34567]), pa.array([10, 10])),
            Rows(2, 1, 0, {2: "price"})),
        "Parquet uint64 quantities from 2^63": (
            "a.parquet", parquet_orders(pa.array([1.5, 1.5]), pa.array([10, 2 ** 63], pa.uint64())),
            Rows(2, 1, 0, {2: "quantity"})),
        "Parquet decimal(10,2) quantities": (
            "a.parquet", parquet_orders(pa.array([1.5, 1.5]), pa.array([Decimal("5.00"), Decimal("2.50")],
                                                                        pa.decimal128(10, 2))),
            Rows(2, 1, 0, {2: "quantity"})),
        "quantity with a plus sign": ("a.csv", rows(KEPT, variant(quantity="+5")), Rows(2, 2, 0, {})),
        "quantity with leading zeros, alone": ("a.csv", rows(KEPT, variant(quantity="0" * 19 + "7")),
                                               Rows(2, 2, 0, {})),
        "quantity with leading zeros, beside two bad rows": (
            "a.csv", rows(variant(quantity="0" * 19 + "7"), variant(quantity="x"), variant(price="y")),
            Rows(3, 1, 0, {3: "quantity", 4: "price"})),
        "quantity above 2^53": ("a.csv", rows(KEPT, variant(quantity="9007199254740993")), Rows(2, 2, 0, {})),
        "an offset that takes the instant past year 9999": (
            "a.csv", rows(KEPT, variant(timestamp="9999-12-31T23:59:59-10:00")), Rows(2, 1, 0, {3: "timestamp"})),
        "an offset past year 9999 beside an impossible date": (
            "a.csv", rows(KEPT, variant(timestamp="9999-12-31T23:59:59-10:00"),
                          variant(timestamp="2025-02-30T11:00:00+11:00")),
            Rows(3, 1, 0, {3: "timestamp", 4: "timestamp"})),
        "an impossible date with an offset": (
            "a.csv", rows(KEPT, variant(timestamp="2025-02-30T11:00:00+11:00")), Rows(2, 1, 0, {3: "timestamp"})),
        "a quoted newline before a bad row (later lines not shifted)": (
            "a.csv", rows(KEPT, variant(participant_id='"P\n1"'), variant(price="x")),
            Rows(3, 2, 0, {5: "price"})),
        "a lone CR inside an unquoted field": (
            "a.csv", rows(KEPT, variant(participant_id="P\r1"), variant(price="x")),
            Rows(3, 1, 0, {3: "line_end", 4: "price"})),
        "CR-only line ends (classic Mac)": ("a.csv", rows(KEPT, variant(price="x"), OUT, newline="\r"),
                                           Rows(3, 1, 1, {3: "price"})),
        "a stray quote inside an unquoted field": (
            "a.csv", rows(KEPT, variant(participant_id='P"1'), variant(price="x"), variant(participant_id='"P\n1"'),
                          variant(price="y")),
            Rows(5, 3, 0, {4: "price", 7: "price"})),
        # found by the fuzz test (dagster/test_fuzz.py)
        "a lone CR in the header line": ("a.csv", rows(KEPT, header=HEADER.replace("side", "si\rde")),
                                         Refused("line 1: the header line is not CSV")),
        "an offset with 60 minutes": ("a.csv", rows(KEPT, variant(timestamp="2025-03-03T10:00:00+10:60"),
                                                    variant(timestamp="2025-02-30T11:00:00+11:00")),
                                      Rows(3, 1, 0, {3: "timestamp", 4: "timestamp"})),
        "an offset that takes the instant before year 1": (
            "a.csv", rows(KEPT, variant(timestamp="0001-01-01T10:00:00+10:04")), Rows(2, 1, 0, {3: "timestamp"})),
        "a local time whose instant is before year 1": (
            "a.csv", rows(KEPT, variant(timestamp="0001-01-01 00:00:00")), Rows(2, 1, 0, {3: "timestamp"})),
        "a timestamp without seconds, alone": (
            "a.csv", rows(variant(timestamp="2025-03-03 11:00"), variant(timestamp="2025-03-03")),
            Rows(2, 0, 0, {2: "timestamp", 3: "timestamp"})),
        "a 19-digit quantity among plain digits": ("a.csv", rows(KEPT, variant(quantity="1" + "0" * 18)),
                                                   Rows(2, 1, 0, {3: "quantity"})),
        "own columns named like the pipeline's": (
            "a.csv", rows(KEPT + ",x,y,z,w,v", header=HEADER + ",source_line,source_file,trade_date,local_time,hour"),
            Rows(1, 1, 0, {})),
        # issue 41: refusals that garbled their reason
        "UTF-16 with a byte order mark (Excel's 'Unicode text')": (
            "a.csv", rows(KEPT, OUT).decode().encode("utf-16"),
            Refused("the file is UTF-16 little-endian text, not UTF-8: save it as UTF-8")),
        "UTF-16 big-endian without a byte order mark": (
            "a.csv", rows(KEPT, OUT).decode().encode("utf-16-be"),
            Refused("the file is UTF-16 big-endian text, not UTF-8: save it as UTF-8 (in a spreadsheet: CSV UTF-8; "
                    "or `iconv -f UTF-16BE -t UTF-8`)")),
        "UTF-32 with a byte order mark": ("a.csv", rows(KEPT, OUT).decode().encode("utf-32"),
                                          Refused("the file is UTF-32 little-endian text, not UTF-8")),
        "UTF-16 gzipped": ("a.csv.gz", gzip.compress(rows(KEPT, OUT).decode().encode("utf-16")),
                           Refused("the file is UTF-16 little-endian text, not UTF-8")),
        "gzip inside gzip": (
            "a.csv.gz", gzip.compress(gzip.compress(rows(KEPT, OUT))),
            Refused("a.csv.gz: compressed twice: the content inside its gzip compression is gzip-compressed again; "
                    "remove the outer layer (`gzip -dc a.csv.gz > a-once.csv.gz`) and land that file instead")),
        "zstd inside gzip": ("a.csv.gz", gzip.compress(pa.compress(rows(KEPT, OUT), codec="zstd", asbytes=True)),
                             Refused("the content inside its gzip compression is zstd-compressed again")),
        "gzip named .csv": ("a.csv", gzip.compress(rows(KEPT, OUT)),
                            Refused("the content is gzip-compressed but the name does not end in .gz: rename it to "
                                    "a.csv.gz")),
        "bz2 inside zstd": ("a.csv.zst", pa.compress(bz2.compress(rows(KEPT)), codec="zstd", asbytes=True),
                            Refused("the content inside its zstd compression is bz2-compressed again; remove the outer layer "
                                    "(`zstd -dc a.csv.zst > a.csv.bz2`) and land that file instead")),
        "xz named .csv": ("a.csv", lzma.compress(rows(KEPT)),
                          Refused("the content is xz-compressed but the name does not end in .xz: rename it to a.csv.xz")),
        "a zip of one CSV, stored": ("a.zip", zipped("orders.csv", rows(KEPT, OUT)), Rows(2, 1, 1, {})),
        "a zip of one CSV, deflated, with a quarantined row": (
            "a.zip", zipped("day/orders.csv", rows(KEPT, variant(side="X"), OUT), zipfile.ZIP_DEFLATED),
            Rows(3, 1, 1, {3: "side"})),
        "a zip cut short": ("a.zip", zipped("orders.csv", rows(KEPT, OUT))[:-30],
                            Refused("a.zip: not a readable zip archive")),
        "an empty zip": ("a.zip", zipped("orders.csv", b"")[:0] + b"PK\x05\x06" + bytes(18),
                         Refused("a.zip: an empty zip archive")),
        "a zip of no CSV": ("a.zip", zipped("notes.txt", b"hello"),
                            Refused("holds no order file (1 member(s); 'notes.txt': not an order file by name")),
        "a zip of a .csv.gz": ("a.zip", zipped("orders.csv.gz", gzip.compress(rows(KEPT))),
                               Refused("a compressed file inside the zip: not read; zip the .csv itself")),
        "a zip member named out of the archive": ("a.zip", zipped("../orders.csv", rows(KEPT)),
                                                  Refused("a member name that is a path out of the archive")),
        "an encrypted zip member": ("a.zip", zip_patched(zipped("orders.csv", rows(KEPT)), 8, 1),
                                    Refused("a.zip!orders.csv: the member is encrypted (password-protected)")),
        "a Deflate64 zip member": ("a.zip", zip_patched(zipped("orders.csv", rows(KEPT)), 10, 9),
                                   Refused("compressed with deflate64, which cannot be read")),
        "a zip member whose CRC does not match": ("a.zip", zip_with_bad_crc(rows(KEPT, OUT)),
                                                  Refused("a.zip!orders.csv: cannot read past byte")),
        "a zip inside a zip": ("a.zip", zipped("orders.csv", zipped("inner.csv", rows(KEPT))),
                               Refused("the file is a zip archive, not CSV text")),
        "a zip archive named .csv": ("a.csv", zipped("orders.csv", rows(KEPT)),
                                     Refused("the file is a zip archive, not CSV text: rename it to a.csv.zip")),
        "a headerless line starting as bzip2's magic does, read as text": (
            "a.csv", rows(header="BZh9,x") + b"\n" + rows(KEPT, OUT), Refused("missing required column(s) order_id")),
        "a header line ending in two commas": (
            "a.csv", rows(KEPT + ",,", header=HEADER + ",,"),
            Refused("line 1: columns 9 and 10 of 10 have no name (commas at the end of the header line?); name them, "
                    "or remove the extra commas")),
        "a header line ending in one comma (a column without a name, kept)": (
            "a.csv", rows(KEPT + ",", OUT + ",", header=HEADER + ","), Rows(2, 1, 1, {})),
        "duplicate header columns, said with their positions": (
            "a.csv", rows(KEPT + ",P2,x,y", header=HEADER + ",participant_id,side,side"),
            Refused("duplicate column name(s) participant_id, side (participant_id at columns 4 and 9; side at "
                    "columns 5, 10 and 11); rename all but one of each")),
        "binary bytes as the header": (
            "a.csv", bytes(range(1, 10)) + b"," + bytes(range(14, 32)) + b"\x7f,\xff\xfe\xfd\n" + rows(KEPT),
            Refused(r"found \x01\x02\x03\x04\x05\x06\x07\x08, \x0e\x0f\x10")),
        "a thousand columns, none required": (
            "a.csv", rows(",".join(["1"] * 1000), header=",".join(f"c{index}" for index in range(1000))),
            Refused("found c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, "
                    "... (980 more). Rename the columns")),
    }


def test_own_columns_named_like_the_pipelines_are_renamed_kept_and_said(tmp_path):
    from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions

    header = HEADER + ",source_line,hour,hour_extra"
    store, manifest = ingest_one(tmp_path, "a.csv", rows(KEPT + ",x,y,z", header=header))
    assert manifest.renamed_columns == {"source_line": "source_line_extra", "hour": "hour_extra2"}
    assemble_partitions(store, pending_partitions(store))
    (row,) = store.read_partition(("2025-03-03", "BHP")).to_pylist()
    assert (row["source_line"], row["hour"], row["source_file"]) == (2, 10, "a.csv")  # the pipeline's own
    assert (row["source_line_extra"], row["hour_extra2"], row["hour_extra"]) == ("x", "y", "z")  # the file's


def test_a_quantity_sum_beyond_2_53_is_exact_in_the_reports(tmp_path):
    from orders_assets.core.assemble.report_tables import build_report
    from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
    from orders_assets.core.assemble.aggregate_files import load_partials

    store, _ = ingest_one(tmp_path, "a.csv", rows(variant(quantity="9007199254740993"), variant(quantity="1")))
    assemble_partitions(store, pending_partitions(store))
    (row,) = build_report("by_security", load_partials(store), (10_000,)).to_pylist()
    assert row["quantity"] == 9007199254740994 and row["orders"] == 2  # the sum stays exact
    assert row["avg_quantity"] == 9007199254740994 / 2


def test_a_quantity_sum_beyond_int64_widens_the_report_column_and_stays_exact(tmp_path):
    """Ten 18-digit quantities, each valid, sum past 2^63: int64 sums would wrap to a negative figure."""
    from orders_assets.core.assemble.aggregate import exact_totals
    from orders_assets.core.assemble.report_tables import build_report
    from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
    from orders_assets.core.assemble.aggregate_files import load_partials
    from orders_assets.core.invariants import metric_type_problems

    largest = "9" * 18
    store, _ = ingest_one(tmp_path, "a.csv", rows(*[variant(quantity=largest)] * 10, variant(security_code="RIO")))
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    report = build_report("by_security", partials, (10_000,))
    assert report.schema.field("quantity").type == pa.decimal128(38, 0) and not metric_type_problems(report.schema)
    assert report.column("quantity").to_pylist() == [10 * int(largest), 10]
    assert report.column("avg_quantity").to_pylist() == [float(largest), 10.0]
    assert exact_totals(partials)["quantity"] == 10 * int(largest) + 10
    assert sorted(store.catalog_table().column("quantity").to_pylist()) == [10, 10 * int(largest)]
    small = build_report("by_security", partials.filter(pa.compute.equal(partials["security_code"], "RIO")), (10_000,))
    assert small.schema.field("quantity").type == pa.int64()  # the contract's type wherever the sums fit


def test_a_value_sum_past_38_digits_widens_the_report_column_and_stays_exact(tmp_path):
    """200 rows at the contract's own limits (14-digit price, 18-digit quantity: 32-digit values) sum
    past decimal128(38, 4): Arrow's decimal sums wrapped to a negative figure in every report."""
    from decimal import Decimal, localcontext

    from orders_assets.core.assemble.aggregate import exact_totals
    from orders_assets.core.assemble.report_tables import build_report
    from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
    from orders_assets.core.assemble.aggregate_files import load_partials
    from orders_assets.core.invariants import metric_type_problems

    price, quantity = "99999999999999.9999", "9" * 18
    store, _ = ingest_one(tmp_path, "a.csv", rows(*[variant(price=price, quantity=quantity)] * 200,
                                                  variant(security_code="RIO", price="2.5", quantity="4")))
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    with localcontext() as exact:
        exact.prec = 80  # Python's default 28 digits would round these sums too
        expected = Decimal(price) * int(quantity) * 200
        assert expected > Decimal(10) ** 34  # past what decimal128(38, 4) holds
        for name in ("by_security", "by_date", "by_order_size", "timeseries_daily", "by_participant"):
            report = build_report(name, partials)
            assert report.schema.field("value").type == pa.decimal256(76, 4), name
            assert not metric_type_problems(report.schema), name
            assert sum(report.column("value").to_pylist()) == expected + Decimal("10.0000"), name
        by_security = build_report("by_security", partials).to_pylist()
        assert [row["value"] for row in by_security] == [expected, Decimal("10.0000")]
        assert by_security[0]["avg_value"] == float(expected / 200)
        assert exact_totals(partials)["value"] == expected + 10
    assert sorted(store.catalog_table().column("value").to_pylist()) == sorted(["10.0000", f"{expected:f}"])
    small = build_report("by_security", partials.filter(pa.compute.equal(partials["security_code"], "RIO")))
    assert small.schema.field("value").type == pa.decimal128(38, 4)  # the contract's type wherever the sums fit


NEAR_MISSES = {
    "timestamp": ["2025-03-03 11:00", "2025-03-03 11", "2025-03-03", "2025-03-03T11:00:00+10:60",
                  "0001-01-01T10:00:00+10:04", "0001-01-01 00:00:00", "9999-12-31T23:59:59-10:00",
                  "2025-03-03T11:00:00+1100", "2025-03-03 11:00:00.123456789"],
    "quantity": ["1" + "0" * 18, "9" * 18, "0" * 19 + "7", "+5", "9223372036854775807", "0"],
}
"""Values a whole-column cast and the per-value patterns could judge differently."""


@pytest.mark.parametrize("column", sorted(NEAR_MISSES))
def test_a_values_fate_does_not_depend_on_the_rows_beside_it(tmp_path, column):
    """Each value alone, beside clean rows, and beside rows that force the per-value paths: one fate."""
    neighbours = {"alone": [], "clean": [KEPT, KEPT],
                  "bad": [variant(timestamp="2025-03-03T10:00:00+11:00"), variant(quantity="+7"),
                          variant(timestamp="x"), variant(quantity="y")]}
    for value in NEAR_MISSES[column]:
        fates = {}
        for name, lines in neighbours.items():
            store, manifest = ingest_one(tmp_path / f"{column}-{NEAR_MISSES[column].index(value)}-{name}", "a.csv",
                                         rows(variant(**{column: value}), *lines))
            rejected = {row["line"] for row in store.quarantined(manifest.source_key).to_pylist()}
            fates[name] = "rejected" if 2 in rejected else "kept"
        assert len(set(fates.values())) == 1, f"{column} {value!r}: {fates}"


MAX_REASON_CHARACTERS = 600
"""A refusal's reason is one line a person reads: what it quotes of the file is bounded."""


def ingest_one(folder: Path, name: str, content: bytes):
    landing = folder / "landing"
    landing.mkdir(parents=True)
    (landing / name).write_bytes(content)
    [source] = discover_sources(landing)
    store = OrderStore(folder / "data")
    return store, ingest_source(ChunkedSource(source, IngestSettings(block_bytes=1 << 20)), store)


def test_every_kind_of_bad_input_has_its_expected_outcome(tmp_path):
    cases = case_files(tmp_path)
    assert len(cases) >= 30
    failures = []
    for number, (kind, (name, content, expected)) in enumerate(sorted(cases.items())):
        folder = tmp_path / f"case-{number}"
        try:
            store, manifest = ingest_one(folder, name, content)
        except SourceFormatError as error:
            if not isinstance(expected, Refused) or expected.message not in str(error) or name not in str(error):
                failures.append(f"{kind}: refused with {error}")
            elif not str(error).isprintable() or len(str(error)) > MAX_REASON_CHARACTERS:
                failures.append(f"{kind}: the reason holds raw control bytes or runs long: {str(error)!r}")
            elif OrderStore(folder / "data").manifests():
                failures.append(f"{kind}: refused but a manifest was published")
            continue
        if isinstance(expected, Refused):
            failures.append(f"{kind}: expected refusal ({expected.message}), got {manifest.rows_read} rows")
            continue
        counts = (manifest.rows_read, manifest.rows_kept, manifest.rows_filtered_out, manifest.rows_rejected)
        if counts[0] != counts[1] + counts[2] + counts[3]:
            failures.append(f"{kind}: rows do not balance {counts}")
        quarantine = store.quarantined(manifest.source_key).to_pylist()
        found = {row["line"]: row["column"] for row in quarantine}
        wanted = (expected.read, expected.kept, expected.filtered_out)
        if any(want is not None and want != got for want, got in zip(wanted, counts)):
            failures.append(f"{kind}: counts {counts}, expected {wanted}")
        if expected.rejected is not None and found != expected.rejected:
            failures.append(f"{kind}: quarantine {found}, expected {expected.rejected}")
        if any(not row["reason"] or not row["raw"] for row in quarantine):
            failures.append(f"{kind}: a quarantined row lacks its reason or raw text")
    assert not failures, "\n".join(failures)


def test_a_directory_named_like_an_order_file_is_walked_not_read(tmp_path):
    landing = tmp_path / "landing"
    (landing / "orders.csv").mkdir(parents=True)
    (landing / "orders.csv" / "inside.csv").write_bytes(rows(KEPT))
    assert [source.key for source in discover_sources(landing)] == ["orders.csv/inside.csv"]


def test_an_unreadable_file_is_refused_with_its_name(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "locked.csv").write_bytes(rows(KEPT))
    [source] = discover_sources(landing)
    real_open = pa.OSFile

    def denied(path, *args, **kwargs):
        if str(path).endswith("locked.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(pa, "OSFile", denied)  # root ignores file modes, so the OS is asked to refuse here
    with pytest.raises(SourceFormatError, match=r"locked\.csv: cannot open the file: .*Permission denied"):
        ingest_source(ChunkedSource(source, IngestSettings()), OrderStore(tmp_path / "data"))
    assert not OrderStore(tmp_path / "data").manifests()


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_during_staging_publishes_nothing_and_a_rerun_recovers(tmp_path, monkeypatch):
    from orders_assets.core.ingest import staging

    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=2, securities=4, seed=13)
    [source] = discover_sources(landing)
    store = OrderStore(tmp_path / "data")
    chunked = ChunkedSource(source, IngestSettings(stage_bytes=1 << 20))
    with monkeypatch.context() as patched:
        patched.setattr(staging.pa.ipc, "new_file", no_space)
        with pytest.raises(OutputWriteError, match=r"cannot write .*slices-00000\.arrow: No space left on device"):
            ingest_source(chunked, store)
    assert store.manifests() == []
    manifest = ingest_source(chunked, store)
    assert manifest.rows_read == 20_000
    assert not list(store.root.rglob(f"{TEMP_PREFIX}*"))


def test_a_full_disk_during_assembly_names_the_file_keeps_the_old_outputs_and_a_rerun_recovers(tmp_path, monkeypatch):
    from orders_assets.core.assemble import assembly as assemble
    from orders_assets.core.store import date_files
    from orders_assets_tests.conftest import tree_hashes

    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=2, securities=4, seed=13)
    stores = {name: OrderStore(tmp_path / name) for name in ("clean", "full")}
    for store in stores.values():
        ingest_source(ChunkedSource(discover_sources(landing)[0], IngestSettings()), store)
    assemble.assemble_partitions(stores["clean"], assemble.pending_partitions(stores["clean"]))

    full = stores["full"]
    pending = assemble.pending_partitions(full)
    writes = []
    real_write = date_files.write_units

    def fills_up(writer, rows, units):
        writes.append(rows.num_rows)
        if len(writes) == 2:  # the second date's file, once the first is published
            no_space()
        real_write(writer, rows, units)

    with monkeypatch.context() as patched:
        patched.setattr(date_files, "write_units", fills_up)
        with pytest.raises(OutputWriteError, match=r"cannot write .*trade_date=.*orders\.parquet: No space left"):
            assemble.assemble_partitions(full, pending, workers=1)
    assert assemble.pending_partitions(full) == pending  # the catalog did not move
    assert not list(full.root.rglob(f"{TEMP_PREFIX}*"))
    assemble.assemble_partitions(full, pending)
    assert tree_hashes(full.root / "orders") == tree_hashes(stores["clean"].root / "orders")
    assert tree_hashes(full.root / "aggregates") == tree_hashes(stores["clean"].root / "aggregates")


def test_a_rejected_row_spanning_two_lines_keeps_both_as_its_raw_text(tmp_path):
    bad = variant(participant_id='"P\n1"', price="x")
    store, manifest = ingest_one(tmp_path, "a.csv", rows(KEPT, bad, variant(price="y")))
    quarantine = store.quarantined(manifest.source_key).to_pylist()
    assert [(row["line"], row["raw"]) for row in quarantine] == [(3, bad), (5, variant(price="y"))]


def test_a_stray_quote_never_splits_a_quoted_row_at_a_block_edge(tmp_path):
    """30,000 rows over 1 MiB blocks, every other one a quoted two-line row, and a stray quote near
    the start (which flipped the old quote count: cutting went quadratic and split a row)."""
    from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions

    lines = [variant(order_id=str(number), participant_id='"P\n1"' if number % 2 else "P1") for number in range(30_000)]
    lines[4] = variant(order_id="4", participant_id='P"1')
    store, manifest = ingest_one(tmp_path, "a.csv", rows(*lines))
    assert (manifest.rows_read, manifest.rows_kept, manifest.rows_rejected) == (30_000, 30_000, 0)
    assemble_partitions(store, pending_partitions(store))
    kept = store.read_partition(("2025-03-03", "BHP")).select(["order_id", "participant_id", "source_line"])
    line_of = {row["order_id"]: row for row in kept.to_pylist()}
    for number in (4, 20_001, 29_998):
        assert line_of[str(number)]["source_line"] == 2 + number + number // 2  # the odd ones before took 2 lines
    assert line_of["4"]["participant_id"] == 'P"1' and line_of["20001"]["participant_id"] == "P\n1"


def test_a_quarantine_file_is_there_only_while_its_source_has_rejected_rows(tmp_path):
    """No header-only quarantine files for clean sources; a correction without rejects removes the old one."""
    store, clean = ingest_one(tmp_path / "clean", "clean.csv", rows(KEPT, OUT))
    assert clean.rows_rejected == 0 and not store.quarantine_file("clean.csv").exists()
    assert store.quarantined("clean.csv").num_rows == 0

    store, dirty = ingest_one(tmp_path / "fixed", "a.csv", rows(KEPT, variant(price="x")))
    assert store.quarantined("a.csv").to_pylist()[0]["line"] == 3
    (tmp_path / "fixed" / "landing" / "a.csv").write_bytes(rows(KEPT, OUT))
    [source] = discover_sources(tmp_path / "fixed" / "landing")
    corrected = ingest_source(ChunkedSource(source, IngestSettings(block_bytes=1 << 20)), store)
    assert corrected.rows_rejected == 0 and not store.quarantine_file("a.csv").exists()


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz", "orders.parquet"])
def test_a_file_gone_before_its_ingest_opens_it_is_no_refusal_and_leaves_nothing_staged(tmp_path, name):
    """Moved or deleted after the plan listed it: not a fault of its content (SourceFormatError would
    refuse it), and no staging folder is left for a file never read."""
    landing = tmp_path / "landing"
    generate_orders(landing / name, rows=500, days=1, securities=2, seed=4)
    [source] = discover_sources(landing)
    (landing / name).unlink()
    store = OrderStore(tmp_path / "data")
    with pytest.raises(SourceVanishedError) as gone:
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assert not isinstance(gone.value, SourceFormatError) and isinstance(gone.value, FileNotFoundError)
    assert str(gone.value).startswith(f"{landing / name}: left the landing folder after the run planned it")
    assert not store.source_folder(name).exists() and store.manifest(name) is None
