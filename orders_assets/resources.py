"""Typed settings shared by assets, IO managers and the CLI."""

from pathlib import Path

import dagster as dg

from orders_assets.core import schema
from orders_assets.core.filters import OrderFilter, order_filter_from
from orders_assets.core.ingest import DEFAULT_STAGE_BYTES, IngestSettings
from orders_assets.core.reader import DEFAULT_BLOCK_BYTES
from orders_assets.core.store import OrderStore

LANDING_ENV = "ORDERS_ASSETS_LANDING"
DATA_ENV = "ORDERS_ASSETS_DATA"


class OrdersSettings(dg.ConfigurableResource):
    """Where orders land and outputs go, the filter of the order set, and the report buckets."""

    landing_dir: str
    """Folder watched for order files (CSV, CSV.gz, CSV.zst, Parquet)."""
    data_dir: str
    """Folder of every output: staging, partitions, aggregates, quarantine, reports."""
    order_types: list[str] = list(schema.DEFAULT_ORDER_TYPES)
    session_start: str = schema.DEFAULT_SESSION_START
    session_end: str = schema.DEFAULT_SESSION_END
    participants: list[str] = []
    """Empty: every participant."""
    timezone: str = schema.DEFAULT_TIMEZONE
    """Exchange time zone: naive timestamps are in it, trade dates and hours are taken in it."""
    size_edges: list[int] = list(schema.DEFAULT_SIZE_EDGES)
    block_bytes: int = DEFAULT_BLOCK_BYTES
    stage_bytes: int = DEFAULT_STAGE_BYTES

    def store(self) -> OrderStore:
        return OrderStore(Path(self.data_dir))

    def order_filter(self) -> OrderFilter:
        return order_filter_from(self.model_dump())

    def ingest_settings(self) -> IngestSettings:
        return IngestSettings(order_filter=self.order_filter(), block_bytes=self.block_bytes,
                              stage_bytes=self.stage_bytes)

    def edges(self) -> tuple[int, ...]:
        return tuple(self.size_edges)
