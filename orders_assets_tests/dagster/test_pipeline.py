"""The whole pipeline through Dagster on generated data, against the independent reference."""
import json
from decimal import Decimal
from types import SimpleNamespace

import dagster as dg
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.markdown_view import list_items
from orders_assets_tests.support.reference import reference_reports


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    landing, data, home = root / "landing", root / "data", root / "home"
    landing.mkdir()
    home.mkdir()
    generated = generate_orders(landing / "orders.csv", rows=60_000, days=4, securities=12, participants=40,
                                seed=7, bad_rows=0.01)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        outcome = run_pipeline(settings, instance)
        yield SimpleNamespace(landing=landing, data=data, instance=instance, outcome=outcome, settings=settings,
                              generated=generated, reference=reference_reports([landing / "orders.csv"]))


def test_one_ingest_one_partition_backfill_and_one_report_run(pipeline):
    jobs = [run.job for run in pipeline.outcome.runs]
    assert jobs == ["ingest_order_files", "assemble_order_partitions", "build_reports"]
    assert pipeline.outcome.success


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_report_equals_the_independent_computation(pipeline, name, kind):
    product = read_report(pipeline.data / "reports", name, kind)
    assert_report_equals(product, pipeline.reference.reports[name], f"{name}.{kind}")


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_average_is_its_rows_exact_quotient_rounded_once(pipeline, name):
    """Exactly (==, not to a tolerance): avg = the float64 nearest sum / orders, from the report's own exact sums."""
    from fractions import Fraction

    report = pq.read_table(pipeline.data / "reports" / f"{name}.parquet").to_pylist()
    assert report
    for row in report:
        if row["orders"]:
            assert row["avg_quantity"] == float(Fraction(row["quantity"]) / row["orders"]), row
            assert row["avg_value"] == float(Fraction(row["value"]) / row["orders"]), row
        else:
            assert row["avg_quantity"] is None and row["avg_value"] is None, row


def test_every_row_is_accounted_for_and_bad_rows_are_quarantined_with_line_and_reason(pipeline):
    summary = json.loads((pipeline.data / "reports" / "summary.json").read_text())
    reference = pipeline.reference
    assert summary["rows_read"] == reference.rows_read == pipeline.generated.rows
    assert summary["rows_read"] == summary["rows_kept"] + summary["rows_filtered_out"] + summary["rows_rejected"]
    assert (summary["rows_kept"], summary["rows_filtered_out"], summary["rows_rejected"]) == (
        reference.rows_kept, reference.rows_filtered_out, reference.rows_rejected)
    assert (summary["orders"], summary["quantity"]) == (reference.totals["orders"], reference.totals["quantity"])
    assert summary["value"] == str(reference.totals["value"].quantize(__import__("decimal").Decimal("0.0001")))
    assert summary["partitions"] == reference.partitions

    quarantine = pacsv.read_csv(next((pipeline.data / "quarantine").glob("*.csv"))).to_pylist()
    bad_lines = {bad.line for bad in pipeline.generated.bad_lines}
    assert len(bad_lines) > 100
    assert {row["line"] for row in quarantine} == bad_lines == reference.rejected_lines["orders.csv"]
    assert all(row["reason"] and row["raw"] and row["source_file"] == "orders.csv" for row in quarantine)


def test_partitions_are_materialized_in_dagster_and_hold_the_right_rows(pipeline):
    materialized = pipeline.instance.get_materialized_partitions(dg.AssetKey("filtered_orders"))
    daily = pipeline.reference.reports["timeseries_daily"]
    expected = {f"{row.trade_date}|{row.security_code}": row.orders for row in daily.itertuples()}
    assert set(expected) <= materialized
    for key, orders in expected.items():
        trade_date, security = key.split("|")
        table = pq.read_table(pipeline.data / "orders" / f"trade_date={trade_date}" / "orders.parquet",
                              filters=[("security_code", "=", security)])
        assert table.num_rows == orders, key
        assert set(table["security_code"].to_pylist()) == {security}


def test_the_backfill_records_its_figures_once_and_each_key_only_its_own(pipeline):
    key = dg.AssetKey("filtered_orders")
    observations = pipeline.instance.fetch_observations(dg.AssetRecordsFilter(asset_key=key), limit=10).records
    assert len(observations) == 1  # one backfill run: one observation, not one per key
    figures = observations[0].asset_observation.metadata
    reference = pipeline.reference
    assert figures["partitions"].value == reference.partitions
    assert figures["orders"].value == reference.totals["orders"] == reference.rows_kept
    assert figures["engine_seconds"].value > 0 and figures["peak_rss_mib"].value > 50
    materializations = pipeline.instance.fetch_materializations(key, limit=10_000).records
    assert len(materializations) == reference.partitions
    per_key = {record.partition_key: record.asset_materialization.metadata for record in materializations}
    assert all("engine_seconds" not in metadata and "partitions" not in metadata for metadata in per_key.values())
    daily = reference.reports["timeseries_daily"]  # the independent computation, per (date, security)
    expected = {f"{row.trade_date}|{row.security_code}": (row.orders, row.quantity, Decimal(str(row.value)))
                for row in daily.itertuples()}
    shown = {partition: (metadata["dagster/row_count"].value, metadata["quantity"].value,
                         Decimal(metadata["value"].value)) for partition, metadata in per_key.items()}
    assert {key: figures for key, figures in shown.items() if figures[0]} == expected
    for partition, metadata in per_key.items():
        assert isinstance(metadata["value"], dg.TextMetadataValue)  # exact, never a float
        trade_date = partition.split("|")[0]
        if shown[partition][0]:
            assert metadata["stored_in"].value == str(pipeline.data / "orders" / f"trade_date={trade_date}" / "orders.parquet")
        else:
            assert metadata["stored_in"].value.startswith("no rows")


def test_the_ui_partition_status_is_current_when_the_run_ends(pipeline):
    from orders_assets.glue.assets.order_sets import filtered_orders

    key = filtered_orders.key
    (record,) = pipeline.instance.get_asset_records([key])
    cached = record.asset_entry.cached_status  # what the UI's partition page reads
    assert cached is not None and cached.latest_storage_id == record.asset_entry.last_materialization_record.storage_id
    with dg.partition_loading_context(dynamic_partitions_store=pipeline.instance):
        shown = set(cached.deserialize_materialized_partition_subsets(filtered_orders.partitions_def).get_partition_keys())
    assert shown == pipeline.instance.get_materialized_partitions(key) and len(shown) == pipeline.reference.partitions


def test_a_rerun_with_nothing_new_launches_nothing_and_changes_no_file(pipeline):
    before = tree_hashes(pipeline.data)
    runs_before = len(pipeline.instance.get_runs())
    outcome = run_pipeline(pipeline.settings, pipeline.instance)
    assert outcome.did_nothing and outcome.success
    assert len(pipeline.instance.get_runs()) == runs_before
    assert tree_hashes(pipeline.data) == before
    assert len(before) > 30


def test_a_new_file_is_ingested_alone_and_reports_cover_both(tmp_path):
    landing, data, home = tmp_path / "landing", tmp_path / "data", tmp_path / "home"
    landing.mkdir()
    home.mkdir()
    first = generate_orders(landing / "day1.csv", rows=8_000, days=1, securities=6, seed=1)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        run_pipeline(settings, instance)
        generate_orders(landing / "day2.csv.gz", rows=8_000, days=1, securities=6, seed=2,
                        start_date=first.trade_dates[0].replace(day=first.trade_dates[0].day + 1))
        outcome = run_pipeline(settings, instance)
    assert outcome.success and outcome.ingested == ("day2.csv.gz",)
    reference = reference_reports([landing / "day1.csv", landing / "day2.csv.gz"])
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "parquet"), reference.reports[name], name)


def test_a_refused_file_fails_the_run_but_the_others_are_reported(tmp_path):
    landing, data, home = tmp_path / "landing", tmp_path / "data", tmp_path / "home"
    landing.mkdir()
    home.mkdir()
    generate_orders(landing / "good.csv", rows=5_000, days=1, securities=4, seed=4)
    (landing / "no_price.csv").write_text("order_id,timestamp,security_code,participant_id,side,order_type,quantity\n"
                                          "1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,5\n")
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        outcome = run_pipeline(settings, instance)
        failures = [event for run in instance.get_runs() for event in instance.all_logs(run.run_id)
                    if event.dagster_event and event.dagster_event.event_type_value == "STEP_FAILURE"]
    assert not outcome.success
    assert [run.job for run in outcome.runs if not run.success] == ["ingest_order_files"]
    message = str(failures[0].dagster_event.event_specific_data.error)
    assert "no_price.csv: line 1: missing required column(s) price" in message
    reference = reference_reports([landing / "good.csv"])
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "csv"), reference.reports[name], name)


def test_every_file_not_read_or_not_counted_is_named_with_its_reason(tmp_path):
    landing, data, outside = tmp_path / "landing", tmp_path / "data", tmp_path / "outside"
    generate_orders(landing / "orders.csv", rows=2_000, days=1, securities=3, seed=5)
    generate_orders(outside / "elsewhere.csv", rows=500, days=1, securities=3, seed=6)
    (landing / "link.csv").symlink_to(outside / "elsewhere.csv")
    (landing / "vendor.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(26))
    (landing / "next.csv.part").write_text("order_id\n")
    (landing / "orders_again.csv").write_bytes((landing / "orders.csv").read_bytes())
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
        ingest = instance.get_latest_materialization_event(dg.AssetKey("order_files"))
        assert run_pipeline(settings, instance).did_nothing
        (landing / "broken.parquet").write_bytes(b"PAR1" + bytes(64) + b"PAR1")
        assert not run_pipeline(settings, instance).success
    skipped = {entry["source_file"]: entry["reason"]
               for entry in json.loads((data / "reports" / "summary.json").read_text())["skipped"]}
    assert sorted(skipped) == ["broken.parquet", "link.csv", "next.csv.part", "orders_again.csv", "vendor.7z"]
    assert "leads out of the landing folder" in skipped["link.csv"]
    assert "an archive" in skipped["vendor.7z"] and "partial download" in skipped["next.csv.part"]
    assert skipped["orders_again.csv"].startswith("a copy of orders.csv")
    assert "not a readable Parquet file" in skipped["broken.parquet"]
    listed = list_items(ingest.asset_materialization.metadata["skipped"].value)
    assert all(any(item.startswith(f"{key}: ") for item in listed)
               for key in ("link.csv", "vendor.7z", "next.csv.part", "orders_again.csv"))


def test_a_compressed_copy_beside_its_file_is_counted_once_and_named(tmp_path):
    import gzip

    landing, data = tmp_path / "landing", tmp_path / "data"
    generated = generate_orders(landing / "orders.csv", rows=3_000, days=1, securities=4, seed=12)
    (landing / "orders_copy.csv.gz").write_bytes(gzip.compress((landing / "orders.csv").read_bytes()))
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
        ingest = instance.get_latest_materialization_event(dg.AssetKey("order_files"))
        again = run_pipeline(settings, instance)
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["rows_read"] == generated.rows and summary["source_files"] == 1
    assert json.loads((data / "state" / "duplicates.json").read_text())["copies"]["orders_copy.csv.gz"]["original"] == "orders.csv"
    assert "orders_copy.csv.gz: a copy of orders.csv" in list_items(ingest.asset_materialization.metadata["copies"].value)
    assert again.did_nothing
    reference = reference_reports([landing / "orders.csv"])
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "parquet"), reference.reports[name], name)
