"""size_edges through Dagster: a change of edges, alone or with a new file, rebuilds by_order_size
from what is staged and assembled (no source read, no partition run for the edges alone), the new
check holds every report to the summary, and edges that cannot make buckets are refused up front."""
import dagster as dg
import pytest

from orders_assets.cli.main import main
from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.glue.names import PARTITIONS_JOB, REPORTS_JOB
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.reference import reference_reports

NEW_EDGES = [5_000, 20_000, 100_000]


def check_passed(instance: dg.DagsterInstance, check: str) -> bool:
    key = dg.AssetCheckKey(dg.AssetKey("summary"), check)
    return instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key].status.value == "SUCCEEDED"


def assert_by_order_size(data, landing, edges) -> None:
    expected = reference_reports(sorted(landing.glob("*.csv")), size_edges=edges).reports["by_order_size"]
    for kind in ("parquet", "csv"):
        assert_report_equals(read_report(data / "reports", "by_order_size", kind), expected, "by_order_size")


@pytest.fixture
def ran(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    generate_orders(landing / "a.csv", rows=8_000, days=2, securities=6, seed=51)
    with dg.instance_for_test() as instance:
        assert run_pipeline(OrdersSettings(landing_dir=str(landing), data_dir=str(data)), instance).success
        yield landing, data, instance


def test_new_edges_alone_rebuild_the_reports_only_and_then_nothing(ran):
    landing, data, instance = ran
    order_sets = tree_hashes(data / "orders")
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data), size_edges=NEW_EDGES)
    outcome = run_pipeline(settings, instance)
    assert outcome.success and [run.job for run in outcome.runs] == [REPORTS_JOB]  # no ingest, no partition run
    assert_by_order_size(data, landing, NEW_EDGES)
    assert tree_hashes(data / "orders") == order_sets
    assert check_passed(instance, "reports_match_summary")
    assert run_pipeline(settings, instance).did_nothing
    back = run_pipeline(OrdersSettings(landing_dir=str(landing), data_dir=str(data)), instance)
    assert back.success and [run.job for run in back.runs] == [REPORTS_JOB]
    assert_by_order_size(data, landing, [10_000, 50_000, 200_000, 1_000_000])


def test_new_edges_with_a_new_file_keep_every_partitions_orders_in_by_order_size(ran):
    landing, data, instance = ran
    generate_orders(landing / "b.csv", rows=1_000, days=1, securities=2, seed=52)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data), size_edges=NEW_EDGES)
    outcome = run_pipeline(settings, instance)
    assert outcome.success and PARTITIONS_JOB in [run.job for run in outcome.runs]
    assert_by_order_size(data, landing, NEW_EDGES)
    assert check_passed(instance, "reports_match_summary")


@pytest.mark.parametrize("edges, says", [("[50000, 10000]", "not strictly ascending"), ("[]", "at least one"),
                                         (str(list(range(1, 130))), "at most 100")])
def test_edges_that_cannot_make_buckets_stop_the_command_before_it_writes(tmp_path, capsys, monkeypatch, edges, says):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    generate_orders(landing / "a.csv", rows=100, days=1, securities=2, seed=53)
    config = tmp_path / "config.yaml"
    config.write_text(f"size_edges: {edges}\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: setting size_edges") and says in error and error.count("\n") == 1
    assert not data.exists()
