"""The output invariants hold on real outputs and catch each kind of damage."""
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble.aggregate import exact_totals
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.assemble.aggregate_files import load_partials
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.invariants import (
    accounting_problems,
    partition_problems,
    partition_totals,
    report_problems,
    report_total_problems,
    totals_problems,
)
from orders_assets.core.report.files import write_report
from orders_assets.core.report.summary import read_summary, write_summary
from orders_assets.core.report.summary_build import build_summary
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.atomic import atomic_write_json
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.support.reference import reference_reports


@pytest.fixture
def store(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=2, securities=5, seed=12, bad_rows=0.01)
    store = OrderStore(tmp_path / "data")
    for source in discover_sources(landing):
        ingest_source(ChunkedSource(source, IngestSettings()), store)
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    for name in schema.REPORT_NAMES:
        write_report(build_report(name, partials), store.reports, name)
    write_summary(build_summary(store, exact_totals(partials)), store.reports)
    return store


def landing_reference(store: OrderStore):
    """The oracle's figures for the fixture's one source file (tests/support/reference.py)."""
    return reference_reports([Path(store.root).parent / "landing" / "orders.csv"])


def test_the_invariants_hold_on_real_outputs(store):
    assert report_problems(store) == []
    assert report_total_problems(store, read_summary(store.reports).totals) == []
    assert partition_problems(store) == []
    assert accounting_problems(store) == []
    assert totals_problems(read_summary(store.reports).totals, partition_totals(store)) == []


def test_the_partitions_totals_are_the_oracles(store):
    reference = landing_reference(store)
    assert reference.totals["orders"] > 1_000
    assert partition_totals(store) == reference.totals


def test_a_quarantine_missing_a_row_and_an_unbalanced_manifest_are_caught(store):
    rejected = landing_reference(store).rows_rejected
    assert rejected > 0
    quarantine = store.quarantine_file("orders.csv")
    pacsv.write_csv(store.quarantined("orders.csv").slice(1), quarantine)
    assert accounting_problems(store) == [f"orders.csv: quarantine holds {rejected - 1} rows, rows_rejected is {rejected}"]

    manifest_path = next(store.staging.glob("*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    atomic_write_json(manifest_path, {**manifest, "rows_read": manifest["rows_read"] + 1})
    assert accounting_problems(store)[0] == (
        f"orders.csv: rows_read {manifest['rows_read'] + 1} != kept {manifest['rows_kept']} + filtered_out "
        f"{manifest['rows_filtered_out']} + rejected {manifest['rows_rejected']}")


def test_a_summary_with_a_changed_total_is_caught(store):
    path = store.reports / "summary.json"
    document = json.loads(path.read_text())
    changed = Decimal(document["value"]) + Decimal("0.0001")
    path.write_text(json.dumps({**document, "value": str(changed)}))
    partitions = partition_totals(store)
    assert totals_problems(read_summary(store.reports).totals, partitions) == [
        f"the summary's value is {changed}, the partitions hold {partitions['value']}"]
    assert totals_problems({}, partitions)[0] == f"the summary's orders is None, the partitions hold {partitions['orders']}"


def test_a_report_with_a_wrong_column_a_repeated_key_or_unsorted_rows_is_caught(store):
    path = store.reports / "by_security.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["participants"]), path)
    assert "columns" in report_problems(store)[0]
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path)
    assert any("appears more than once" in problem for problem in report_problems(store))
    pq.write_table(table.take(list(reversed(range(table.num_rows)))), path)
    assert report_problems(store) == [f"{path}: rows are not sorted by security_code"]


def test_lost_or_doubled_rows_and_a_missing_partition_file_are_caught(store):
    first_key = sorted(key for key, entry in store.catalog().items() if entry.rows)[0]
    manifest_path = next(store.staging.glob("*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "rows_kept": manifest["rows_kept"] + 1}))
    assert "the ingests kept" in partition_problems(store)[0]
    manifest_path.write_text(json.dumps(manifest))
    date_file = store.date_file(first_key[0])
    expected = {key[1]: entry.rows for key, entry in store.catalog().items() if key[0] == first_key[0] and entry.rows}
    date_file.unlink()
    assert partition_problems(store) == [f"{date_file}: missing ({sum(expected.values())} rows of "
                                         f"{len(expected)} securities expected)"]


def test_a_report_that_lost_rows_no_longer_adds_up_to_the_summary(store):
    """The probe's by_order_size held 578 orders where the summary and the order set held 1,463,
    with every check green: the buckets of the partitions assembled earlier were gone."""
    totals = read_summary(store.reports).totals
    report = pq.read_table(store.reports / "by_order_size.parquet")
    dropped = report.filter(pa.compute.not_equal(report["size_bucket"], "<10k"))
    write_report(dropped, store.reports, "by_order_size")
    problems = report_total_problems(store, totals)
    lost = report.filter(pa.compute.equal(report["size_bucket"], "<10k"))["orders"][0].as_py()
    assert lost > 0
    assert f"by_order_size.parquet: its orders add up to {totals['orders'] - lost}, the summary's total is " \
        f"{totals['orders']}" in "\n".join(problems)
    assert len(problems) == 3  # orders, quantity and value


def test_a_quarantine_whose_reasons_differ_from_its_manifests_is_caught(store):
    """The summary's rejections_by_reason come from the manifests: the check holds them to the
    quarantine, row for row by reason."""
    quarantined = store.quarantined("orders.csv")
    reasons = quarantined["reason"].to_pylist()
    changed = quarantined.set_column(3, "reason", pa.array(["price: negative"] + reasons[1:]))
    assert reasons[0] != "price: negative"
    pacsv.write_csv(changed, store.quarantine_file("orders.csv"))
    [problem] = accounting_problems(store)
    assert problem.startswith("orders.csv: quarantine's rows by reason") and "differ from the manifest's" in problem
