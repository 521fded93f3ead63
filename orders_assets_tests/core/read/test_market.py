"""A file's market totals gathered block by block: the same sums however often they are summed down."""
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orders_assets.core import schema
from orders_assets.core.generate import generate_orders
from orders_assets.core.read import market


def _blocks(tmp_path, rows: int, block_rows: int) -> list[pa.Table]:
    """A generated file's rows as blocks' totals, the way the ingest hands them over."""
    path = tmp_path / "orders.csv"
    generate_orders(path, rows=rows, days=6, securities=40, seed=9)
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={
        "price": pa.decimal128(18, 4), "quantity": pa.int64(), "timestamp": pa.timestamp("us")}))
    dates = pc.cast(table["timestamp"], pa.date32())
    columns = [dates, table["security_code"], table["order_type"], table["price"], table["quantity"]]
    return [market.block_totals(*(column[start:start + block_rows] for column in columns))
            for start in range(0, table.num_rows, block_rows)]


def _gathered(blocks: list[pa.Table]) -> pa.Table:
    totals = market.MarketTotals()
    for block in blocks:
        totals.add(block)
    return totals.table()


def test_totals_summed_down_as_they_double_equal_one_sum_and_are_not_summed_at_every_block(tmp_path, monkeypatch):
    blocks = _blocks(tmp_path, rows=30_000, block_rows=500)
    once = _gathered(blocks)  # far below COMPACT_ROWS: summed once, at the end
    summed = []
    real = market._summed
    monkeypatch.setattr(market, "_summed", lambda rows, counted: summed.append(rows.num_rows) or real(rows, counted))
    monkeypatch.setattr(market, "COMPACT_ROWS", 64)
    assert _gathered(blocks).equals(once)
    keys = once.num_rows
    assert keys > 64 and len(blocks) == 60
    # Once the keys alone pass the threshold, every block's totals would cross it: summing down only
    # when the rows double keeps it to a few sums (15 here), not one a block (61 with the fixed threshold).
    assert len(summed) <= len(blocks) // 4, summed
    assert pc.sum(once["orders"]).as_py() == 30_000
    assert once.schema.field("value").type == pa.decimal128(38, schema.PRICE_SCALE)
