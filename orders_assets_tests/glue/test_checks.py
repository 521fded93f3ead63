"""The asset checks (glue/checks.py) on a real data folder: after a run every check of the
Definitions ran and passed; an invariant broken behind the pipeline's back fails its check, and the
blocking ones fail the run."""
import dagster as dg
import pytest

from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.glue.definitions import build_definitions
from orders_assets.glue.names import REPORTS_JOB, SUMMARY
from orders_assets.glue.resources import OrdersSettings


@pytest.fixture
def ran(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "orders.csv", rows=5_000, days=1, securities=4, seed=21, bad_rows=0.002)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
        yield settings, instance, data


def test_every_check_of_the_definitions_ran_on_the_run_and_passed(ran):
    settings, instance, _data = ran
    checks = build_definitions(settings).resolve_asset_graph().asset_check_keys
    assert len(checks) == 8
    for key in checks:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert record is not None and record.status.value == "SUCCEEDED", key
        assert key.asset_key == dg.AssetKey(SUMMARY)


def test_a_broken_invariant_fails_its_check_and_the_run(ran):
    settings, instance, data = ran
    next((data / "orders").rglob("*.parquet")).unlink()  # a partition file lost behind the pipeline's back
    result = build_definitions(settings).resolve_job_def(REPORTS_JOB).execute_in_process(
        instance=instance, raise_on_error=False)
    verdicts = {check.check_name: check.passed for check in result.get_asset_check_evaluations()}
    assert verdicts["kept_rows_in_partitions"] is False
    assert verdicts["outputs_match_contract"] and verdicts["rows_accounted_for"]
    assert not result.success  # the checks are blocking: a broken invariant fails the run


def test_the_checks_hold_a_declared_report_to_the_contracts_rules(tmp_path):
    """A report declared in the config file passes the report checks after a run, and one that lost
    a row fails them (its totals no longer add up to the summary's)."""
    import pyarrow.parquet as pq

    from orders_assets.core.invariants import report_problems, report_total_problems
    from orders_assets.core.report.summary import read_summary

    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "orders.csv", rows=5_000, days=1, securities=4, seed=22)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data), reports=[{"name": "by_side", "keys": ["side"]}])
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
    store = settings.store()
    totals = read_summary(store.reports).totals
    assert report_problems(store) == [] and report_total_problems(store, totals) == []
    path = store.reports / "by_side.parquet"
    table = pq.read_table(path)
    assert table.column_names[:1] == ["side"] and table.num_rows == 2
    pq.write_table(table.slice(1), path)  # one side's row lost behind the pipeline's back
    lost = report_total_problems(store, totals)
    assert lost and all("by_side.parquet" in problem for problem in lost)
