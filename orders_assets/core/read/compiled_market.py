"""The market's totals of a block the compiled pass read: the kernel's outputs for every valid row
(kept or filtered out), grouped by trade date, security and order type by the compiled grouping
(market_kernel.py) into a small table a block (core/read/market.py combines them)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from orders_assets.core import schema
from orders_assets.core.read import row_kernel as kernel
from orders_assets.core.read import market_kernel


def market_outputs(capacity: int) -> tuple:
    """The kernel's outputs for the market's totals, at each valid row's index: wall time, price x 10^4,
    quantity, and the security's field (the order type's is in the type outputs)."""
    return tuple(np.empty(capacity, dtype=np.int64) for _ in range(5))


def valid_rows(verdicts: np.ndarray) -> np.ndarray:
    """Where the kernel judged a row valid, kept or filtered out (row_kernel.LAST_VALID)."""
    return verdicts <= kernel.LAST_VALID


def block_market(data: np.ndarray, verdicts: np.ndarray, out: tuple) -> pa.Table:
    """The block's valid rows (those the kernel judged) totalled by trade date, security and order
    type, by the compiled grouping (market_kernel.py): exact integer sums, a small table a block."""
    rows = verdicts.size
    walls, prices, quantities, security_starts, security_stops = (array[:rows] for array in out[14:19])
    type_starts, type_stops = out[11][:rows], out[12][:rows]  # read where valid only (the others are unset)
    first, days, orders, quantity_words, value_words = market_kernel.grouped(
        data, valid_rows(verdicts), walls, prices, quantities, security_starts, security_stops,
        type_starts, type_stops)
    count = first.size
    return pa.table({
        schema.TRADE_DATE: pa.array(days.astype(np.int32), pa.date32()),
        schema.SECURITY_CODE: text_column(data, security_starts[first], security_stops[first]),
        schema.ORDER_TYPE: text_column(data, type_starts[first], type_stops[first]),
        "orders": pa.array(orders, pa.int64()),
        "quantity": pa.Array.from_buffers(pa.decimal256(76, 0), count, [None, pa.py_buffer(quantity_words)]),
        "value": pa.Array.from_buffers(pa.decimal256(76, schema.PRICE_SCALE), count, [None, pa.py_buffer(value_words)]),
    })


def text_column(data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> pa.Array:
    """The fields [starts, stops) of the block as a string column (UTF-8: the kernel defers other bytes),
    gathered by the compiled copy: the kept rows' text columns and the market groups' labels alike."""
    offsets, values = kernel.gather_text(data, starts, stops, starts.size)
    return pa.StringArray.from_buffers(starts.size, pa.py_buffer(offsets), pa.py_buffer(values))
