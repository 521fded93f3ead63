"""Deterministic synthetic ASX-like order files, generated with numpy and written with Arrow.

Realistic enough to exercise every path of the pipeline: skewed security and participant
activity, Centre Point a minority of order types, prices with 2 or 3 decimals by price level,
order values across every size bucket, timestamps mostly in trading hours with pre-open and
after-hours rows and the session boundaries themselves, events of one order sharing its id.
Optionally a fraction of rows is replaced by malformed rows of 14 kinds, each breaking exactly
one rule, with their exact line numbers reported so tests can check the quarantine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orders_assets.core import schema
from orders_assets.core.store.atomic import temporary_file
from orders_assets.core.generate_files import (STRUCTURE_CORRUPTIONS, VALUE_CORRUPTIONS, CsvChunks, ParquetChunks,
                                              compression_of)

COLUMNS = list(schema.CANONICAL_COLUMNS) + ["event"]
REAL_CODES = ("BHP", "CBA", "CSL", "NAB", "WBC", "ANZ", "WES", "MQG", "WOW", "TLS", "RIO", "FMG", "GMG", "TCL",
              "WDS", "ALL", "QBE", "STO", "COL", "SUN")
ORDER_TYPES = ("LIMIT", "MARKET", "CENTRE_POINT", "CENTRE_POINT_BLOCK", "SWEEP", "LIMIT_ON_CLOSE")
ORDER_TYPE_SHARES = (0.62, 0.08, 0.16, 0.04, 0.05, 0.05)
EVENTS, EVENT_SHARES = ("NEW", "AMEND", "CANCEL"), (0.7, 0.2, 0.1)
MICROS_PER_HOUR = 3_600_000_000
SESSIONS = ((10, 16, 0.90), (7, 10, 0.05), (16, 19, 0.05))
"""(start hour, end hour, share of rows): trading hours, pre-open, after hours."""
MEDIAN_ORDER_VALUE, ORDER_VALUE_SIGMA = 8_000.0, 1.6

BAD_ROW_KINDS: tuple[str, ...] = tuple(VALUE_CORRUPTIONS) + STRUCTURE_CORRUPTIONS


@dataclass(frozen=True)
class BadLine:
    line: int
    """1-based physical line in the CSV file (the header is line 1)."""
    kind: str


@dataclass(frozen=True)
class GenerationReport:
    path: Path
    rows: int
    bad_lines: tuple[BadLine, ...]
    trade_dates: tuple[date, ...]
    securities: tuple[str, ...]


@dataclass(frozen=True)
class Market:
    """What stays fixed across a file: securities, their activity and price levels, participants."""

    codes: np.ndarray
    code_weights: np.ndarray
    base_prices: np.ndarray
    participants: np.ndarray
    participant_weights: np.ndarray


def generate_orders(out: Path | str, *, rows: int, days: int = 5, securities: int = 20, participants: int = 100,
                    seed: int = 0, bad_rows: float = 0.0, start_date: date = date(2025, 3, 3),
                    chunk_rows: int = 500_000) -> GenerationReport:
    """Write `rows` order events over `days` weekdays to `out` (.csv, .csv.gz, .csv.zst or .parquet)."""
    out = Path(out)
    if rows < 1 or days < 1 or securities < 1 or participants < 1:
        raise ValueError("rows, days, securities and participants must all be at least 1")
    if not 0 <= bad_rows <= 0.5:
        raise ValueError(f"bad_rows is a fraction between 0 and 0.5, not {bad_rows}")
    parquet = out.name.lower().endswith(".parquet")
    if parquet and bad_rows:
        raise ValueError("malformed rows can only be injected into CSV files")
    rng = np.random.default_rng(seed)
    market = make_market(rng, securities, participants)
    trade_dates = weekdays(start_date, days)
    bad_positions, bad_kinds = choose_bad_rows(rng, rows, bad_rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = str(temporary_file(out.parent))
    try:
        writer = ParquetChunks(temporary) if parquet else CsvChunks(temporary, compression_of(out.name))
        with writer:
            first_row = 0
            for trade_date, day_rows in zip(trade_dates, split_evenly(rows, days)):
                for chunk in day_chunks(rng, market, trade_date, day_rows, chunk_rows, first_row):
                    writer.write(chunk, first_row, bad_positions, bad_kinds)
                    first_row += chunk.num_rows
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    bad = tuple(BadLine(int(position) + 2, str(kind)) for position, kind in zip(bad_positions, bad_kinds))
    return GenerationReport(out, rows, bad, tuple(trade_dates), tuple(market.codes.tolist()))


def make_market(rng: np.random.Generator, securities: int, participants: int) -> Market:
    synthetic = _synthetic_codes(rng, max(0, securities - len(REAL_CODES)))
    codes = np.array((list(REAL_CODES) + synthetic)[:securities])
    ranks = np.arange(1, securities + 1)
    code_weights = ranks ** -1.1 / (ranks ** -1.1).sum()
    base_prices = np.clip(np.exp(rng.normal(np.log(8.0), 1.3, securities)), 0.05, 250.0)
    participant_ids = np.array([f"P{number:03d}" for number in range(1, participants + 1)])
    activity = rng.permutation(np.arange(1, participants + 1)) ** -0.8
    return Market(codes, code_weights, base_prices, participant_ids, activity / activity.sum())


def _synthetic_codes(rng: np.random.Generator, count: int) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes: list[str] = []
    taken = set(REAL_CODES)
    while len(codes) < count:
        candidate = "".join(rng.choice(letters, 3))
        if candidate not in taken:
            taken.add(candidate)
            codes.append(candidate)
    return codes


def weekdays(start: date, count: int) -> list[date]:
    found, day = [], start
    while len(found) < count:
        if day.weekday() < 5:
            found.append(day)
        day += timedelta(days=1)
    return found


def split_evenly(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def choose_bad_rows(rng: np.random.Generator, rows: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row positions to corrupt and the kind of each (every kind used when there is room)."""
    count = int(round(rows * fraction))
    positions = np.sort(rng.choice(rows, size=count, replace=False)) if count else np.array([], dtype=np.int64)
    kinds = np.array(BAD_ROW_KINDS)[rng.permutation(np.arange(count)) % len(BAD_ROW_KINDS)]
    return positions.astype(np.int64), kinds


def day_chunks(rng: np.random.Generator, market: Market, trade_date: date, rows: int, chunk_rows: int,
               first_row: int):
    """The day's rows in time order, as tables of strings of at most chunk_rows rows."""
    micros = np.sort(_times_of_day(rng, rows))
    for start in range(0, rows, chunk_rows):
        yield _chunk(rng, market, trade_date, micros[start:start + chunk_rows], first_row + start)


def _times_of_day(rng: np.random.Generator, rows: int) -> np.ndarray:
    session = rng.choice(len(SESSIONS), size=rows, p=[share for _, _, share in SESSIONS])
    starts = np.array([start for start, _, _ in SESSIONS])[session] * MICROS_PER_HOUR
    lengths = np.array([end - start for start, end, _ in SESSIONS])[session] * MICROS_PER_HOUR
    micros = starts + (rng.random(rows) * lengths).astype(np.int64)
    boundaries = np.array([10 * MICROS_PER_HOUR, 16 * MICROS_PER_HOUR - 1, 16 * MICROS_PER_HOUR])
    micros[: min(rows, 3)] = boundaries[: min(rows, 3)]
    return micros


def _chunk(rng: np.random.Generator, market: Market, trade_date: date, micros: np.ndarray, first_row: int) -> pa.Table:
    rows = len(micros)
    security = rng.choice(len(market.codes), size=rows, p=market.code_weights)
    prices = _prices(rng, market.base_prices[security], market.base_prices[security] < 2)
    values = np.exp(rng.normal(np.log(MEDIAN_ORDER_VALUE), ORDER_VALUE_SIGMA, rows))
    quantities = np.maximum(1, np.rint(values / prices)).astype(np.int64)
    events = rng.choice(len(EVENTS), size=rows, p=EVENT_SHARES)
    midnight = np.datetime64(trade_date, "us").astype(np.int64)
    return pa.table({
        schema.ORDER_ID: _order_ids(security, events, first_row),
        schema.TIMESTAMP: pc.cast(pa.array(midnight + micros, pa.timestamp("us")), pa.string()),
        schema.SECURITY_CODE: pa.array(market.codes[security]),
        schema.PARTICIPANT_ID: pa.array(rng.choice(market.participants, size=rows, p=market.participant_weights)),
        schema.SIDE: pa.array(np.array(schema.VALID_SIDES)[rng.integers(0, 2, rows)]),
        schema.ORDER_TYPE: pa.array(np.array(ORDER_TYPES)[rng.choice(len(ORDER_TYPES), size=rows, p=ORDER_TYPE_SHARES)]),
        schema.PRICE: _price_text(prices, market.base_prices[security] < 2),
        schema.QUANTITY: pc.cast(pa.array(quantities), pa.string()),
        "event": pa.array(np.array(EVENTS)[events]),
    })


def _prices(rng: np.random.Generator, base: np.ndarray, fine_tick: np.ndarray) -> np.ndarray:
    """Base price with a small drift, rounded to the tick (0.001 below $2, else 0.01), never 0."""
    tick = np.where(fine_tick, 0.001, 0.01)
    drifted = base * np.exp(rng.normal(0.0, 0.01, len(base)))
    return np.maximum(tick, np.round(drifted / tick) * tick)


def _price_text(prices: np.ndarray, fine_tick: np.ndarray) -> pa.Array:
    three = pc.cast(pc.cast(pa.array(np.round(prices, 3)), pa.decimal128(12, 3)), pa.string())
    two = pc.cast(pc.cast(pa.array(np.round(prices, 2)), pa.decimal128(12, 2)), pa.string())
    return pc.if_else(pa.array(fine_tick), three, two)


def _order_ids(security: np.ndarray, events: np.ndarray, first_row: int) -> pa.Array:
    """A NEW row gets a fresh id; an AMEND or CANCEL reuses the latest earlier NEW id of its security."""
    rows = len(security)
    own = np.arange(rows)
    order = np.lexsort((own, security))
    is_new = events[order] == 0
    latest_new = np.maximum.accumulate(np.where(is_new, np.arange(rows), -1))
    same_security = (latest_new >= 0) & (security[order][np.maximum(latest_new, 0)] == security[order])
    source = np.where(is_new | ~same_security, order, order[np.maximum(latest_new, 0)])
    number = np.empty(rows, dtype=np.int64)
    number[order] = source + first_row
    digits = pc.utf8_lpad(pc.cast(pa.array(number + 1), pa.string()), width=10, padding="0")
    return pc.binary_join_element_wise("O", digits, "")


def generate_resend(source: Path | str, out: Path | str, *, trade_dates: tuple[date, ...] | None = None,
                    securities: tuple[str, ...] | None = None, corrected_rows: int = 0, seed: int = 0) -> int:
    """Write what a vendor re-sends: the rows of a generated CSV file `source` on `trade_dates` (all
    when None) and of `securities` (all when None), with `corrected_rows` of them, chosen at random,
    given a quantity one unit larger (a corrected re-send). Returns the rows written.

    The rows are the source's text as it is (every column a string), so a re-sent row equals its
    original in every column but those corrected: what overlapping files look like."""
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in COLUMNS}, strings_can_be_null=False))
    keep = pa.array(np.ones(table.num_rows, dtype=bool))
    if trade_dates is not None:
        days = pc.utf8_slice_codeunits(table[schema.TIMESTAMP], 0, 10)
        keep = pc.and_(keep, pc.is_in(days, value_set=pa.array([day.isoformat() for day in trade_dates])))
    if securities is not None:
        keep = pc.and_(keep, pc.is_in(table[schema.SECURITY_CODE], value_set=pa.array(list(securities))))
    table = table.filter(keep)
    if corrected_rows:
        rng = np.random.default_rng(seed)
        chosen = np.zeros(table.num_rows, dtype=bool)
        chosen[rng.choice(table.num_rows, size=min(corrected_rows, table.num_rows), replace=False)] = True
        larger = pc.cast(pc.add(pc.cast(table[schema.QUANTITY], pa.int64()), 1), pa.string())
        index = table.schema.get_field_index(schema.QUANTITY)
        table = table.set_column(index, schema.QUANTITY, pc.if_else(pa.array(chosen), larger, table[schema.QUANTITY]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_file(out.parent)
    try:
        with CsvChunks(str(temporary), compression_of(out.name)) as writer:
            writer.write(table, 0, np.array([], dtype=np.int64), np.array([], dtype=object))
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return table.num_rows
