"""`orders-assets run --dask` on a real Dask cluster: a scheduler and two workers, each its own process on
127.0.0.1, started by the test. Each stage's work is cut into one single-run backfill per worker, the
backfills run at once, and their steps execute in the workers' processes; the reports must equal those
of the same files run on this machine alone, and of the independent reference."""
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.platform.executors import dask_task_key
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.support.dask_cluster import running_dask_cluster
from orders_assets_tests.support.reference import reference_reports

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DAILY_FILES = [(f"orders-{day:%Y%m%d}.csv", day) for day in (date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5))]


def orders_assets(*arguments, cwd: Path) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if key != "DAGSTER_HOME" and not key.startswith("ORDERS_ASSETS_")}
    return subprocess.run([BIN / "orders-assets", *arguments], capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three daily files run on one machine, then on the cluster (twice: the second finds nothing new)."""
    root = tmp_path_factory.mktemp("dask")
    landing = root / "landing"
    landing.mkdir()
    for seed, (name, day) in enumerate(DAILY_FILES):
        generate_orders(landing / name, rows=30_000, days=1, securities=8, seed=seed, start_date=day, bad_rows=0.001)
    alone = orders_assets("run", "--landing", landing, "--data", root / "alone", cwd=root)
    with running_dask_cluster(root / "cluster") as cluster:
        distributed = orders_assets("run", "--landing", landing, "--data", root / "distributed",
                                    "--dask", cluster.address, cwd=root)
        again = orders_assets("run", "--landing", landing, "--data", root / "distributed",
                              "--dask", cluster.address, cwd=root)
        assert distributed.returncode == 0, distributed.stdout + distributed.stderr[-3000:] + cluster.log_tail()
    return landing, root, alone, distributed, again, cluster


def test_the_cluster_run_gives_the_reports_of_the_single_machine_run(runs):
    landing, root, alone, distributed, _, _ = runs
    assert alone.returncode == 0, alone.stderr[-3000:]
    reference = reference_reports(sorted(landing.glob("*.csv")))
    for name in REPORT_NAMES:
        for kind in ("csv", "parquet"):
            on_cluster = read_report(root / "distributed" / "reports", name, kind)
            assert_report_equals(on_cluster, read_report(root / "alone" / "reports", name, kind), name)
        assert_report_equals(read_report(root / "distributed" / "reports", name, "csv"), reference.reports[name], name)
    summaries = [json.loads((root / where / "reports" / "summary.json").read_text()) for where in ("alone", "distributed")]
    counts = ("source_files", "rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "partitions", "value")
    assert [{key: summary[key] for key in counts} for summary in summaries] == [
        {key: summaries[0][key] for key in counts}] * 2
    assert summaries[1]["rows_read"] == reference.rows_read


def test_each_stage_is_cut_into_one_backfill_per_worker_and_every_partition_is_materialized_once(runs):
    _, root, _, distributed, _, _ = runs
    with dg.DagsterInstance.from_config(str(root / "distributed" / "dagster_home")) as instance:
        runs_by_job: dict[str, list[dg.DagsterRun]] = {}
        for run in instance.get_runs():
            runs_by_job.setdefault(run.job_name, []).append(run)
        assert {job: len(found) for job, found in runs_by_job.items()} == {
            "ingest_order_files": 2, "assemble_order_partitions": 2, "build_reports": 1}
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for found in runs_by_job.values() for run in found)
        assert all(run.tags["dagster/asset_partition_range_start"] for run in runs_by_job["assemble_order_partitions"])
        materialized = [record.partition_key for record in instance.fetch_materializations(
            dg.AssetKey("filtered_orders"), limit=10_000).records]
        files = [record.partition_key for record in instance.fetch_materializations(
            dg.AssetKey("order_files"), limit=100).records]
    assert sorted(files) == [name for name, _ in DAILY_FILES]
    summary = json.loads((root / "distributed" / "reports" / "summary.json").read_text())
    assert len(materialized) == len(set(materialized)) == summary["partitions"] > 0
    assert distributed.stdout.count("ok     assemble_order_partitions") == 2


def test_the_steps_ran_in_both_workers_processes(runs):
    _, root, _, _, _, cluster = runs
    with dg.DagsterInstance.from_config(str(root / "distributed" / "dagster_home")) as instance:
        step_pids: dict[str, set[int]] = {}
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS):
                step_pids.setdefault(entry.dagster_event.step_key, set()).add(entry.dagster_event.pid)
    worker_pids = set(cluster.worker_pids.values())
    work = step_pids["order_files"] | step_pids["filtered_orders"]  # two ingest and two assembly tasks at once
    assert work == worker_pids, f"the ingests and assemblies ran in {work}, the workers are {worker_pids}"
    assert set().union(*step_pids.values()) <= worker_pids, "a step ran outside the workers"


def test_a_rerun_on_the_cluster_with_nothing_new_launches_nothing(runs):
    _, _, _, _, again, _ = runs
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing new" in again.stdout and "ok " not in again.stdout


def test_concurrent_runs_of_one_job_get_their_own_dask_task_names():
    keys = {dask_task_key("assemble_order_partitions", "filtered_orders", run_id) for run_id in ("run-a", "run-b")}
    assert len(keys) == 2


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from orders_assets.cli import launch, main as cli
    from orders_assets.platform.instance import BATCHING_ENVIRONMENT

    monkeypatch.setattr(launch, "CONNECT_SECONDS", 1)  # 10 s in use; nothing listens on the discard port anyway
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    for name, value in BATCHING_ENVIRONMENT.items():  # the command sets them for its process: undone after
        monkeypatch.setenv(name, value)
    landing = tmp_path / "landing"
    landing.mkdir()
    generate_orders(landing / "orders.csv", rows=1_000, days=1, securities=2)
    code = cli.main(["run", "--landing", str(landing), "--data", str(tmp_path / "data"), "--dask", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "error: Dask scheduler tcp://127.0.0.1:9: no answer within 1 s" in capsys.readouterr().err


def test_the_sensor_cuts_new_work_into_one_run_per_connected_worker(tmp_path):
    """With the code location's runs on a cluster, a sensor tick requests one run per worker, as the command
    does: the three files in two ingest runs, then the partitions in two backfills."""
    from orders_assets.glue.definitions import build_definitions
    from orders_assets.glue.resources import OrdersSettings
    from orders_assets.glue.names import SENSOR_NAME

    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    for seed, (name, day) in enumerate(DAILY_FILES):
        generate_orders(landing / name, rows=3_000, days=1, securities=4, seed=seed, start_date=day)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    instance = dg.DagsterInstance.ephemeral()
    with running_dask_cluster(tmp_path / "cluster") as cluster:
        defs = build_definitions(settings, dask_scheduler=cluster.address)
        sensor, cursor = defs.resolve_sensor_def(SENSOR_NAME), None
        requested: dict[str, list[dg.RunRequest]] = {}
        for _ in range(4):  # a file is complete once two ticks saw it unchanged
            result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"settings": settings}))
            cursor = result.cursor
            for request in result.run_requests:
                requested.setdefault(request.job_name, []).append(request)
                # the daemon would launch it on the cluster; its steps' placement is tested above
                assert defs.resolve_job_def(request.job_name).execute_in_process(instance=instance, tags=request.tags).success
    ranges = {job: [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                    for r in found] for job, found in requested.items() if job != "build_reports"}
    assert ranges["ingest_order_files"] == [(DAILY_FILES[0][0], DAILY_FILES[1][0]), (DAILY_FILES[2][0], DAILY_FILES[2][0])]
    assert len(ranges["assemble_order_partitions"]) == 2
    assert len(requested["build_reports"]) == 1
    assert json.loads((data / "reports" / "summary.json").read_text())["source_files"] == 3


@pytest.fixture(scope="module")
def one_file_in_pieces(tmp_path_factory):
    """One file above the piece size, run on this machine (one step) and on two workers (two pieces)."""
    root = tmp_path_factory.mktemp("pieces")
    landing = root / "landing"
    generate_orders(landing / "history.csv", rows=100_000, days=2, securities=6, seed=4, bad_rows=0.001)
    config = root / "settings.yaml"
    config.write_text("piece_bytes: 2000000\nmachine:\n  block_bytes: 1048576\n")
    alone = orders_assets("run", "--landing", landing, "--data", root / "alone", "--config", config, cwd=root)
    assert alone.returncode == 0, alone.stderr[-3000:]
    with running_dask_cluster(root / "cluster") as cluster:
        arguments = ("run", "--landing", landing, "--data", root / "distributed", "--config", config,
                     "--dask", cluster.address)
        distributed = orders_assets(*arguments, cwd=root)
        assert distributed.returncode == 0, distributed.stdout + distributed.stderr[-3000:] + cluster.log_tail()
        again = orders_assets(*arguments, cwd=root)
    return root, distributed, again, cluster


def test_one_file_is_ingested_in_two_pieces_one_on_each_worker(one_file_in_pieces):
    from orders_assets.glue.names import PIECE_TAG

    root, distributed, _, cluster = one_file_in_pieces
    with dg.DagsterInstance.from_config(str(root / "distributed" / "dagster_home")) as instance:
        ingests = [run for run in instance.get_runs() if run.job_name == "ingest_order_files"]
        assert sorted(run.tags[PIECE_TAG].rsplit(":", 1)[1] for run in ingests) == ["0", "1"]
        pids = {entry.dagster_event.pid for run in ingests
                for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
        observed = [record.asset_observation.metadata for record in instance.fetch_observations(
            dg.AssetKey("order_files"), limit=10).records]
        [materialized] = instance.fetch_materializations(dg.AssetKey("order_files"), limit=10).records
    assert pids == set(cluster.worker_pids.values()), "both workers ingested a piece"
    assert sorted(metadata["piece"].value for metadata in observed) == ["1/2", "2/2"]
    assert all(metadata["rows_read"].value > 10_000 and not metadata["found_done"].value for metadata in observed)
    assert sum(metadata["rows_read"].value for metadata in observed) == 100_000
    assert materialized.asset_materialization.metadata["pieces"].value == 2
    assert "history.csv, piece 1" in distributed.stdout and "history.csv, piece 2" in distributed.stdout


def test_the_pieces_outputs_are_byte_for_byte_the_single_steps(one_file_in_pieces):
    from orders_assets_tests.core.ingest.test_pieces import store_files
    from orders_assets.core.store.order_store import OrderStore

    root, _, _, _ = one_file_in_pieces
    alone, distributed = OrderStore(root / "alone"), OrderStore(root / "distributed")
    assert [manifest.pieces for manifest in alone.manifests()] == [1]
    assert [manifest.pieces for manifest in distributed.manifests()] == [2]
    assert [manifest.content_digest for manifest in distributed.manifests()] == [
        manifest.content_digest for manifest in alone.manifests()]
    one_files, cut_files = store_files(alone), store_files(distributed)
    assert any(name.startswith("quarantine") for name in one_files) and one_files.keys() == cut_files.keys()
    assert all(cut_files[name] == content for name, content in one_files.items())
    for name in REPORT_NAMES:
        assert_report_equals(read_report(root / "distributed" / "reports", name, "csv"),
                             read_report(root / "alone" / "reports", name, "csv"), name)
    summaries = [json.loads((root / where / "reports" / "summary.json").read_text()) for where in ("alone", "distributed")]
    counts = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "partitions", "value")
    assert [summaries[0][key] for key in counts] == [summaries[1][key] for key in counts]


def test_a_rerun_after_the_pieces_launches_nothing(one_file_in_pieces):
    _, _, again, _ = one_file_in_pieces
    assert again.returncode == 0 and "nothing new" in again.stdout and "ok " not in again.stdout
