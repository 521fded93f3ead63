"""Independent expected results for the real vendor files in ../shared/real-data.

The product maps vendor files onto the contract's canonical columns ("vendor
layouts") and then builds the usual reports.  This module computes what those
reports must be, straight from the vendor files, sharing NO code with the
``orders_assets`` package: pandas reads the files and groups the rows, Python's
``decimal`` does every money and quantity sum exactly.  The data itself is never
copied: it is read from ``REAL_DATA`` (``<work tree>/../shared/real-data``).

Rules, applied in this order to every data row (``rows_read``):

1. A row failing the dataset's ORDERS condition is "not an order": counted in
   ``rows_not_orders`` and in ``rows_filtered_out``, never validated.
2. The row is mapped to canonical fields (per dataset, see the ``expected_*``
   functions) and REJECTED, first failing rule wins, if: a text field
   (order_id, security_code, participant_id, side, order_type) is empty; the
   timestamp is unreadable; price is not a plain decimal (``[+-]digits[.digits]``)
   with at most 4 decimal places, or is < 0, or is >= 10**14; quantity is not a
   plain decimal, or not > 0, or has more decimal places than the dataset
   allows; side is not B, S or N.  Decimal places are those of the VALUE, so
   trailing zeros do not count ("159.0" is the whole number 159).
3. A valid row is KEPT if its order_type is one of the dataset's filter order
   types and ``session_start <= local time of day < session_end``; otherwise
   it is filtered out.  Local = the dataset's time zone.
4. value = price x quantity, exact.  trade_date (YYYY-MM-DD) and hour (0-23)
   come from the local time.  Nanosecond timestamps are floored to whole
   microseconds before anything else.

Report types: key columns are ``str`` (``hour`` is int64); ``orders`` and the
distinct counts are int64; ``quantity`` is int64 when the dataset's quantity
decimals are 0, else exact ``Decimal`` objects; ``value`` is always an exact
``Decimal``; ``avg_quantity`` and ``avg_value`` are float64 (NaN for an empty
size bucket).  ``Expected.totals`` holds orders, quantity and value as Decimal.
"""

from __future__ import annotations

import lzma
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import (
    ROUND_HALF_EVEN,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from pathlib import Path
import os
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq

REAL_DATA_ENV = "ORDERS_ASSETS_REAL_DATA"
"""Where the real data is when the clone is not beside ../shared (a path; set, it must exist)."""
REAL_DATA = Path(os.environ.get(REAL_DATA_ENV) or Path(__file__).resolve().parents[3] / "shared" / "real-data")

REPORT_NAMES = (
    "by_security",
    "by_date",
    "by_participant",
    "by_time_of_day",
    "by_order_size",
    "timeseries_hourly",
    "timeseries_daily",
)
METRIC_COLUMNS = ("orders", "quantity", "value", "avg_quantity", "avg_value")
SIZE_EDGES = (10_000, 50_000, 200_000, 1_000_000)
SIZE_LABELS = ("<10k", "10k-50k", "50k-200k", "200k-1m", ">=1m")

# report -> (key columns, {distinct-count column: counted field})
REPORT_SHAPES: dict[str, tuple[list[str], dict[str, str]]] = {
    "by_security": (["security_code"], {"participants": "participant_id"}),
    "by_date": (["trade_date"], {"securities": "security_code", "participants": "participant_id"}),
    "by_participant": (["participant_id"], {"securities": "security_code"}),
    "by_time_of_day": (["hour"], {}),
    "by_order_size": (["size_bucket"], {}),
    "timeseries_hourly": (["trade_date", "hour"], {}),
    "timeseries_daily": (["trade_date", "security_code"], {}),
}

TEXT_FIELDS = ("order_id", "security_code", "participant_id", "side", "order_type")
SIDES = frozenset({"B", "S", "N"})
MAX_PRICE_DECIMALS = 4
PRICE_LIMIT = Decimal(10) ** 14
UNKNOWN_PARTICIPANT = "UNKNOWN"

_PLAIN_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
_PLAIN_INTEGER = re.compile(r"^[+-]?\d+$")
_ISO_UTC = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MICROSECOND = timedelta(microseconds=1)
# Sums and products run with Inexact trapped: a figure that could not be held
# exactly raises instead of being rounded.
_EXACT = {"prec": 100, "traps": [Inexact, InvalidOperation, DivisionByZero, Overflow]}
_END_OF_DAY = time(23, 59, 59, 999999)


@dataclass(frozen=True)
class DatasetSpec:
    """How a dataset's run is configured: zone, filter and quantity precision."""

    folder: str
    timezone: str
    order_types: tuple[str, ...]
    session_start: time
    session_end: time
    quantity_decimals: int


CME_SPEC = DatasetSpec("cme_es_mbo_databento", "America/Chicago", ("LIMIT",), time(0), _END_OF_DAY, 0)
BITSTAMP_SPEC = DatasetSpec("bitstamp_btcusd_orders_2015-05-01", "UTC", ("LIMIT",), time(0), _END_OF_DAY, 8)
XETRA_SPEC = DatasetSpec(
    "xetra_posttrade_2025-10-31T1354", "Europe/Berlin", ("TRADE",), time(9), time(17, 30), 0
)
BINANCE_SPEC = DatasetSpec("binance_btcusdt_trades", "UTC", ("TRADE",), time(0), _END_OF_DAY, 8)


@dataclass
class Expected:
    """What the product must report for one dataset.

    rows_filtered_out includes rows_not_orders, and
    rows_read = rows_kept + rows_filtered_out + rows_rejected.
    ``totals`` maps orders, quantity, value to Decimal; ``per_file`` has the
    same counts for each source file; ``rejected_reasons`` counts each reason.
    """

    spec: DatasetSpec
    reports: dict[str, pd.DataFrame]
    rows_read: int
    rows_not_orders: int
    rows_rejected: int
    rows_kept: int
    rows_filtered_out: int
    totals: dict[str, Decimal]
    partitions: int
    per_file: dict[str, dict[str, int]]
    rejected_reasons: dict[str, int]
    market: dict = field(default_factory=dict)
    """(trade_date ISO text, security_code) -> [orders, quantity, value] of every valid order row, kept
    by the filter or not: market_share's denominators."""


# ---------------------------------------------------------------- reading


def _read_text_csv(path: Path) -> pd.DataFrame:
    """Every field as the exact text written (no NA guessing, no numbers)."""
    if path.name.endswith(".xz"):
        with lzma.open(path, "rt", encoding="utf-8", newline="") as handle:
            return pd.read_csv(handle, dtype=str, keep_default_na=False, na_filter=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def _objects(values: Iterable, index: pd.Index) -> pd.Series:
    """An object Series, so ints stay exact Python ints even beside None."""
    return pd.Series(list(values), index=index, dtype=object)


def _epoch_us(text: str, units_per_second: int) -> int | None:
    """Integer epoch text (s/ms/us/ns) -> whole microseconds, floored; None if unreadable."""
    if not isinstance(text, str) or not _PLAIN_INTEGER.match(text):
        return None
    return int(text) * 1_000_000 // units_per_second


def _iso_utc_us(text: str) -> int | None:
    """'YYYY-MM-DDTHH:MM:SS[.fraction]Z' -> microseconds, the fraction floored to 6 digits."""
    match = _ISO_UTC.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    *fields, fraction = match.groups()
    try:
        moment = datetime(*map(int, fields), tzinfo=timezone.utc)
    except ValueError:
        return None
    micros = int((fraction or "").ljust(9, "0")[:6])
    return (moment - _EPOCH) // _ONE_MICROSECOND + micros


def _timestamp_us(value) -> int | None:
    """A tz-aware pandas/py datetime (UTC) -> microseconds, floored; None for NaT."""
    if value is None or pd.isna(value):
        return None
    return (pd.Timestamp(value).to_pydatetime(warn=False) - _EPOCH) // _ONE_MICROSECOND


def _rounded(value: float, places: int):
    """A float rounded half-to-even to ``places`` decimals, as an exact Decimal.

    Decimal(float) is the float's exact binary value, so this rounds the true
    value (0.000052000000000000004 -> 0.00005200).  NaN/inf come back as the
    float and are rejected later as not a plain decimal."""
    if not math.isfinite(value):
        return value
    with localcontext(prec=100):
        return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _canonical(raw: pd.DataFrame, source: str, is_order, **columns) -> pd.DataFrame:
    """The canonical frame: source, is_order and the mapped fields (objects)."""
    frame = pd.DataFrame(index=raw.index)
    frame["source"] = source
    frame["is_order"] = is_order
    for name, values in columns.items():
        frame[name] = values if isinstance(values, pd.Series) else _objects([values] * len(raw), raw.index)
    return frame


# ---------------------------------------------------------------- rules


class _Rejected(Exception):
    """Its message is the rejection reason."""


def _decimal(raw, what: str) -> Decimal:
    if isinstance(raw, Decimal) and raw.is_finite():
        return raw
    if isinstance(raw, str) and _PLAIN_DECIMAL.match(raw):
        return Decimal(raw)
    raise _Rejected(f"{what} not a decimal")


def _places(number: Decimal) -> int:
    return max(0, -number.normalize().as_tuple().exponent)


def _validated(row, spec: DatasetSpec, zone: ZoneInfo) -> dict:
    """Apply rule 2 to one mapped row; return the fields the reports need."""
    for name in TEXT_FIELDS:
        if getattr(row, name) == "":
            raise _Rejected(f"empty {name}")
    if row.timestamp_us is None:
        raise _Rejected("unreadable timestamp")
    price = _decimal(row.price, "price")
    if _places(price) > MAX_PRICE_DECIMALS:
        raise _Rejected("price has more than 4 decimal places")
    if price < 0:
        raise _Rejected("price < 0")
    if price >= PRICE_LIMIT:
        raise _Rejected("price >= 10^14")
    quantity = _decimal(row.quantity, "quantity")
    if quantity <= 0:
        raise _Rejected("quantity not > 0")
    if _places(quantity) > spec.quantity_decimals:
        raise _Rejected(f"quantity has more than {spec.quantity_decimals} decimal places")
    if row.side not in SIDES:
        raise _Rejected("side not B, S or N")
    local = (_EPOCH + timedelta(microseconds=row.timestamp_us)).astimezone(zone)
    if spec.quantity_decimals == 0:
        quantity = int(quantity)
    return {
        "security_code": row.security_code,
        "participant_id": row.participant_id,
        "order_type": row.order_type,
        "local_time": local.time(),
        "trade_date": local.date().isoformat(),
        "hour": local.hour,
        "quantity": quantity,
        "value": price * quantity,
    }


def _size_bucket(value: Decimal) -> str:
    """Lower edge inclusive: bucket i holds SIZE_EDGES[i-1] <= value < SIZE_EDGES[i]."""
    for edge, label in zip(SIZE_EDGES, SIZE_LABELS):
        if value < edge:
            return label
    return SIZE_LABELS[-1]


def _expected(canonical: pd.DataFrame, spec: DatasetSpec) -> Expected:
    """Classify every canonical row (rules 1-3) and build reports and totals."""
    zone = ZoneInfo(spec.timezone)
    per_file: dict[str, Counter] = {name: Counter() for name in canonical["source"].unique()}
    reasons: Counter = Counter()
    kept: list[dict] = []
    market: dict = {}
    with localcontext(**_EXACT):
        for row in canonical.itertuples(index=False):
            counts = per_file[row.source]
            counts["rows_read"] += 1
            if not row.is_order:
                counts["rows_not_orders"] += 1
                counts["rows_filtered_out"] += 1
                continue
            try:
                fields = _validated(row, spec, zone)
            except _Rejected as reason:
                counts["rows_rejected"] += 1
                reasons[str(reason)] += 1
                continue
            totals = market.setdefault((str(fields["trade_date"]), fields["security_code"]), [0, Decimal(0), Decimal(0)])
            totals[0] += 1
            totals[1] += Decimal(fields["quantity"])
            totals[2] += fields["value"]
            in_session = spec.session_start <= fields["local_time"] < spec.session_end
            if fields["order_type"] in spec.order_types and in_session:
                counts["rows_kept"] += 1
                kept.append(fields)
            else:
                counts["rows_filtered_out"] += 1
        frame = _kept_frame(kept)
        totals = {
            "orders": Decimal(len(kept)),
            "quantity": sum((Decimal(q) for q in frame["quantity"]), Decimal(0)),
            "value": sum(frame["value"], Decimal(0)),
        }
        reports = {name: _report(frame, name, spec) for name in REPORT_NAMES}
    count_names = ("rows_read", "rows_not_orders", "rows_rejected", "rows_kept", "rows_filtered_out")
    files = {name: {c: counts[c] for c in count_names} for name, counts in per_file.items()}
    return Expected(
        spec=spec,
        reports=reports,
        **{c: sum(f[c] for f in files.values()) for c in count_names},
        totals=totals,
        partitions=len(set(zip(frame["security_code"], frame["trade_date"]))),
        per_file=files,
        rejected_reasons=dict(reasons),
        market=market,
    )


# ---------------------------------------------------------------- reports


def _kept_frame(kept: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        kept, columns=["security_code", "participant_id", "trade_date", "hour", "quantity", "value"]
    )
    frame["size_bucket"] = [_size_bucket(v) for v in frame["value"]]
    return frame.astype(
        {"security_code": str, "participant_id": str, "trade_date": str, "hour": "int64",
         "size_bucket": str, "quantity": object, "value": object}
    )


def _metrics(group: pd.DataFrame, extras: dict[str, str], spec: DatasetSpec) -> dict:
    orders = len(group)
    quantity = sum(group["quantity"], 0 if spec.quantity_decimals == 0 else Decimal(0))
    value = sum(group["value"], Decimal(0))
    record = {
        "orders": orders,
        "quantity": quantity,
        "value": value,
        "avg_quantity": float(Fraction(quantity) / orders) if orders else math.nan,  # rounded once
        "avg_value": float(Fraction(value) / orders) if orders else math.nan,
    }
    record.update({name: group[field].nunique() for name, field in extras.items()})
    return record


def _report(frame: pd.DataFrame, name: str, spec: DatasetSpec) -> pd.DataFrame:
    """One report: groups sorted ascending by key; by_order_size in bucket order, all buckets."""
    keys, extras = REPORT_SHAPES[name]
    records = []
    if name == "by_order_size":
        groups = dict(iter(frame.groupby("size_bucket", sort=False)))
        for label in SIZE_LABELS:
            group = groups.get(label, frame.iloc[0:0])
            records.append({"size_bucket": label, **_metrics(group, extras, spec)})
    else:
        for key, group in frame.groupby(keys, sort=True):
            key_values = [int(k) if column == "hour" else str(k) for column, k in zip(keys, key)]
            records.append({**dict(zip(keys, key_values)), **_metrics(group, extras, spec)})
    columns = keys + list(METRIC_COLUMNS) + list(extras)
    report = pd.DataFrame.from_records(records, columns=columns)
    types = {c: ("int64" if c == "hour" else str) for c in keys}
    types.update({c: "int64" for c in ["orders", *extras]})
    types.update({"quantity": "int64" if spec.quantity_decimals == 0 else object, "value": object,
                  "avg_quantity": "float64", "avg_value": "float64"})
    return report.astype(types)


# ---------------------------------------------------------------- datasets


def expected_cme_es_mbo(root: Path = REAL_DATA) -> Expected:
    """A. CME ES market-by-order, the three *_mbo.csv.gz files in one run.

    Orders: action A and not SNAPSHOT (flags & 32 == 0).  ts_event_ns floored
    to us; symbol; side B->B, A->S; A->LIMIT; participant UNKNOWN; price as
    written; quantity = size.  America/Chicago, LIMIT, whole day."""
    paths = sorted((root / CME_SPEC.folder).glob("*_mbo.csv.gz"))
    if len(paths) != 3:
        raise FileNotFoundError(f"expected 3 *_mbo.csv.gz in {root / CME_SPEC.folder}, found {len(paths)}")
    frames = []
    for path in paths:
        raw = _read_text_csv(path)
        flags = raw["flags"].map(int)
        frames.append(_canonical(
            raw, path.name, (raw["action"] == "A") & ((flags & 32) == 0),
            order_id=raw["order_id"],
            timestamp_us=_objects((_epoch_us(t, 10**9) for t in raw["ts_event_ns"]), raw.index),
            security_code=raw["symbol"],
            participant_id=UNKNOWN_PARTICIPANT,
            side=raw["side"].replace({"B": "B", "A": "S"}),
            order_type=raw["action"].replace({"A": "LIMIT"}),
            price=raw["price"],
            quantity=raw["size"],
        ))
    return _expected(pd.concat(frames, ignore_index=True), CME_SPEC)


def expected_bitstamp_orders(root: Path = REAL_DATA) -> Expected:
    """B. Bitstamp BTC/USD order events, orders.csv.xz only.

    Orders: action == created.  id; timestamp in ms; BTCUSD; bid->B, ask->S;
    LIMIT; price; quantity = volume / 10^8 exactly (volume is satoshi).  UTC."""
    path = root / BITSTAMP_SPEC.folder / "orders.csv.xz"
    raw = _read_text_csv(path)

    def btc(volume: str):
        return Decimal(volume).scaleb(-8) if _PLAIN_DECIMAL.match(volume) else volume

    return _expected(_canonical(
        raw, path.name, raw["action"] == "created",
        order_id=raw["id"],
        timestamp_us=_objects((_epoch_us(t, 1000) for t in raw["timestamp"]), raw.index),
        security_code="BTCUSD",
        participant_id=UNKNOWN_PARTICIPANT,
        side=raw["direction"].replace({"bid": "B", "ask": "S"}),
        order_type="LIMIT",
        price=raw["price"],
        quantity=_objects(map(btc, raw["volume"]), raw.index),
    ), BITSTAMP_SPEC)


def expected_xetra_posttrade(root: Path = REAL_DATA) -> Expected:
    """C. Xetra post-trade, the derived CSV only; every row is an order (a trade).

    transIdCode; lastTradeTime (ISO Z, ns floored to us); isin; side N; TRADE;
    price = lastTrade, quantity = lastQty as written.  Europe/Berlin, 09:00-17:30."""
    path = root / XETRA_SPEC.folder / "DETR-posttrade-2025-10-31T13_54.csv"
    raw = _read_text_csv(path)
    return _expected(_canonical(
        raw, path.name, True,
        order_id=raw["transIdCode"],
        timestamp_us=_objects(map(_iso_utc_us, raw["lastTradeTime"]), raw.index),
        security_code=raw["isin"],
        participant_id=UNKNOWN_PARTICIPANT,
        side="N",
        order_type="TRADE",
        price=raw["lastTrade"],
        quantity=raw["lastQty"],
    ), XETRA_SPEC)


def expected_binance_trades(root: Path = REAL_DATA) -> Expected:
    """D. Binance BTCUSDT trades: the Tardis futures CSV and the spot Parquet in one run.

    Tardis: id; timestamp in us; symbol; buy->B, sell->S; price and amount as written.
    Spot: trade_id; timestamp (UTC); BTCUSDT; buyer_maker "True"->S, "False"->B;
    price / quantity floats rounded half-even to 4 / 8 places.  UTC, TRADE, whole day."""
    folder = root / BINANCE_SPEC.folder
    tardis_path = folder / "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv"
    tardis = _read_text_csv(tardis_path)
    spot_path = folder / "binance_spot_BTCUSDT_trades_2021-01-08_head2001.parquet"
    spot = pq.read_table(spot_path).to_pandas()
    frames = [
        _canonical(
            tardis, tardis_path.name, True,
            order_id=tardis["id"],
            timestamp_us=_objects((_epoch_us(t, 10**6) for t in tardis["timestamp"]), tardis.index),
            security_code=tardis["symbol"],
            participant_id=UNKNOWN_PARTICIPANT,
            side=tardis["side"].replace({"buy": "B", "sell": "S"}),
            order_type="TRADE",
            price=tardis["price"],
            quantity=tardis["amount"],
        ),
        _canonical(
            spot, spot_path.name, True,
            order_id=_objects(map(str, spot["trade_id"]), spot.index),
            timestamp_us=_objects(map(_timestamp_us, spot["timestamp"]), spot.index),
            security_code="BTCUSDT",
            participant_id=UNKNOWN_PARTICIPANT,
            side=_objects(({"True": "S", "False": "B"}.get(str(m), str(m)) for m in spot["buyer_maker"]),
                          spot.index),
            order_type="TRADE",
            price=_objects((_rounded(float(p), 4) for p in spot["price"]), spot.index),
            quantity=_objects((_rounded(float(q), 8) for q in spot["quantity"]), spot.index),
        ),
    ]
    return _expected(pd.concat(frames, ignore_index=True), BINANCE_SPEC)


EXPECTED_BY_FOLDER: dict[str, Callable[[Path], Expected]] = {
    CME_SPEC.folder: expected_cme_es_mbo,
    BITSTAMP_SPEC.folder: expected_bitstamp_orders,
    XETRA_SPEC.folder: expected_xetra_posttrade,
    BINANCE_SPEC.folder: expected_binance_trades,
}
