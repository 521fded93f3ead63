"""Files of one trade date whose pass-through columns differ, through Dagster: nothing lost, the
same outputs whatever order the files came in, and every key rewritten shown as materialized."""
import json

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orders_assets.cli.runner import run_pipeline
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.partitions import dagster_key
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.core.assemble.test_date_columns import generated, texts
from orders_assets_tests.support.reference import reference_reports


def test_a_later_file_with_a_new_column_rebuilds_its_date_and_the_ui_sees_every_key(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    generated(landing / "a.csv", 71, securities=5)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
        generated(landing / "b.csv", 72, securities=2, venue=lambda n: texts(n, "V"))
        second = run_pipeline(settings, instance)
        assert second.success  # before: KeyError on the new column, the date failed on every run
        rows = pq.read_table(data / "orders" / "trade_date=2025-03-03" / "orders.parquet")
        assert rows.filter(pc.equal(rows["source_file"], "b.csv"))["venue"].null_count == 0
        reference = reference_reports(sorted(landing.glob("*.csv")))
        for name in REPORT_NAMES:
            assert_report_equals(read_report(data / "reports", name, "parquet"), reference.reports[name], name)
        catalog = {key for key, entry in settings.store().catalog().items() if entry.rows}
        touched_by_b = {key for key in catalog
                        if key.text in settings.store().manifest("b.csv").partitions}
        assert touched_by_b and catalog - touched_by_b  # a's other securities were rebuilt alongside
        latest = {}
        for key in catalog:
            [record] = instance.fetch_materializations(dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("filtered_orders"), asset_partitions=[dagster_key(key)]), limit=1).records
            latest[key] = record.run_id
        assert set(latest.values()) == {latest[next(iter(touched_by_b))]}  # all written by the second run
        assert run_pipeline(settings, instance).did_nothing

        together = tmp_path / "together"
        with dg.instance_for_test() as other:
            assert run_pipeline(OrdersSettings(landing_dir=str(landing), data_dir=str(together)), other).success
        skip = ("dagster_home", "staging", "state", "quarantine")
        ours, theirs = tree_hashes(data, skip=skip), tree_hashes(together, skip=skip)
        assert {name for name in ours if ours[name] != theirs.get(name)} == {"reports/summary.json"}
        summaries = [json.loads((folder / "reports" / "summary.json").read_text()) for folder in (data, together)]
        for summary in summaries:
            del summary["inputs_signature"]  # names the ingest attempts, one per run
        assert summaries[0] == summaries[1]
