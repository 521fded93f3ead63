"""The generator's files: its chunks written as CSV (gzip, zstd, bz2, xz by the name's suffix) with
the damage asked for (bad values, rows with too few or too many fields), or as Parquet."""
from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orders_assets.core import schema

VALUE_CORRUPTIONS = {
    "price_text": (schema.PRICE, "abc"),
    "price_negative": (schema.PRICE, "-1.50"),
    "price_too_precise": (schema.PRICE, "1.23456"),
    "quantity_zero": (schema.QUANTITY, "0"),
    "quantity_negative": (schema.QUANTITY, "-5"),
    "quantity_text": (schema.QUANTITY, "12x"),
    "quantity_fraction": (schema.QUANTITY, "10.5"),
    "timestamp_bad": (schema.TIMESTAMP, "2025-13-45 99:00:00"),
    "missing_order_id": (schema.ORDER_ID, ""),
    "missing_security_code": (schema.SECURITY_CODE, ""),
    "missing_participant_id": (schema.PARTICIPANT_ID, ""),
    "side_bad": (schema.SIDE, "X"),
}
STRUCTURE_CORRUPTIONS = ("too_few_fields", "too_many_fields")


def compression_of(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        return "gzip"
    if lowered.endswith((".zst", ".zstd")):
        return "zstd"
    return None


class CsvChunks:
    """Streams chunks as CSV without quotes (no value holds a comma), corrupting the chosen rows."""

    def __init__(self, path: str, compression: str | None):
        self.stream = pa.output_stream(path, compression=compression)
        self.header_written = False

    def write(self, chunk: pa.Table, first_row: int, bad_positions: np.ndarray, bad_kinds: np.ndarray) -> None:
        lo, hi = np.searchsorted(bad_positions, [first_row, first_row + chunk.num_rows])
        local, kinds = bad_positions[lo:hi] - first_row, bad_kinds[lo:hi]
        chunk = _corrupt_values(chunk, local, kinds)
        if not self.header_written:
            self.stream.write((",".join(chunk.column_names) + "\n").encode())
            self.header_written = True
        buffer = io.BytesIO()
        pacsv.write_csv(chunk, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
        data = buffer.getvalue()
        structural = np.isin(kinds, STRUCTURE_CORRUPTIONS)
        if structural.any():
            data = _corrupt_structure(data, local[structural], kinds[structural])
        self.stream.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stream.close()


def _corrupt_values(chunk: pa.Table, local: np.ndarray, kinds: np.ndarray) -> pa.Table:
    for kind, (column, bad_value) in VALUE_CORRUPTIONS.items():
        positions = local[kinds == kind]
        if positions.size:
            mask = np.zeros(chunk.num_rows, dtype=bool)
            mask[positions] = True
            corrupted = pc.if_else(pa.array(mask), pa.scalar(bad_value), chunk[column])
            chunk = chunk.set_column(chunk.schema.get_field_index(column), column, corrupted)
    return chunk


def _corrupt_structure(data: bytes, local: np.ndarray, kinds: np.ndarray) -> bytes:
    lines = data.split(b"\n")
    for position, kind in zip(local.tolist(), kinds.tolist()):
        line = lines[position]
        lines[position] = line.rsplit(b",", 1)[0] if kind == "too_few_fields" else line + b",extra"
    return b"\n".join(lines)


class ParquetChunks:
    """Typed Parquet: naive local timestamps, decimal prices, integer quantities."""

    def __init__(self, path: str):
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def write(self, chunk: pa.Table, first_row: int, bad_positions: np.ndarray, bad_kinds: np.ndarray) -> None:
        typed = chunk.set_column(1, schema.TIMESTAMP, pc.cast(chunk[schema.TIMESTAMP], pa.timestamp("us")))
        typed = typed.set_column(6, schema.PRICE, pc.cast(chunk[schema.PRICE], pa.decimal128(12, 3)))
        typed = typed.set_column(7, schema.QUANTITY, pc.cast(chunk[schema.QUANTITY], pa.int64()))
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, typed.schema, compression="zstd")
        self.writer.write_table(typed)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.writer is not None:
            self.writer.close()
