"""Published outputs at a URL (core/store/outputs.py): a local folder keeps the atomic rename and today's bytes;
fsspec's memory:// filesystem stands for an object store."""
import io
import json
import os
import uuid
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from upath import UPath

from orders_assets.core.store import date_files, outputs

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import exact_totals
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.assemble.aggregate_files import load_partials
from orders_assets.core.store.atomic import TEMP_PREFIX, OutputWriteError, atomic_write_parquet
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.invariants import partition_problems, report_problems
from orders_assets.core.report.market_share import build_market_share
from orders_assets.core.report.files import reports_complete, reports_current, write_report
from orders_assets.core.report.page import write_plot, write_report_page
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.report.summary import read_summary, write_summary
from orders_assets.core.report.summary_build import build_summary
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.support.reference import reference_reports

TABLE = pa.table({"security_code": ["BHP", "CBA"], "orders": [3, 4]})


@pytest.fixture
def memory_url():
    """A fresh folder of fsspec's in-memory filesystem (one store per process), emptied afterwards."""
    url = f"memory://outputs-{uuid.uuid4().hex[:8]}"
    yield url
    memory = fsspec.filesystem("memory")
    if memory.exists(UPath(url).path):
        memory.rm(UPath(url).path, recursive=True)


def test_the_output_root_is_the_data_folder_by_default_and_a_file_url_is_a_local_path(tmp_path):
    assert outputs.output_root(tmp_path) == tmp_path and outputs.output_root(tmp_path, "") == tmp_path
    local = outputs.output_root(tmp_path, (tmp_path / "published").as_uri())
    assert isinstance(local, Path) and local == tmp_path / "published" and outputs.is_local(local)
    remote = outputs.output_root(tmp_path, "s3://bucket/orders")
    assert (remote.protocol, remote.path, outputs.is_local(remote)) == ("s3", "bucket/orders", False)


def test_a_local_output_has_the_bytes_of_the_atomic_writer_and_leaves_no_temporary_file(tmp_path):
    atomic_write_parquet(tmp_path / "before.parquet", TABLE)
    outputs.write_parquet(UPath(tmp_path) / "sub" / "after.parquet", TABLE)
    assert (tmp_path / "sub" / "after.parquet").read_bytes() == (tmp_path / "before.parquet").read_bytes()
    assert not list(tmp_path.rglob(f"{TEMP_PREFIX}*"))


def test_a_remote_output_is_one_put_of_the_bytes_a_local_file_would_have(tmp_path, memory_url, monkeypatch):
    remote = UPath(memory_url) / "reports" / "by_security.parquet"
    puts = []
    real_pipe = remote.fs.pipe_file
    monkeypatch.setattr(remote.fs, "pipe_file", lambda path, data, **kw: puts.append(path) or real_pipe(path, data, **kw))
    outputs.write_parquet(remote, TABLE)
    outputs.write_parquet(tmp_path / "by_security.parquet", TABLE)
    assert puts == [remote.path]
    assert remote.fs.cat_file(remote.path) == (tmp_path / "by_security.parquet").read_bytes()
    assert outputs.read_table(remote) == TABLE and outputs.read_metadata(remote).num_rows == 2


def test_a_remote_write_that_fails_leaves_the_old_object_and_names_the_url(memory_url, monkeypatch):
    path = UPath(memory_url) / "reports" / "by_date.csv"
    outputs.write_bytes(path, b"old\n")

    def half_then_fail(target):
        target.write(b"new, half of it")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        outputs.write_output(path, half_then_fail)
    assert outputs.read_text(path) == "old\n"
    monkeypatch.setattr(path.fs, "pipe_file", lambda *args, **kwargs: (_ for _ in ()).throw(PermissionError(13, "denied")))
    with pytest.raises(OutputWriteError, match=f"cannot write {memory_url}/reports/by_date.csv: denied"):
        outputs.write_bytes(path, b"new\n")
    assert outputs.read_text(path) == "old\n"


@pytest.mark.parametrize("where", ["local", "memory"])
def test_exists_read_and_remove_agree_with_the_filesystem(where, tmp_path, memory_url):
    root = UPath(tmp_path) if where == "local" else UPath(memory_url)
    path = root / "orders" / "trade_date=2025-03-03" / "security_code=BHP.parquet"
    assert not outputs.exists(path)
    outputs.write_output(path, lambda target: pacsv.write_csv(TABLE, target))
    assert outputs.exists(path) and path.exists()
    assert pacsv.read_csv(io.BytesIO(outputs.read_bytes(path))) == TABLE
    outputs.remove(path)
    assert not outputs.exists(path) and not path.exists()
    outputs.remove(path)  # already gone: no error


def test_the_ui_shows_a_local_path_and_a_file_url_or_the_object_url(tmp_path):
    local = UPath(tmp_path) / "reports" / "index.html"
    assert outputs.display(local) == str(tmp_path / "reports" / "index.html")
    assert outputs.browser_url(local) == (tmp_path / "reports" / "index.html").resolve().as_uri()
    remote = UPath("s3://bucket/orders/reports/index.html")
    assert outputs.display(remote) == outputs.browser_url(remote) == "s3://bucket/orders/reports/index.html"


def publish(landing: Path, store: OrderStore) -> None:
    """The engine's whole path for the files of `landing`: ingest, assemble, reports (market_share too),
    plots, page, summary."""
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    for name in schema.REPORT_NAMES:
        table = build_report(name, partials)
        write_report(table, store.reports, name)
        write_plot(store.reports, name, table)
    write_report(build_market_share(store).table, store.reports, schema.MARKET_SHARE)
    document = build_summary(store, exact_totals(partials))
    write_report_page(store.reports, document)
    write_summary(document, store.reports)


def published_files(root: UPath) -> dict[str, bytes]:
    """Every object or file under root, by relative name, read with the filesystem itself."""
    base = root.path.rstrip("/")
    return {name[len(base) + 1:]: root.fs.cat_file(name) for name in root.fs.find(base)}


def published_partitions(objects: dict[str, bytes]) -> set[tuple[str, str]]:
    """(date, security) of every partition in the published date files (orders/trade_date=D/orders.parquet),
    read from each file's index; any other name under orders/ is a failure."""
    found = set()
    for name, data in objects.items():
        if name.startswith("orders/"):
            folder, file_name = name.removeprefix("orders/").split("/")
            assert folder.startswith("trade_date=") and file_name == "orders.parquet", name
            index = date_files.index_of(pq.read_metadata(io.BytesIO(data)))
            found |= {(folder.removeprefix("trade_date="), security) for security in index}
    return found


def test_a_store_publishes_to_memory_what_it_publishes_locally_and_removes_stale_partitions(tmp_path, memory_url):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=12_000, days=2, securities=5, seed=31, bad_rows=0.005)
    local, remote = OrderStore(tmp_path / "local"), OrderStore(tmp_path / "work", memory_url)
    publish(landing, local)
    publish(landing, remote)

    reference = reference_reports([landing / "orders.csv"])
    daily = reference.reports["timeseries_daily"]
    expected = {(str(row.trade_date), row.security_code) for row in daily.itertuples()}
    objects = published_files(remote.output_root)
    assert published_partitions(objects) == expected
    assert sorted(os.listdir(tmp_path / "work")) == ["aggregates", "quarantine", "staging", "state"]
    local_files = published_files(UPath(tmp_path / "local" / "orders").parent)
    for name, data in objects.items():
        if name != "reports/summary.json":  # holds the ingest attempts' ids, which differ
            assert data == local_files[name], name
    for name in schema.REPORT_NAMES:
        assert_report_equals(read_report(remote.reports, name, "parquet"), reference.reports[name], name)
    assert read_summary(remote.reports).rows_read == reference.rows_read
    assert reports_complete(remote) and reports_current(remote)
    assert report_problems(remote) == [] and partition_problems(remote) == []

    generate_orders(landing / "orders.csv", rows=6_000, days=2, securities=3, seed=32)
    os.utime(landing / "orders.csv", ns=(1, 1))
    publish(landing, remote)
    daily = reference_reports([landing / "orders.csv"]).reports["timeseries_daily"]
    kept = {(str(row.trade_date), row.security_code) for row in daily.itertuples()}
    assert kept < expected
    assert published_partitions(published_files(remote.output_root)) == kept
    assert partition_problems(remote) == []
    assert json.loads(outputs.read_text(remote.reports / "summary.json"))["partitions"] == len(kept)
