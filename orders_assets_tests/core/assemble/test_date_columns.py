"""Pass-through columns that differ between the files of one trade date: the date file holds their
union, with types reconciled by one rule, and the same bytes whatever order the files came in."""
import hashlib
import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.assemble.date_writer import as_text, date_columns, extra_type
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore

DAY = "2025-03-03"


def generated(path, seed, securities=4, rows=1_500, **columns) -> None:
    """A generated day's file (CSV or Parquet by suffix) with extra columns: name -> f(row number)."""
    raw = path.with_name(f"raw-{path.stem}.parquet")
    generate_orders(raw, rows=rows, days=1, securities=securities, seed=seed)
    table = pq.read_table(raw)
    raw.unlink()
    for name, values in columns.items():
        table = table.append_column(name, values(table.num_rows))
    if path.suffix == ".csv":
        table = table.set_column(table.schema.get_field_index("price"), "price", pc.cast(table["price"], pa.string()))
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)


def ingest(landing, store, names=None) -> list:
    """Ingest the named files of the landing folder (all by default), then assemble what is pending."""
    for source in discover_sources(landing):
        if names is None or source.key in names:
            ingest_source(ChunkedSource(source, IngestSettings()), store)
    return assemble_partitions(store, pending_partitions(store))


def date_file(store) -> pa.Table:
    return pq.read_table(store.date_file(DAY))


def digests(store) -> dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest()
            for name, path in (("orders", store.date_file(DAY)), ("aggregates", store.aggregate_file(DAY)))}


def texts(count: int, prefix: str) -> pa.Array:
    return pa.array([f"{prefix}{n % 7}" for n in range(count)])


@pytest.fixture
def landing(tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    generated(folder / "a.csv", 61, venue=lambda n: texts(n, "V"))
    generated(folder / "b.csv", 62, desk=lambda n: texts(n, "D"))
    return folder


def test_a_date_holds_every_files_columns_the_same_bytes_in_any_order(landing, tmp_path):
    """Before: the date took the columns of whichever slice came first; b.csv after a.csv deleted
    a.csv's venue values, and a file bringing a new column failed the date on every run (KeyError)."""
    together = OrderStore(tmp_path / "together")
    ingest(landing, together)
    rows = date_file(together)
    assert rows.column_names[8:11] == ["event", "venue", "desk"]  # after the contract's columns, a.csv's first (files by key)
    from_a = pc.equal(rows["source_file"], "a.csv")
    assert pc.all(pc.is_valid(rows.filter(from_a)["venue"])).as_py()
    assert pc.all(pc.is_null(rows.filter(from_a)["desk"])).as_py()
    assert set(rows.filter(pc.invert(from_a))["desk"].to_pylist()) == {f"D{n}" for n in range(7)}
    for first, second in (("a.csv", "b.csv"), ("b.csv", "a.csv")):
        store = OrderStore(tmp_path / f"{first}-then-{second}")
        ingest(landing, store, {first})
        assembled = ingest(landing, store, {second})
        assert digests(store) == digests(together), (first, second)
        asked = {part.key for part in assembled if not part.alongside}
        alongside = {part.key for part in assembled if part.alongside}
        assert asked and not asked & alongside  # the second file's keys asked, its new column rebuilt the others
        assert asked | alongside == {key for key in together.catalog() if key[0] == DAY}


def test_a_file_that_takes_its_column_away_leaves_the_date_as_if_it_had_never_come(landing, tmp_path):
    store = OrderStore(tmp_path / "data")
    ingest(landing, store)
    (landing / "a.csv").unlink()
    store.retire("a.csv")
    assemble_partitions(store, pending_partitions(store))
    only_b = OrderStore(tmp_path / "only_b")
    ingest(landing, only_b)
    assert "venue" not in date_file(store).column_names
    assert digests(store) == digests(only_b)


def test_a_column_typed_in_parquet_and_text_in_csv_is_text_each_value_as_written(tmp_path):
    """Before: an int column in a Parquet file beside a text one in a CSV left the date with 0 partitions."""
    landing = tmp_path / "landing"
    landing.mkdir()
    generated(landing / "a.parquet", 63, venue=lambda n: pa.array(range(n), pa.int64()))
    generated(landing / "b.csv", 64, venue=lambda n: texts(n, "X"))
    store = OrderStore(tmp_path / "data")
    ingest(landing, store)
    rows = date_file(store)
    assert rows.schema.field("venue").type == pa.string()
    assert rows.num_rows == sum(entry.rows for entry in store.catalog().values())
    parquet_rows = rows.filter(pc.equal(rows["source_file"], "a.parquet"))
    assert [int(value) for value in parquet_rows["venue"].to_pylist()] == \
        [line - 1 for line in parquet_rows["source_line"].to_pylist()]  # the row's own number, as text
    assert set(rows.filter(pc.equal(rows["source_file"], "b.csv"))["venue"].to_pylist()) <= {f"X{n}" for n in range(7)}


def test_nested_parquet_columns_and_thousands_of_csv_columns_are_all_kept(tmp_path):
    """Before: 3,000 extra CSV columns beside a Parquet file with struct and list extras were dropped."""
    landing = tmp_path / "landing"
    landing.mkdir()
    nested = {"detail": lambda n: pa.array([{"venue": f"V{i % 3}", "lot": i} for i in range(n)]),
              "fills": lambda n: pa.array([[i, i + 1] for i in range(n)], pa.list_(pa.int64())),
              "clash": lambda n: pa.array([[i] for i in range(n)], pa.list_(pa.int64()))}
    generated(landing / "a.parquet", 65, **nested)
    many = {f"x{i:04d}": (lambda n, i=i: pa.array([str(i)] * n)) for i in range(3_000)}
    generated(landing / "b.csv", 66, securities=2, rows=400, clash=lambda n: texts(n, "C"), **many)
    store = OrderStore(tmp_path / "data")
    ingest(landing, store)
    rows = date_file(store)
    assert rows.schema.field("detail").type == pa.struct([("venue", pa.string()), ("lot", pa.int64())])
    assert rows.schema.field("fills").type == pa.list_(pa.int64())
    assert [name for name in rows.column_names if name.startswith("x")] == [f"x{i:04d}" for i in range(3_000)]
    clash = rows.filter(pc.equal(rows["source_file"], "a.parquet"))["clash"].to_pylist()
    assert all(json.loads(value) == [line - 1] for value, line in
               zip(clash, rows.filter(pc.equal(rows["source_file"], "a.parquet"))["source_line"].to_pylist()))


def test_the_rule_for_a_columns_type():
    assert extra_type([pa.int64(), pa.int64()]) == pa.int64()
    assert extra_type([pa.null(), pa.int32()]) == pa.int32()  # a column of nulls agrees with any type
    assert extra_type([pa.int64(), pa.string()]) == pa.string()
    assert extra_type([pa.int32(), pa.int64()]) == pa.string()
    assert extra_type([pa.null()]) == pa.null()
    assert as_text(pa.array([1, None])).to_pylist() == ["1", None]
    assert as_text(pa.array([{"a": 1}, None])).to_pylist() == ['{"a": 1}', None]
    schemas = [pa.schema([("order_id", pa.string())])]
    with pytest.raises(KeyError):
        date_columns(schemas)  # a slice without the contract's columns is a defect, not a date


def test_staged_slices_keep_their_files_own_columns(landing, tmp_path):
    store = OrderStore(tmp_path / "data")
    ingest(landing, store)
    shutil.rmtree(store.orders)  # the date file is rebuilt from the slices alone
    for key in store.catalog():
        assert key[0] == DAY
    assemble_partitions(store, list(store.catalog()))
    assert date_file(store).column_names[8:11] == ["event", "venue", "desk"]
