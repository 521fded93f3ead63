"""A bounded, seeded fuzz of the whole pipeline: hostile rows and damaged bytes in, every row accounted for.

Valid rows from the project's generator are mutated with `random.Random(SEED)` (about 5,000
mutations, counted by kind in `fuzz.applied`) in two ways: row mutations of field values and of a
row's text (hostile security codes, quantities, prices and timestamps, boundary times of the
session, wrong field counts, stray and unterminated quotes, quoted newlines, lone CRs, CRLF, blank
and duplicated lines), and byte mutations of whole files after their header (bits flipped, bytes
inserted or deleted, NULs, lines duplicated, the tail cut). The files of PLANS share one landing
folder: a dense file, two sparse ones, two byte-damaged ones (one gzip), two whose header line is
damaged (named to sort last, so the ingest reaches them after the others), and a gzip cut short,
which must be refused as a whole. The sparse files hold a single near miss per column (digits
only, ISO-like) among clean rows, so that the fast paths that cast a whole column at once meet
hostile values too, not only the per-value paths the dense files force. One `run_pipeline` goes
over the folder; a second one must find nothing to do.

Why the reports are checked against rows read here and not `reference_reports`: the reference
reads whole files with Python's csv module and stops on what these files are full of (bytes that
are not UTF-8, lone CRs its reader takes as line ends, offsets that carry an instant past year
9999), and it has no int64 limit on quantities. So this module reads every source file itself,
without the package's code: the header (the first physical line, names stripped), then the
records by the CSV grammar the contract's readers share (a quote opens a quoted section only at a
field's start, a doubled quote inside it is literal, an LF outside quotes ends a record, one CR
before it is dropped, a lone CR is data, blank records are not rows), each record decoded as UTF-8
or else Latin-1 and split by Python's csv module, then classified by the reference's own row rules
(`reference._parse_row`) plus the limits docs/reliability.md documents (ASCII digits, at most 18
quantity digits and 14 price digits before the point, DST-gap times and instants outside years
1-9999 rejected, offsets +HH:MM or +HHMM with minutes below 60, fractions up to nanoseconds). That
gives, per file and physical line, what must be kept, filtered out or rejected, and the exact
fields of each kept row. The tests then assert that the pipeline's kept lines (the `source_line`
of the rows in the date files) and rejected lines (the quarantine) are exactly those, with the
same values and raw text, and they build the expected reports with the reference's aggregation
(`reference._build_reports`: plain Python, exact Decimals) over the rows the pipeline kept, as
read here from the source bytes, never from the pipeline's outputs. Neither the pipeline's parser
nor its aggregation judges itself: this is stronger than aggregating the date files' rows, which
would take the pipeline's own typing of each value on trust.
"""
from __future__ import annotations

import csv
import gzip
import json
import random
import re
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.core.store.order_store import OrderStore
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.support import reference
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.dagster.test_crash import outputs



SEED = 20250303
ZONE = ZoneInfo("Australia/Sydney")
KEPT_TYPES = ("CENTRE_POINT", "CENTRE_POINT_BLOCK")
SESSION = (datetime.strptime("10:00:00", "%H:%M:%S").time(), datetime.strptime("16:00:00", "%H:%M:%S").time())
ADDED_COLUMNS = {"source_line", "source_file", "local_time", "trade_date", "hour"}

SECURITY_CODES = ["", "../x", "../../../../fuzz_escape", "/abs", "/tmp/orders_assets_fuzz_abs", "A|B", "a\\b",
                  ".", "..", "\x00", "A\x00B", "Z" * 300, "ÄÖ|ü", "日本株", "🙂", "A,B", 'A"B', " BHP", "BHP ",
                  "bhp", "A\nB", "A\rB", "%2F", "A[1],B", "\t"]
PARTICIPANTS = ["", "P\x00", "../p", "P|1", "Ü" * 50, " P001", "p001", "P\n1", "P,1"]
ORDER_IDS = ["", "\x00", "O" * 300, "O,1", 'O"1', "O\r1"]
QUANTITIES = ["+5", "-1", "0", "-0", "+0", "1e3", "12345678901234567890", "9007199254740993",
              "999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808",
              "00000000000000000000007", "1.0", "10.5", " 5", "5 ", "", "abc", "٣", "５", "+", "--5", "0x10",
              "1_000", "1,000"]
QUANTITIES += ["999999999999999999"] * 3
"""Weighted: a dozen of these kept sum past int64, which the reports' sums must hold or refuse
(docs/reliability.md, case 55)."""
PRICES = ["1.23456789", "-1.5", "-0", "-0.00", "NaN", "nan", "inf", "-inf", "Infinity", "1e3", ".5", "5.", "0",
          "0.0000", "99999999999999.9999", "100000000000000", "00000000000000000001.5", "", "1,5", "١٢",
          " 1.5", "1.5 ", "+1.5", "0.0001", "12.3400"]
TIMESTAMPS = ["9999-12-31T23:59:59-10:00", "9999-12-31T23:59:59+10:00", "0001-01-01T05:00:00+10:00",
              "0001-01-01T10:00:00+10:04", "0001-01-01 10:30:00", "2025-02-30 11:00", "2025-02-30 11:00:00",
              "2025-02-29T12:00:00+11:00", "2025-03-03T23:30:00Z", "2025-03-03 10:00:00+1100",
              "2025-03-03T00:30:00+00:00", "2025-03-03 24:00:00", "2025-03-03 10:00:60", "2025-13-01 10:00:00",
              "garbage", "", "2025-03-03", "2025-03-03 11", "2025-03-03 11:00", "2025-03-03 10:00:00.1234567",
              "2025-03-03 10:00:00.123456789", "2025-03-03 10:00:00+25:00", "2025-03-03 10:00:00+10:60",
              "2025-10-05 02:30:00", "2025-04-06 02:30:00", " 2025-03-03 10:00:00", "2025-03-03 9:00:00",
              "２０２５-03-03 10:00:00", "2025-03-03t10:00:00", "2025-03-03 10:00:00,5", "2025-03-03 10:00:00 "]
SIDES = ["", "b", "s", "X", "BS", " B", "B ", "\x00", "Б"]
ORDER_TYPES = ["", "centre_point", "CENTRE_POINT ", " CENTRE_POINT", "CENTRE_POINT_BLOCK", "X" * 300, "\x00",
               "CENTRE\nPOINT"]
EXTRAS = ["", "\x00", "x" * 300, "a,b", 'a"b', "a\nb"]
VALUE_POOLS = {"security_code": SECURITY_CODES, "participant_id": PARTICIPANTS, "order_id": ORDER_IDS,
               "quantity": QUANTITIES, "price": PRICES, "timestamp": TIMESTAMPS, "side": SIDES,
               "order_type": ORDER_TYPES, "event": EXTRAS, "venue": EXTRAS, "desk": EXTRAS}
NEAR_MISSES = {
    "timestamp": ["2025-03-03", "2025-03-03 11", "2025-03-03 11:00", "2025-03-03T11:00:00",
                  "2025-02-29 11:00:00", "2025-03-03 24:00:00", "2025-03-03 11:00:00.1234567",
                  "0001-01-01 10:30:00", "2025-10-05 02:30:00"],
    "quantity": ["0", "999999999999999999", "1000000000000000000", "9223372036854775807",
                 "9223372036854775808", "00000000000000000000007", "9007199254740993", "12345678901234567890"],
    "price": ["0", "0.0000", "99999999999999.9999", "100000000000000", "00000000000000000001.5", "1.23456",
              "12.3400"],
    "security_code": SECURITY_CODES,
}
"""Values that look like their column's type (digits only, ISO-like), for the sparse files: a block
whose other values are all clean casts its whole column at once, so these meet the fast paths."""
HEADER_OPERATORS = ["cr", "quote", "nul", "flip", "delete", "comma", "space"]
BOUNDARY_TIMES = ["09:59:59.999999", "10:00:00", "10:00:00.000001", "15:59:59.999999", "16:00:00"]
INTERESTING_BYTES = [0x00, 0x0D, 0x0A, 0x22, 0x2C, 0xFF, 0xC3, 0x80, 0x20]


@dataclass
class FilePlan:
    """One landing file: how many generated rows it takes and how it is damaged."""

    name: str
    rows: int
    row_mutations: int
    byte_mutations: int = 0
    sparse: bool = False
    """One hostile value in each of a few columns, every other row untouched."""
    header_mutations: int = 0
    cut_compressed: bool = False
    """gzip, then its compressed bytes cut short: the file must be refused as a whole."""
    drop_columns: tuple[str, ...] = ()
    add_columns: tuple[str, ...] = ()
    """Pass-through columns this file lacks, or has and the others do not (their values from EXTRAS):
    a trade date's file holds the union, null where a file lacks a column."""
    open_quote_at: int | None = None
    """A quote that opens a quoted section at this row's first field and never closes: the rest of the
    file is one record, quarantined with all of its raw text (megabytes of it)."""
    multiline_rejects: bool = False
    """Every row quarantined with a quoted newline in its raw text (a quarantine of megabytes)."""


PLANS = [
    FilePlan("dense.csv", rows=2000, row_mutations=2400),
    FilePlan("sparse_a.csv", rows=900, row_mutations=0, sparse=True),
    FilePlan("sparse_b.csv", rows=900, row_mutations=0, sparse=True),
    FilePlan("bytes.csv", rows=1000, row_mutations=300, byte_mutations=300),
    FilePlan("bytes_gz.csv.gz", rows=800, row_mutations=200, byte_mutations=200),
    FilePlan("z_header_a.csv", rows=60, row_mutations=0, header_mutations=2),
    FilePlan("z_header_b.csv", rows=60, row_mutations=0, header_mutations=len(HEADER_OPERATORS)),
    FilePlan("cut.csv.gz", rows=200, row_mutations=20, cut_compressed=True),
    FilePlan("venue.csv", rows=700, row_mutations=250, add_columns=("venue",)),
    FilePlan("no_event.csv", rows=700, row_mutations=250, drop_columns=("event",), add_columns=("desk",)),
    FilePlan("\U0001d4ea" * 58 + ".csv", rows=400, row_mutations=120),
    FilePlan("quarantine_one_record.csv", rows=16_000, row_mutations=0, open_quote_at=40),
    FilePlan("quarantine_multiline.csv", rows=12_000, row_mutations=0, multiline_rejects=True),
]
"""The last five: pass-through columns that differ between the files of a trade date, a name of 4-byte
letters (232 of its 236 bytes), and quarantines of megabytes (a stray quote early in a 1.3 MB file,
thousands of rejected rows with quoted newlines), as docs/reliability.md cases 90, 94, 104 and 105."""


# ---- the mutations -----------------------------------------------------------------------------


class Mutator:
    """Seeded row and byte mutations; `applied` counts them by kind."""

    def __init__(self, rng: random.Random, header: list[str]):
        self.rng = rng
        self.header = header
        self.applied: dict[str, int] = {}

    def count(self, kind: str) -> None:
        self.applied[kind] = self.applied.get(kind, 0) + 1

    def value(self, fields: list[str], column: str) -> None:
        self.count(f"value:{column}")
        fields[self.header.index(column)] = self.rng.choice(VALUE_POOLS[column])
        if self.rng.random() < 0.5:  # most hostile values then sit in rows the filter keeps
            fields[self.header.index("order_type")] = self.rng.choice(KEPT_TYPES)

    def boundary_time(self, fields: list[str]) -> None:
        self.count("boundary_time")
        position = self.header.index("timestamp")
        try:  # the row's own day, unless an earlier mutation left none
            day = datetime.strptime(fields[position][:10], "%Y-%m-%d").date().isoformat()
            if not "2000" <= day <= "2100":
                raise ValueError(day)
        except ValueError:
            day = "2025-03-04"
        local = datetime.fromisoformat(f"{day} {self.rng.choice(BOUNDARY_TIMES)}")
        form = self.rng.randrange(3)
        if form == 0:
            text = local.isoformat(sep=" ")
        else:
            instant = local.replace(tzinfo=ZONE).astimezone(timezone.utc)
            text = instant.strftime("%Y-%m-%dT%H:%M:%S.%f") + ("Z" if form == 1 else "+00:00")
        fields[position] = text
        fields[self.header.index("order_type")] = self.rng.choice(KEPT_TYPES)

    def row(self, fields: list[str]) -> list[bytes]:
        """One generated row, mutated one to three times: the lines (with their ends) it becomes."""
        fields = list(fields)
        text_kinds: list[str] = []
        structural: list[str] = []
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            roll = self.rng.random()
            if roll < 0.62:
                self.value(fields, self.rng.choice([column for column in VALUE_POOLS if column in self.header]))
            elif roll < 0.70:
                self.boundary_time(fields)
            elif roll < 0.79:
                structural.append(self.rng.choice(["drop_field", "drop_field", "extra_field", "extra_field",
                                                   "all_empty"]))
            else:
                text_kinds.append(self.rng.choice(["stray_quote", "stray_quote", "lone_cr", "crlf",
                                                   "blank_after", "duplicate", "quote_all", "open_quote"]))
        for kind in structural:  # after the values, which are placed by column
            self.count(kind)
            if kind == "drop_field":
                del fields[self.rng.randrange(len(fields))]
            elif kind == "extra_field":
                fields.insert(self.rng.randrange(len(fields) + 1), self.rng.choice(["", "x", "\x00"]))
            else:
                fields = [""] * len(fields)
        line = serialize(fields, quote_all="quote_all" in text_kinds)
        lines = [line]
        for kind in text_kinds:
            if kind == "open_quote" and self.rng.random() > 0.15:
                continue  # rare: it swallows the lines up to the next quote
            self.count(kind)
            body = lines[0][:-1]
            if kind == "stray_quote":
                at = self.rng.randrange(1, len(body) + 1)
                lines[0] = body[:at] + b'"' + body[at:] + b"\n"
            elif kind == "open_quote":
                at = self.rng.choice([0] + [match.end() for match in re.finditer(rb",", body)])
                lines[0] = body[:at] + b'"' + body[at:] + b"\n"
            elif kind == "lone_cr":
                at = self.rng.randrange(1, len(body))
                lines[0] = body[:at] + b"\r" + body[at:] + b"\n"
            elif kind == "crlf":
                lines[0] = body + b"\r\n"
            elif kind == "blank_after":
                lines.append(self.rng.choice([b"\n", b"\r\n"]))
            elif kind == "duplicate":
                lines.append(lines[0])
        return lines

    def sparse(self, rows: list[list[str]]) -> None:
        """One near miss in each of timestamp, quantity, price and security_code, on rows the filter
        keeps otherwise, every other value as generated."""
        picked = self.rng.sample(range(len(rows)), len(NEAR_MISSES))
        for index, column in zip(picked, NEAR_MISSES):
            self.count(f"sparse:{column}")
            rows[index][self.header.index(column)] = self.rng.choice(NEAR_MISSES[column])
            rows[index][self.header.index("order_type")] = "CENTRE_POINT"
            timestamp = self.header.index("timestamp")
            if column != "timestamp":
                rows[index][timestamp] = rows[index][timestamp][:10] + " 12:00:00"

    def multiline_rejects(self, rows: list[list[str]]) -> None:
        """Every row given a quoted newline in its pass-through column and a price no rule takes."""
        for row in rows:
            self.count("multiline_reject")
            row[self.header.index("event")] = f"NEW\n{self.rng.choice(EXTRAS)}"
            row[self.header.index("price")] = self.rng.choice(["abc", "-1.5", "1.23456"])

    def header_bytes(self, data: bytes, count: int) -> bytes:
        """`count` different operators on the header line, each at a random place in it."""
        buffer = bytearray(data)
        for kind in self.rng.sample(HEADER_OPERATORS, count):
            self.count(f"header:{kind}")
            at = self.rng.randrange(buffer.index(b"\n"))
            if kind == "flip":
                buffer[at] ^= 1 << self.rng.randrange(8)
            elif kind == "delete":
                del buffer[at]
            else:
                buffer[at:at] = {"cr": b"\r", "quote": b'"', "nul": b"\x00", "comma": b",",
                                 "space": b" "}[kind]
        return bytes(buffer)

    def bytes_of(self, data: bytes, count: int) -> bytes:
        """`count` byte mutations anywhere in `data` after its header line (the header files have their
        own), at most one of them a cut of the tail."""
        buffer = bytearray(data)
        body = buffer.index(b"\n") + 1
        cut = False
        for _ in range(count):
            at = self.rng.randrange(body, len(buffer))
            kind = self.rng.choice(["flip", "insert", "insert", "delete", "nul", "duplicate_line",
                                    "truncate"])
            if kind == "truncate" and cut:
                kind = "flip"
            self.count(f"bytes:{kind}")
            if kind == "flip":
                buffer[at] ^= 1 << self.rng.randrange(8)
            elif kind == "insert":
                buffer[at:at] = bytes([self.rng.choice(INTERESTING_BYTES + [self.rng.randrange(256)])])
            elif kind == "delete":
                del buffer[at]
            elif kind == "nul":
                buffer[at:at] = b"\x00"
            elif kind == "duplicate_line":
                start = buffer.rfind(b"\n", 0, at) + 1
                end = buffer.find(b"\n", at)
                end = len(buffer) if end < 0 else end + 1
                buffer[end:end] = buffer[start:end]
            elif kind == "truncate":
                cut = True
                del buffer[len(buffer) - self.rng.randrange(1, 400):]
        return bytes(buffer)


def with_columns(plan: FilePlan, header: list[str], rows: list[list[str]],
                 rng: random.Random) -> tuple[list[str], list[list[str]]]:
    """The plan's header and rows: its dropped columns gone, its added ones after the others."""
    kept = [index for index, name in enumerate(header) if name not in plan.drop_columns]
    file_header = [header[index] for index in kept] + list(plan.add_columns)
    return file_header, [[row[index] for index in kept] + [rng.choice(EXTRAS) for _ in plan.add_columns]
                         for row in rows]


def serialize(fields: list[str], quote_all: bool = False) -> bytes:
    """A CSV line; fields with a comma, quote, CR or LF are quoted (a CR that csv.writer would leave bare)."""
    out = []
    for value in fields:
        if quote_all or any(character in value for character in ',"\r\n'):
            value = '"' + value.replace('"', '""') + '"'
        out.append(value)
    return (",".join(out) + "\n").encode("utf-8")


def write_landing(landing: Path, generated: Path, rng: random.Random) -> dict[str, int]:
    """The landing files of PLANS from the generated rows; returns the mutations applied, by kind."""
    with open(generated, newline="") as source:
        header, *rows = list(csv.reader(source))
    mutator = Mutator(rng, header)
    first = 0
    for plan in PLANS:
        file_header, chunk = with_columns(plan, header, [list(row) for row in rows[first:first + plan.rows]], rng)
        mutator.header = file_header
        first += plan.rows
        if plan.sparse:
            mutator.sparse(chunk)
        if plan.multiline_rejects:
            mutator.multiline_rejects(chunk)
        lines = [serialize(row) for row in chunk]
        if plan.open_quote_at is not None:
            mutator.count("open_quote_early")
            lines[plan.open_quote_at] = b'"' + lines[plan.open_quote_at]
        for index in rng.sample(range(len(chunk)), min(plan.row_mutations, len(chunk))):
            lines[index] = b"".join(mutator.row(chunk[index]))
        for _ in range(max(0, plan.row_mutations - len(chunk))):  # rows mutated a second time
            index = rng.randrange(len(chunk))
            lines[index] = b"".join(mutator.row(chunk[index])) + lines[index]
        data = serialize(file_header) + b"".join(lines)
        if plan.header_mutations:
            data = mutator.header_bytes(data, plan.header_mutations)
        if plan.byte_mutations:
            data = mutator.bytes_of(data, plan.byte_mutations)
        if plan.name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        if plan.cut_compressed:
            mutator.count("bytes:cut_compressed")
            data = data[: len(data) * 2 // 3]
        (landing / plan.name).write_bytes(data)
    assert first <= len(rows)
    return mutator.applied


# ---- the independent reading of a source file --------------------------------------------------


@dataclass(frozen=True)
class Record:
    line: int
    raw: str
    """The record's text, its line end dropped, decoded as UTF-8 or else Latin-1."""
    verdict: str
    """kept, filtered or rejected."""
    row: reference.OrderRow | None = None
    values: dict | None = None
    """For a valid row: its fields by column name, and its exchange-local wall time."""


@dataclass
class Reading:
    """One source file as read here: why it must be refused as a whole, or its records by first line."""

    refused: str | None = None
    records: dict[int, Record] = field(default_factory=dict)

    def lines(self, verdict: str) -> set[int]:
        return {line for line, record in self.records.items() if record.verdict == verdict}


_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?",
                        re.ASCII)
_QUANTITY = re.compile(r"\+?(\d+)", re.ASCII)
_PRICE = re.compile(r"-?(\d+)(\.\d+)?", re.ASCII)


def _extra_rule(record: dict[str, str]) -> str | None:
    """The limits docs/reliability.md adds to the reference's rules; None when the row meets them."""
    stamp, quantity, price = record["timestamp"], record["quantity"], record["price"]
    match = _TIMESTAMP.fullmatch(stamp)
    if stamp and not match:
        return f"timestamp shape: {stamp!r}"
    quantity_match = _QUANTITY.fullmatch(quantity)
    if quantity and quantity_match and len(quantity_match.group(1).lstrip("0")) > 18:
        return f"quantity beyond 18 digits: {quantity!r}"
    if quantity and not quantity_match and not re.fullmatch(r"-\d+", quantity, re.ASCII):
        return f"quantity not ASCII digits: {quantity!r}"
    price_match = _PRICE.fullmatch(price)
    if price and not price_match:
        return f"price not ASCII digits: {price!r}"
    if price_match and len(price_match.group(1)) > 14:
        return f"price beyond 14 digits before the point: {price!r}"
    if match:
        try:
            parsed = datetime.fromisoformat(match.group(1) + (match.group(2) or "")[:7])
            offset = match.group(3)
            if offset:
                offset = "+00:00" if offset == "Z" else offset
                hours, minutes = int(offset[1:3]), int(offset[-2:])
                if minutes >= 60 or hours >= 24:
                    return f"bad offset {stamp!r}"
                delta = timedelta(hours=hours, minutes=minutes) * (1 if offset[0] == "+" else -1)
                parsed.replace(tzinfo=timezone(delta)).astimezone(timezone.utc).astimezone(ZONE)
            else:
                instant = parsed.replace(tzinfo=ZONE).astimezone(timezone.utc)
                if instant.astimezone(ZONE).replace(tzinfo=None) != parsed:
                    return f"local time in the DST gap: {stamp!r}"
        except (ValueError, OverflowError) as error:
            return f"timestamp {stamp!r}: {error}"
    return None


def _local_wall_time(stamp: str) -> datetime:
    """Exchange-local wall time of a timestamp that passed _extra_rule and the reference's rules."""
    match = _TIMESTAMP.fullmatch(stamp)
    parsed = datetime.fromisoformat(match.group(1) + (match.group(2) or "")[:7])
    offset = match.group(3)
    if not offset:
        return parsed
    offset = "+00:00" if offset == "Z" else offset
    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[-2:])) * (1 if offset[0] == "+" else -1)
    return parsed.replace(tzinfo=timezone(delta)).astimezone(ZONE).replace(tzinfo=None)


def classify(fields: list[str], header: list[str]) -> tuple[str, reference.OrderRow | None, dict | None]:
    """kept, filtered or rejected; for a valid row also the reference's row (local date and hour) and
    its fields by column name with its exchange-local wall time."""
    if len(fields) != len(header):
        return "rejected", None, None
    record = dict(zip(header, fields))
    if any(record[column] == "" for column in reference.REQUIRED_COLUMNS):
        return "rejected", None, None
    if _extra_rule(record):
        return "rejected", None, None
    normalized = dict(record)
    match = _TIMESTAMP.fullmatch(record["timestamp"])
    normalized["timestamp"] = match.group(1) + (match.group(2) or "")[:7]  # offsets applied below
    try:
        row = reference._parse_row([normalized[name] for name in header], header, ZONE)
    except reference.RowRejected:
        return "rejected", None, None
    local = _local_wall_time(record["timestamp"])
    row = reference.OrderRow(security_code=row.security_code, participant_id=row.participant_id,
                             order_type=row.order_type, quantity=row.quantity, value=row.value,
                             trade_date=local.date(), hour=local.hour, local_time=local.time())
    kept = row.order_type in KEPT_TYPES and SESSION[0] <= row.local_time < SESSION[1]
    return ("kept" if kept else "filtered"), row, {**record, "local": local}


def split_records(data: bytes, first_line: int):
    """(first physical line, bytes) of every non-blank record, by the CSV grammar of the docstring."""
    start, line, in_quotes = 0, first_line, False
    record_line = line
    events = re.finditer(rb'[",\n]', data)
    skip_to = -1
    for event in events:
        at = event.start()
        if at < skip_to:
            continue
        byte = data[at]
        if byte == 0x22:
            if in_quotes:
                if data[at + 1:at + 2] == b'"':
                    skip_to = at + 2  # a doubled quote inside a quoted section
                else:
                    in_quotes = False
            elif at == start or data[at - 1] in (0x2C, 0x0A):
                in_quotes = True
        elif byte == 0x0A:
            if in_quotes:
                line += 1
                continue
            yield record_line, data[start:at]
            start, line = at + 1, line + 1
            record_line = line
    if start < len(data):
        yield record_line, data[start:]


def decode(raw: bytes) -> str:
    """A record's text: UTF-8, or Latin-1 byte for byte when it is not (docs/reliability.md, case 25)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_source(path: Path) -> Reading:
    """What the module docstring says, for one file of the landing folder."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            return Reading(refused=f"not a complete gzip stream: {error}")
    head = data[: 1 << 16]
    if b"\r" in head[:-1] and b"\n" not in head:
        data = data.replace(b"\r", b"\n")
    first, _, rest = data.partition(b"\n")
    first = first.removeprefix(b"\xef\xbb\xbf")
    text = first.decode("utf-8", errors="replace").rstrip("\r")
    if not text.strip():
        return Reading(refused="empty header line")
    try:
        header = [name.strip() for name in next(csv.reader([text]))]
    except csv.Error as error:
        return Reading(refused=f"header line is not CSV: {error}")
    missing = [name for name in reference.REQUIRED_COLUMNS if name not in header]
    if missing or len(set(header)) != len(header):
        return Reading(refused=f"header {header!r}: missing {missing} or duplicated names")
    reading = Reading()
    csv.field_size_limit(max(csv.field_size_limit(), 64 << 20))
    for line, raw in split_records(rest, 2):
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if not raw:
            continue
        text = decode(raw)
        try:
            fields = next(csv.reader([text]), [])
        except csv.Error:
            reading.records[line] = Record(line, text, "rejected")
            continue
        verdict, row, values = classify(fields, header)
        reading.records[line] = Record(line, text, verdict, row, values)
    return reading


# ---- the run -----------------------------------------------------------------------------------


def outside_tree(root: Path, data: Path) -> dict[str, tuple[int, int]]:
    """Every path under root but outside the data folder, with its size and modification time."""
    found = {}
    for path in root.rglob("*"):
        if path == data or data in path.parents:
            continue
        status = path.lstat()
        found[str(path.relative_to(root))] = (status.st_size, status.st_mtime_ns)
    return found


def escapes() -> set[str]:
    """Paths a hostile security code could reach outside the test's folder."""
    return {str(path) for path in Path("/tmp").glob("orders_assets_fuzz*")} | {
        str(path) for path in (Path("/abs"), Path("/abs.parquet")) if path.exists()}


def step_failures(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    failures = []
    for run in instance.get_runs():
        for event in instance.all_logs(run.run_id):
            if event.dagster_event and event.dagster_event.event_type_value == "STEP_FAILURE":
                failures.append((run.job_name, str(event.dagster_event.event_specific_data.error)))
    return failures


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    landing, data = root / "landing", root / "data"
    home = tmp_path_factory.mktemp("fuzz_instance")  # Dagster's own files, apart from the watched tree
    landing.mkdir()
    (root / "outside").mkdir()
    generated = root / "generated.csv"
    generate_orders(generated, rows=sum(plan.rows for plan in PLANS), days=3, securities=6, participants=30,
                    seed=SEED)
    applied = write_landing(landing, generated, random.Random(SEED))
    readings = {plan.name: read_source(landing / plan.name) for plan in PLANS}
    before, escaped_before = outside_tree(root, data), escapes()
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        outcome, error = None, None
        try:
            outcome = run_pipeline(settings, instance)
        except Exception:  # noqa: BLE001 - the test reports it, whatever it is
            error = traceback.format_exc()
        yield SimpleNamespace(root=root, landing=landing, data=data, settings=settings, instance=instance,
                              outcome=outcome, error=error, applied=applied, readings=readings, before=before,
                              escaped_before=escaped_before, store=OrderStore(data))


def summary_of(fuzz) -> dict:
    return json.loads((fuzz.data / "reports" / "summary.json").read_text())


def kept_rows(fuzz) -> dict[tuple[str, int], dict]:
    """Every row of the date files, by (source file, source line), with its trade date and its
    exchange-local wall time (taken in Arrow: a Python datetime cannot hold every instant Arrow can)."""
    rows: dict[tuple[str, int], dict] = {}
    epoch = datetime(1970, 1, 1)
    for path in sorted((fuzz.data / "orders").glob("trade_date=*/orders.parquet")):
        table = pq.read_table(path)
        local = pc.cast(pc.local_timestamp(table["timestamp"]), pa.int64()).to_pylist()
        trade_date = path.parent.name.removeprefix("trade_date=")
        for row, micros in zip(table.drop_columns(["timestamp"]).to_pylist(), local):
            key = (row["source_file"], row["source_line"])
            assert key not in rows, f"{key} is in the date files twice"
            rows[key] = {**row, "trade_date": trade_date, "local": epoch + timedelta(microseconds=micros)}
    return rows


def as_read(cell: str) -> str:
    """A text cell of a CSV file written for people as its value (README: a cell written with a
    leading apostrophe, so that a spreadsheet takes it as text, loses it)."""
    return cell[1:] if cell.startswith("'") else cell


def quarantined(fuzz) -> dict[str, dict[int, dict]]:
    """The quarantine's rows, by source file and line."""
    found: dict[str, dict[int, dict]] = {}
    for path in sorted((fuzz.data / "quarantine").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            for written in csv.DictReader(handle):
                row = {name: as_read(cell) for name, cell in written.items()}
                lines = found.setdefault(row["source_file"], {})
                assert int(row["line"]) not in lines, f"{row['source_file']} line {row['line']} is there twice"
                lines[int(row["line"])] = row
    return found


@pytest.fixture(scope="module")
def published(fuzz):
    return SimpleNamespace(kept=kept_rows(fuzz), quarantined=quarantined(fuzz))


def ingested(fuzz) -> dict[str, Reading]:
    return {name: reading for name, reading in fuzz.readings.items() if reading.refused is None}


def file_problems(reading: Reading, kept: dict[int, dict], rejected: dict[int, dict]) -> dict[str, list]:
    """Where one file's kept rows (by line) and quarantined rows differ from the independent reading."""
    problems: dict[str, list] = {}
    expected_kept, expected_rejected = reading.lines("kept"), reading.lines("rejected")

    def problem(kind: str, line: int, *details) -> None:
        record = reading.records.get(line)
        problems.setdefault(kind, []).append((line, record.raw if record else None, *details))

    for line in sorted(set(kept) - expected_kept):
        problem("kept, should not be", line, getattr(reading.records.get(line), "verdict", "not a row"))
    for line in sorted(expected_kept - set(kept)):
        problem("not kept, should be", line, rejected.get(line, {}).get("reason", "filtered out"))
    for line in sorted(set(rejected) - expected_rejected):
        problem("rejected, should not be", line, rejected[line]["reason"])
    for line in sorted(expected_rejected - set(rejected)):
        problem("not rejected, should be", line, "kept" if line in kept else "filtered out")
    for line in sorted(set(rejected) & expected_rejected):
        if rejected[line]["raw"] != reading.records[line].raw or not rejected[line]["reason"]:
            problem("quarantined with another raw text", line, rejected[line]["raw"])
    for line in sorted(set(kept) & expected_kept):
        differing = kept_differences(kept[line], reading.records[line].values)
        if differing:
            problem("kept with other values", line, differing)
    return problems


def kept_differences(row: dict, values: dict) -> dict:
    """The columns in which a row of the date files differs from its source row as read here."""
    differing = {column: (row[column], values[column])
                 for column in ("order_id", "security_code", "participant_id", "side", "order_type")
                 if row[column] != values[column]}
    if (row["quantity"], row["price"]) != (int(values["quantity"]), Decimal(values["price"])):
        differing["quantity, price"] = ((row["quantity"], row["price"]), (values["quantity"], values["price"]))
    local = values["local"]
    if (row["local"], row["trade_date"], row["hour"]) != (local, local.date().isoformat(), local.hour):
        differing["local time"] = (row["local"], values["timestamp"])
    for extra in set(values) - set(reference.REQUIRED_COLUMNS) - ADDED_COLUMNS - {"local"}:
        if row.get(extra, "column missing") != values[extra]:
            differing[extra] = (row.get(extra, "column missing"), values[extra])
    for other in set(row) - set(values) - ADDED_COLUMNS - {"timestamp", "local"}:
        if row[other] is not None:  # another file's column: empty in this file's rows
            differing[other] = (row[other], "not a column of this file")
    return differing


def balanced(counts: dict) -> bool:
    return counts["rows_read"] == counts["rows_kept"] + counts["rows_filtered_out"] + counts["rows_rejected"]


# ---- the checks --------------------------------------------------------------------------------


def test_the_fuzz_is_the_size_it_claims(fuzz):
    mutations = sum(count for kind, count in fuzz.applied.items() if kind != "multiline_reject")
    assert 2_500 <= mutations <= 7_000, fuzz.applied
    assert fuzz.applied["multiline_reject"] == 12_000 and fuzz.applied["open_quote_early"] == 1
    one_record = fuzz.readings["quarantine_one_record.csv"].records.values()
    assert max(len(record.raw) for record in one_record if record.verdict == "rejected") > 1 << 20
    for name in ("quarantine_one_record.csv", "quarantine_multiline.csv"):
        assert fuzz.store.quarantine_file(name).stat().st_size > 1 << 20, name
    assert sum(count for kind, count in fuzz.applied.items() if kind.startswith("bytes:")) >= 400
    assert [name for name, reading in fuzz.readings.items() if reading.refused]  # cut.csv.gz at least
    for verdict in ("kept", "filtered", "rejected"):
        assert sum(len(reading.lines(verdict)) for reading in ingested(fuzz).values()) > 200, verdict


def test_the_run_ends_cleanly_and_only_refused_files_fail_it(fuzz):
    assert fuzz.error is None, f"an exception escaped run_pipeline:\n{fuzz.error}"
    refused = {name for name, reading in fuzz.readings.items() if reading.refused}
    failures = step_failures(fuzz.instance)
    assert all(job == "ingest_order_files" and "file(s) refused" in message for job, message in failures), \
        failures
    assert set(fuzz.outcome.refused) == refused, {name: fuzz.readings[name].refused for name in refused}
    failed_jobs = [run.job for run in fuzz.outcome.runs if not run.success]
    assert failed_jobs == (["ingest_order_files"] if refused else [])
    skipped = {entry["source_file"]: entry["reason"] for entry in summary_of(fuzz)["skipped"]}
    assert set(skipped) == refused
    assert all(skipped[name] and not skipped[name].startswith(f"{name}: ") for name in refused), skipped  # named once
    manifests = {manifest.source_key for manifest in fuzz.store.manifests()}
    assert manifests == set(ingested(fuzz))
    for check in ("rows_accounted_for", "totals_match_partitions", "outputs_match_contract",
                  "kept_rows_in_partitions"):
        key = dg.AssetCheckKey(dg.AssetKey("summary"), check)
        record = fuzz.instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert record.status.value == "SUCCEEDED", check


def test_every_ingested_file_balances(fuzz):
    summary = summary_of(fuzz)
    files = {entry["source_file"]: entry for entry in summary["files"]}
    for manifest in fuzz.store.manifests():
        assert manifest.balanced and balanced(files[manifest.source_key]), manifest
    assert balanced(summary)


def test_nothing_is_written_outside_the_data_folder(fuzz):
    assert outside_tree(fuzz.root, fuzz.data) == fuzz.before
    assert escapes() == fuzz.escaped_before
    data = fuzz.data.resolve()
    for path in fuzz.data.rglob("*"):
        assert data in path.resolve().parents, path


@pytest.mark.parametrize("name", [plan.name for plan in PLANS])
def test_each_file_keeps_filters_and_rejects_the_rows_an_independent_reading_does(fuzz, published, name):
    reading = fuzz.readings[name]
    if reading.refused:
        pytest.skip(f"refused as a whole ({reading.refused}); checked by the test of the run")
    manifest = fuzz.store.manifest(name)
    assert manifest is not None, f"{name} was not ingested"
    kept = {line: row for (source, line), row in published.kept.items() if source == name}
    problems = file_problems(reading, kept, published.quarantined.get(name, {}))
    counts = tuple(getattr(manifest, count) for count in ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected"))
    independent = tuple(len(reading.lines(verdict)) for verdict in ("kept", "filtered", "rejected"))
    assert not problems and counts == (len(reading.records), *independent), (
        f"{name}: read, kept, filtered out, rejected {counts}, the independent reading "
        f"{(len(reading.records), *independent)}; "
        + "; ".join(f"{kind}: {len(cases)} line(s), e.g. {cases[:3]}" for kind, cases in problems.items()))


@pytest.fixture(scope="module")
def expected(fuzz, published):
    """The reference's reports and totals over the rows the pipeline kept, each read from its source
    here. A kept row that is not a valid row is left out (the per-file test names it)."""
    rows, invalid = [], []
    for source, line in sorted(published.kept):
        record = fuzz.readings[source].records.get(line)
        if record is None or record.row is None:
            invalid.append((source, line))
        else:
            rows.append(record.row)
    quantity = sum(row.quantity for row in rows)
    found = SimpleNamespace(quantity=quantity, invalid=invalid, rows=rows)
    edges = [10_000, 50_000, 200_000, 1_000_000]
    with localcontext(**reference._EXACT):
        found.totals = {"orders": len(rows), "value": sum((row.value for row in rows), Decimal(0))}
        found.reports = reference._build_reports(rows, edges)
    return found


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("name", REPORT_NAMES)
def test_reports_equal_the_reference_over_the_kept_rows(fuzz, expected, name, kind):
    """Column by column, so that one wrong figure does not hide another."""
    product = read_report(fuzz.data / "reports", name, kind)
    wanted = expected.reports[name]
    assert list(product.columns) == list(wanted.columns), name
    differing = {}
    for column in wanted.columns:
        try:
            assert_report_equals(product[[column]], wanted[[column]], f"{name}.{column}")
        except AssertionError as error:
            differing[column] = " ".join(str(error).split())[:300]
    left_out = (f"; {len(expected.invalid)} kept row(s) that are not valid rows were left out of the reference, "
                f"e.g. {expected.invalid[:3]}" if expected.invalid else "")
    assert not differing, f"{name}: {differing}{left_out}"


def test_summary_totals_equal_the_reference_over_the_kept_rows(fuzz, expected):
    summary = summary_of(fuzz)
    figures = ("orders", "quantity", "value", "partitions")
    assert {figure: summary[figure] for figure in figures} == {
        "orders": expected.totals["orders"], "quantity": expected.quantity,
        "value": str(expected.totals["value"].quantize(Decimal("0.0001"))),
        "partitions": len(expected.reports["timeseries_daily"])}


def test_a_rerun_does_no_work_and_changes_no_file(fuzz):
    before = tree_hashes(fuzz.data)
    outcome = run_pipeline(fuzz.settings, fuzz.instance)
    assert outcome.did_nothing, [run.job for run in outcome.runs]
    assert tree_hashes(fuzz.data) == before
    assert outside_tree(fuzz.root, fuzz.data) == fuzz.before


def assert_reports(fuzz, rows: list, edges: list[int]) -> None:
    """Every report, CSV and Parquet, equal to the reference's over `rows` under `edges`."""
    with localcontext(**reference._EXACT):
        wanted = reference._build_reports(rows, edges)
    for name in REPORT_NAMES:
        for kind in ("csv", "parquet"):
            assert_report_equals(read_report(fuzz.data / "reports", name, kind), wanted[name], f"{name}.{kind}")


def test_settings_changed_between_runs_rebuild_what_they_change_and_changed_back_the_same_bytes(fuzz, expected):
    """The new mutation kind between runs: size edges, then the filter, then the settings of the first
    run; each run checked against the reference over the rows read here, and back, byte for byte."""
    first = outputs(fuzz.data)
    edges = [5_000, 20_000, 100_000]
    rebucketed = OrdersSettings(landing_dir=str(fuzz.landing), data_dir=str(fuzz.data), size_edges=edges)
    outcome = run_pipeline(rebucketed, fuzz.instance)
    assert [run.job for run in outcome.runs] == ["build_reports"] and all(run.success for run in outcome.runs)
    assert_reports(fuzz, expected.rows, edges)
    centre_point = OrdersSettings(landing_dir=str(fuzz.landing), data_dir=str(fuzz.data), size_edges=edges,
                                  filter={"order_types": ["CENTRE_POINT"]})
    outcome = run_pipeline(centre_point, fuzz.instance)
    assert [run.job for run in outcome.runs if not run.success] == ["ingest_order_files"]  # the refused files
    assert_reports(fuzz, [row for row in expected.rows if row.order_type == "CENTRE_POINT"], edges)
    summary = summary_of(fuzz)
    assert summary["order_filter"]["order_types"] == ["CENTRE_POINT"] and summary["rows_kept"] == summary["orders"]
    assert not run_pipeline(fuzz.settings, fuzz.instance).did_nothing
    assert outputs(fuzz.data) == first
