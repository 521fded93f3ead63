"""A text written as a landing file and parsed block by block: the path every row rule takes,
shared by the tests of parsing and of each rule's module."""
import gzip
from pathlib import Path

import pyarrow as pa

from orders_assets.core.ingest.blocks import parsed_blocks
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources

HEADER = "order_id,timestamp,security_code,participant_id,side,order_type,price,quantity,event"
GOOD = "1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,45.12,100,NEW"


def parse_text(tmp_path: Path, text: str, name: str = "orders.csv", block_bytes: int = 1 << 20):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    [source] = discover_sources(tmp_path)
    blocks = [parsed for parsed, _ in parsed_blocks(source, IngestSettings(block_bytes=block_bytes))]
    rows = pa.concat_tables([block.rows for block in blocks])
    rejects = pa.concat_tables([block.rejects for block in blocks])
    return rows, rejects, sum(block.rows_read for block in blocks)
