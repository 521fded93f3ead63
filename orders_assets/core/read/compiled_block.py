"""A block of CSV rows read by the compiled pass (row_kernel.py), with the rows it defers read by the
exact path (parse.py), into what the ingest stages and counts.

The kernel judges every row it can and returns the kept rows' field offsets, wall times, prices and
quantities; Arrow then builds only the kept rows' columns from those (text gathered in one copy,
decimal prices and int64 quantities from their integers, instants from the wall times by the zone's
hour grid). A rejected row costs its own bytes: its line, reason and raw text come from the kernel's
offsets. The rows it defers (quotes inside a field, a lone CR, bytes that are not UTF-8, a timestamp
with an offset) are copied one after the other into one small block that the exact path reads, and
their lines mapped back, so a file of such rows is read as the exact path reads it and a clean file
never touches it. The counts say which path read how many rows.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.read import row_kernel as kernel
from orders_assets.core.read.filters import OrderFilter, micros_of_day
from orders_assets.core.read.parse import QUARANTINE_SCHEMA, ParsedBlock, RowParser
from orders_assets.core.read.header import SOURCE_LINE
from orders_assets.core.read.reader import RawBlock
from orders_assets.core.read.timestamps import TIMESTAMP_UNIT, _assume_local, timestamp_type
from orders_assets.core.read.values_seen import SeenValues, added, counted
from orders_assets.core.read.compiled_market import block_market, market_outputs, text_column
from orders_assets.core.read.wall_times import nonexistent_wall_times

ROLES = {schema.ORDER_ID: kernel.ORDER_ID, schema.TIMESTAMP: kernel.TIMESTAMP, schema.SECURITY_CODE: kernel.SECURITY,
         schema.PARTICIPANT_ID: kernel.PARTICIPANT, schema.SIDE: kernel.SIDE, schema.ORDER_TYPE: kernel.ORDER_TYPE,
         schema.PRICE: kernel.PRICE, schema.QUANTITY: kernel.QUANTITY}
TYPED_ROLES = (kernel.TIMESTAMP, kernel.PRICE, kernel.QUANTITY)


@dataclass(frozen=True)
class CompiledPlan:
    """What the kernel needs to read one file's rows: each column's role, the zone's gaps, the filter."""

    parser: RowParser
    roles: np.ndarray
    gaps: np.ndarray
    types: np.ndarray
    type_offsets: np.ndarray
    session: tuple[int, int]
    participants: tuple[str, ...]
    timezone: str


def compiled_plan(parser: RowParser, order_filter: OrderFilter, quantity_decimals: int) -> CompiledPlan | None:
    """The kernel's plan for a file read by `parser`, or None when the kernel cannot read its rows
    (a vendor layout's conversions, quantities with decimal places; a big-endian machine, whose
    words the kernel does not read): the exact path reads them all."""
    if not parser.layout.is_canonical or quantity_decimals or sys.byteorder != "little":
        return None
    types = [kind.encode() for kind in order_filter.order_types]
    return CompiledPlan(
        parser=parser,
        roles=np.array([ROLES.get(name, kernel.EXTRA) for name in parser.header], dtype=np.int8),
        gaps=nonexistent_wall_times(order_filter.timezone),
        types=np.frombuffer(b"".join(types), dtype=np.uint8) if types else np.zeros(0, dtype=np.uint8),
        type_offsets=np.cumsum([0] + [len(kind) for kind in types]).astype(np.int64),
        session=(micros_of_day(order_filter.session_start), micros_of_day(order_filter.session_end)),
        participants=tuple(order_filter.participants),
        timezone=order_filter.timezone,
    )


@dataclass(frozen=True)
class CompiledRows:
    """One block as the ingest counts and stages it (the fields of source.FilteredBlock)."""

    rows_read: int
    rejects: pa.Table
    kept: pa.Table
    rows_filtered_out: int
    filtered_by: tuple[int, int, int]
    rows_exact: int
    """Rows of the block the exact path read (deferred by the kernel)."""
    values_seen: SeenValues
    """The order types of the valid rows (and the participants the filter's rule decided) with their rows."""
    market: pa.Table
    """The valid rows' totals by (trade date, security, order type), kept or not (core/read/market.py)."""


def read_block(block: RawBlock, plan: CompiledPlan, exact_filter) -> CompiledRows:
    """The block's rows judged by the kernel; the deferred ones by the exact path (`exact_filter`:
    ParsedBlock -> (kept, rows_filtered_out, filtered_by), the ingest's own filter)."""
    data = np.frombuffer(block.data, dtype=np.uint8)
    rows, kept, out = scanned(data, block.first_line, plan, lines=block.lines)
    verdicts, reasons, lines, starts, stops, found = (array[:rows] for array in out[:6])
    kept_table = _kept_table(data, plan, out[6:11], kept, lines[verdicts == kernel.KEPT])
    seen = _types_seen(data, block.data, plan, rows, verdicts, out[11:14])
    if plan.participants:
        seen.update(counted(schema.PARTICIPANT_ID, kept_table[schema.PARTICIPANT_ID]))
    kept_table, participant_out = _participants(kept_table, plan.participants)
    rejects = _rejects(block.data, plan, verdicts, reasons, lines, starts, stops, found)
    market = block_market(data, verdicts, out)
    filtered = (int(np.count_nonzero(verdicts == kernel.FILTERED_TYPE)),
                int(np.count_nonzero(verdicts == kernel.FILTERED_SESSION)), participant_out)
    deferred = np.flatnonzero(verdicts == kernel.DEFERRED)
    judged = rows - deferred.size
    if not deferred.size:
        return CompiledRows(judged, rejects, kept_table, sum(filtered), filtered, 0, seen, market)
    exact = _exact_rows(block.data, plan.parser, lines[deferred], starts[deferred], stops[deferred])
    exact_kept, exact_filtered_out, exact_by, exact_seen, exact_market = exact_filter(exact)
    return CompiledRows(
        rows_read=judged + exact.rows_read,
        rejects=_in_line_order(pa.concat_tables([rejects, exact.rejects]), "line"),
        kept=_in_line_order(pa.concat_tables([kept_table, exact_kept.select(kept_table.column_names)]), SOURCE_LINE)
        if exact_kept.num_rows else kept_table,
        rows_filtered_out=sum(filtered) + exact_filtered_out,
        filtered_by=tuple(ours + theirs for ours, theirs in zip(filtered, exact_by)),
        rows_exact=exact.rows_read,
        values_seen=added(seen, exact_seen, {}),
        market=pa.concat_tables([market, exact_market]) if exact_market.num_rows else market,
    )


def scanned(data: np.ndarray, first_line: int, plan: CompiledPlan, scan=kernel.scan_rows,
            lines: int | None = None) -> tuple[int, int, tuple]:
    """(rows, kept rows, the kernel's outputs) of a block's bytes, its first row on `first_line`.
    `lines`: the block's physical lines when known (the reader counts them), else counted here.
    `scan` is the kernel (its plain-Python reference, scan_rows.py_func, in the tests)."""
    capacity = (kernel.count_lines(data) if lines is None else lines) + 1
    out = _outputs(capacity, plan.roles.size) + _filter_type_outputs(capacity, plan.type_offsets.size - 1) + \
        market_outputs(capacity)
    words, head = kernel.aligned_words(data)
    rows, kept = scan(data, words, head, first_line, plan.roles, plan.gaps, plan.types, plan.type_offsets,
                      plan.session[0], plan.session[1], *out)
    return rows, kept, out


def _outputs(capacity: int, columns: int) -> tuple:
    """The kernel's output arrays for a block of at most `capacity` rows. Left unset (np.empty: no
    page is touched that the kernel does not write): a row's verdict says which of its entries the
    kernel wrote, and only those are read. The kept rows' field offsets are a column's run each."""
    return (np.empty(capacity, dtype=np.int8), np.empty(capacity, dtype=np.int8), np.empty(capacity, dtype=np.int64),
            np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int32),
            np.empty((columns, capacity), dtype=np.int64), np.empty((columns, capacity), dtype=np.int64),
            np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64))


def _filter_type_outputs(capacity: int, filter_types: int) -> tuple:
    """The kernel's outputs for the order types: the type's field of each row the filter's types
    leave out (written for those rows only), the valid rows of each of the filter's types."""
    return (np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64),
            np.zeros(max(1, filter_types), dtype=np.int64))


def _types_seen(data: np.ndarray, raw: bytes, plan: CompiledPlan, rows: int, verdicts: np.ndarray,
                types_out: tuple) -> SeenValues:
    """{order_type: {type: rows}}: the filter's types with their valid rows (the kernel's exact
    count), the others with their rows in a sample of the rows they left out (row_kernel.other_types)."""
    type_starts, type_stops, filter_rows = types_out
    slots = kernel.SEEN_TYPES
    starts, stops, counts = (np.empty(slots, dtype=np.int64) for _ in range(3))
    used = kernel.other_types(data, verdicts, rows, type_starts, type_stops, kernel.SAMPLED_TYPE_ROWS,
                              starts, stops, counts)
    types = {raw[start:stop].decode("utf-8"): count
             for start, stop, count in zip(starts[:used].tolist(), stops[:used].tolist(), counts[:used].tolist())}
    offsets = plan.type_offsets
    for index in range(offsets.size - 1):
        types[plan.types[offsets[index]:offsets[index + 1]].tobytes().decode("utf-8")] = int(filter_rows[index])
    return {schema.ORDER_TYPE: types}


def _kept_table(data: np.ndarray, plan: CompiledPlan, kept_out: tuple, kept: int, kept_lines: np.ndarray) -> pa.Table:
    """The kept rows in the exact path's staged form: the file's columns in its order (text as
    written, timestamp as an instant in the exchange's zone, price decimal128(18, 4), quantity int64),
    then source_line, trade_date, hour."""
    field_starts, field_stops = (array[:, :kept] for array in kept_out[:2])
    walls, prices, quantities = (array[:kept] for array in kept_out[2:])
    columns = {}
    for index, name in enumerate(plan.parser.header):
        role = int(plan.roles[index])
        if role == kernel.TIMESTAMP:
            columns[name] = _instants(walls, plan.timezone)
        elif role == kernel.PRICE:
            columns[name] = _decimal_prices(prices)
        elif role == kernel.QUANTITY:
            columns[name] = pa.array(quantities, schema.QUANTITY_TYPE)
        else:
            columns[name] = text_column(data, field_starts[index], field_stops[index])
    days = walls // kernel.MICROS_PER_DAY
    columns[SOURCE_LINE] = pa.array(kept_lines, pa.int64())
    columns[schema.TRADE_DATE] = pa.array(days.astype(np.int32), pa.date32())
    columns[schema.HOUR] = pa.array(((walls - days * kernel.MICROS_PER_DAY) // 3_600_000_000).astype(np.int8),
                                    pa.int8())
    return pa.table(columns)


def _instants(walls: np.ndarray, timezone: str) -> pa.Array:
    """Wall times (microseconds) in the exchange's zone as instants, as the exact path converts them."""
    instants, _local, _invalid = _assume_local(pa.array(walls, pa.timestamp(TIMESTAMP_UNIT)), timezone)
    return instants if len(walls) else pa.array([], timestamp_type(timezone))


def _decimal_prices(unscaled: np.ndarray) -> pa.Array:
    """Prices x 10^4 (non-negative, below 10^18) as decimal128(18, 4): low word the value, high word 0."""
    words = np.zeros(2 * len(unscaled), dtype=np.int64)
    words[0::2] = unscaled
    return pa.Array.from_buffers(schema.PRICE_TYPE, len(unscaled), [None, pa.py_buffer(words)])


def _participants(kept: pa.Table, participants: tuple[str, ...]) -> tuple[pa.Table, int]:
    """The kept rows of the filter's participants (all when it names none), and how many it left out."""
    if not participants or not kept.num_rows:
        return kept, 0
    mask = pc.fill_null(pc.is_in(kept[schema.PARTICIPANT_ID], value_set=pa.array(participants)), False)
    chosen = kept.filter(mask)
    return chosen, kept.num_rows - chosen.num_rows


def _rejects(raw: bytes, plan: CompiledPlan, verdicts: np.ndarray, reasons: np.ndarray, lines: np.ndarray,
             starts: np.ndarray, stops: np.ndarray, found: np.ndarray) -> pa.Table:
    """One quarantine row per rejected row, as the exact path writes it: its line, the first rule it
    breaks, its raw text (UTF-8: the kernel defers any other bytes)."""
    rejected = np.flatnonzero(verdicts == kernel.REJECTED)
    if not rejected.size:
        return QUARANTINE_SCHEMA.empty_table()
    expected = plan.roles.size
    zone_reason = kernel.REASONS[kernel.R_TS_BAD].format(zone=plan.timezone)
    messages = [f"field_count: expected {expected} fields, found {found[row]}" if reasons[row] == kernel.FIELD_COUNT
                else zone_reason if reasons[row] == kernel.R_TS_BAD else kernel.REASONS[reasons[row]]
                for row in rejected.tolist()]
    texts = [raw[start:stop].decode("utf-8") for start, stop in zip(starts[rejected].tolist(), stops[rejected].tolist())]
    return pa.table([[plan.parser.source_key] * len(messages), lines[rejected].tolist(),
                     [message.split(":", 1)[0] for message in messages], messages, texts], schema=QUARANTINE_SCHEMA)


def _exact_rows(raw: bytes, parser: RowParser, lines: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> ParsedBlock:
    """The deferred rows read by the exact path: copied one after the other, each with its own line
    end (a CR before it is data or line end as in the file), into one block, its physical lines
    mapped back to the file's."""
    pieces = [raw[start:stop] + _line_end(raw, stop) for start, stop in zip(starts.tolist(), stops.tolist())]
    line_map = np.concatenate([np.arange(line, line + raw.count(b"\n", start, stop) + 1, dtype=np.int64)
                               for line, start, stop in zip(lines.tolist(), starts.tolist(), stops.tolist())])
    data = b"".join(pieces)
    parsed = parser.parse(RawBlock(data=data, first_line=0, offset=0, lines=len(line_map)))
    source_lines = line_map[parsed.rows[SOURCE_LINE].to_numpy()]
    rows = parsed.rows.set_column(parsed.rows.schema.get_field_index(SOURCE_LINE), SOURCE_LINE,
                                  pa.array(source_lines, pa.int64()))
    rejects = parsed.rejects.set_column(1, "line", pa.array(line_map[parsed.rejects["line"].to_numpy()], pa.int64()))
    return ParsedBlock(rows=rows, rows_read=parsed.rows_read, rejects=rejects, rows_not_orders=parsed.rows_not_orders)


def _line_end(raw: bytes, stop: int) -> bytes:
    """The line end after a row's content as the file has it: CR LF or LF, or for the block's last
    row what is left (nothing, or a CR alone at the very end), so the exact path reads each row's
    bytes as it would in place (a row inside an unterminated quote keeps exactly its raw text)."""
    if raw[stop:stop + 2] == b"\r\n":
        return b"\r\n"
    if raw[stop:stop + 1] == b"\n":
        return b"\n"
    return raw[stop:]


def _in_line_order(table: pa.Table, column: str) -> pa.Table:
    return table.take(pc.sort_indices(table[column])) if table.num_rows else table


