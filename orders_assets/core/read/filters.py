"""The filtered order set's rule (contract section 3): order types, trading hours, participants.

Local fields (trade date, hour, time of day) come from the exchange's time zone, so a row
stamped with an offset lands on the exchange's date, not the writer's.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.errors import InputError
from orders_assets.core.read.validate import LOCAL_TIME
from orders_assets.core.read.digests import short_digest


@dataclass(frozen=True)
class OrderFilter:
    """Which valid rows belong to the filtered order set. Every field has the contract's default."""

    order_types: tuple[str, ...] = schema.DEFAULT_ORDER_TYPES
    """Empty means every order type (a config file's `order_types: all` or `[]`)."""
    session_start: str = schema.DEFAULT_SESSION_START
    session_end: str = schema.DEFAULT_SESSION_END
    participants: tuple[str, ...] = field(default_factory=tuple)
    """Empty means every participant."""
    timezone: str = schema.DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        start, end = time.fromisoformat(self.session_start), time.fromisoformat(self.session_end)
        if start >= end:
            raise InputError(f"filter: session_start {self.session_start} must be before session_end {self.session_end}")
        check_timezone(self.timezone)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the rule changes; staged outputs made under another rule are stale."""
        return short_digest(json.dumps(asdict(self), sort_keys=True))


def check_timezone(name: str) -> None:
    """Refuse a time zone that is not an IANA name before anything runs (a typo once surfaced as a
    pyarrow stack trace mid-run), with the closest names as the fix."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        close = difflib.get_close_matches(str(name), sorted(available_timezones()), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else " (an IANA name such as Australia/Sydney)"
        raise InputError(f"timezone: {name!r} is not a time zone name{hint}") from None


def order_filter_from(settings: dict) -> OrderFilter:
    """An OrderFilter from settings values (lists allowed); missing keys take the contract's defaults."""
    fields = {name: settings[name] for name in ("order_types", "session_start", "session_end", "participants",
                                                  "timezone") if name in settings}
    for name in ("order_types", "participants"):
        if name in fields:
            fields[name] = () if fields[name] in (ALL, [ALL]) else tuple(fields[name])
    return OrderFilter(**fields)


ALL = "all"
"""`order_types: all` (or `participants: all`) in a config file: every value, as an empty list says."""


def with_local_fields(rows: pa.Table) -> pa.Table:
    """Replace the validated rows' exchange-local time by trade_date (date32) and hour (int8)."""
    local = rows[LOCAL_TIME]
    rows = rows.drop_columns([LOCAL_TIME])
    rows = rows.append_column(schema.TRADE_DATE, pc.cast(local, pa.date32()))
    return rows.append_column(schema.HOUR, pc.cast(pc.hour(local), pa.int8()))


FILTER_RULES = ("order_type", "session", "participant")
"""The filter's rules in the order a filtered-out row is attributed to them: the first it fails."""


def kept_mask(rows: pa.Table, order_filter: OrderFilter) -> pa.ChunkedArray:
    """True for the validated rows that belong to the filtered order set."""
    return kept_mask_and_causes(rows, order_filter)[0]


def kept_mask_and_causes(rows: pa.Table, order_filter: OrderFilter
                         ) -> tuple[pa.ChunkedArray, tuple[int, ...], pa.ChunkedArray]:
    """The kept mask, the rows each rule of FILTER_RULES filtered out (each row counted once,
    under the first rule it fails: not of the order types, then outside the session, then another
    participant), and the mask of the rows the participant rule decides (of the order types, in
    the session)."""
    local = rows[LOCAL_TIME]
    time_of_day = pc.subtract(pc.cast(local, pa.int64()), pc.cast(pc.floor_temporal(local, unit="day"), pa.int64()))
    of_type = pc.fill_null(pc.is_in(rows[schema.ORDER_TYPE], value_set=pa.array(order_filter.order_types, pa.string())),
                           False) if order_filter.order_types else pc.is_valid(rows[schema.ORDER_TYPE])
    in_session = pc.fill_null(pc.and_(pc.greater_equal(time_of_day, micros_of_day(order_filter.session_start)),
                                      pc.less(time_of_day, micros_of_day(order_filter.session_end))), False)
    mask = candidates = pc.and_(of_type, in_session)
    in_session_count = _true_count(mask)
    if order_filter.participants:
        mask = pc.and_(mask, pc.fill_null(
            pc.is_in(rows[schema.PARTICIPANT_ID], value_set=pa.array(order_filter.participants)), False))
    of_type_count, kept_count = _true_count(of_type), _true_count(mask)
    causes = (rows.num_rows - of_type_count, of_type_count - in_session_count, in_session_count - kept_count)
    return mask, causes, candidates


def _true_count(mask) -> int:
    return pc.sum(pc.cast(mask, pa.int64())).as_py() or 0


def micros_of_day(clock: str) -> int:
    """A session clock (HH:MM[:SS[.ffffff]]) as microseconds after midnight: the filter's bound, on
    both paths."""
    parsed = time.fromisoformat(clock)
    return ((parsed.hour * 60 + parsed.minute) * 60 + parsed.second) * 1_000_000 + parsed.microsecond
