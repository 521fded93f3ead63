"""Header lines as vendors write them: names in another case or spelling of their separators are
the layout's (and the contract's) columns, and a first line that is a header is never a row."""
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.read.layout.load import load_layout
from orders_assets.core.read.layout.model import LayoutChoice, LayoutRule
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.core.read.layout.test_layout import ingest_one

LOBSTER_NAME = "AAPL_2012-06-21_34200000_57600000_message_10.csv"
LOBSTER_ROWS = ["36000.5,1,7,100,1234500,1", "36001,2,7,50,1234500,1", "36002.25,1,8,10,1234600,-1",
                "36003,4,8,10,1234600,-1"]  # 2 submissions (orders), a cancel and an execution (not orders)


@pytest.mark.parametrize("header", ["Time,Event_Type,Order_ID,Size,Price,Direction",
                                    "TIME,EVENT TYPE,ORDER ID,SIZE,PRICE,DIRECTION",
                                    "time,event_type,order_id,size,price,direction"])
def test_a_lobster_file_with_a_header_line_in_any_case_counts_only_its_data_rows(tmp_path, header):
    manifest = ingest_one(tmp_path, load_layout("lobster"), LOBSTER_NAME, "\n".join([header, *LOBSTER_ROWS]) + "\n")
    assert (manifest.rows_read, manifest.rows_kept, manifest.rows_not_orders, manifest.rows_rejected) == (4, 2, 2, 0)


def test_the_documented_header_variant_reads_a_header_in_another_case(tmp_path):
    (tmp_path / "with_header.yaml").write_text("extends: lobster\nname: lobster_with_header\ncolumn_names: null\n")
    manifest = ingest_one(tmp_path, load_layout(str(tmp_path / "with_header.yaml")), LOBSTER_NAME,
                          "\n".join(["Time,Event_Type,Order_ID,Size,Price,Direction", *LOBSTER_ROWS]) + "\n")
    assert (manifest.rows_read, manifest.rows_kept, manifest.rows_not_orders, manifest.rows_rejected) == (4, 2, 2, 0)


def test_generic_trades_reads_capitalised_names_and_passes_other_columns_through(tmp_path):
    text = ("Trade_ID,Timestamp,Symbol,Price,Quantity,Side,Venue\n"
            "1,2025-01-02T10:00:00-05:00,AAPL,185.5,100,buy,XNAS\n"
            "2,2025-01-02T10:00:01-05:00,AAPL,185.25,50,SELL,XNAS\n")
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "trades.csv").write_text(text)
    settings = IngestSettings(order_filter=OrderFilter(order_types=("TRADE",), timezone="America/New_York"),
                              layouts=LayoutChoice((LayoutRule(load_layout("generic_trades"), match="*"),)))
    (source,) = discover_sources(tmp_path / "landing")
    manifest = ingest_source(ChunkedSource(source, settings), OrderStore(tmp_path / "data"))
    assert (manifest.rows_read, manifest.rows_kept, manifest.rows_rejected) == (2, 2, 0)


def test_a_canonical_file_whose_header_is_upper_case_is_read_by_both_paths(tmp_path):
    generate_orders(tmp_path / "orders.csv", rows=2_000, days=1, securities=3, seed=44)
    lines = (tmp_path / "orders.csv").read_text().splitlines(keepends=True)
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "upper.csv").write_text(lines[0].upper() + "".join(lines[1:]))
    (tmp_path / "landing" / "lower.csv").write_text("".join(lines))
    settings = IngestSettings(order_filter=OrderFilter())
    store = OrderStore(tmp_path / "data")
    manifests = {source.key: ingest_source(ChunkedSource(source, settings), store)
                 for source in discover_sources(tmp_path / "landing")}
    counts = {key: (m.rows_read, m.rows_kept, m.rows_filtered_out, m.rows_rejected) for key, m in manifests.items()}
    assert counts["upper.csv"] == counts["lower.csv"]
    assert counts["upper.csv"][0] == len(lines) - 1
