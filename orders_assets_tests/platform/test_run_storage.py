"""The default instance's run storage: Dagster's SQLite run storage with its connections kept."""
import dagster as dg
import sqlalchemy
from dagster._core.storage.runs import SqliteRunStorage

from orders_assets.platform.instance import ensure_instance_folder, open_instance
from orders_assets.platform.run_storage import PooledSqliteRunStorage


def test_the_default_instance_keeps_one_run_storage_connection_for_a_runs_many_calls(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance_folder(home)
    with open_instance(home) as instance:
        storage = instance.run_storage
        assert isinstance(storage, PooledSqliteRunStorage)
        opened = []
        sqlalchemy.event.listen(storage._engine, "connect", lambda *_: opened.append(1))
        for number in range(20):
            storage.add_run(dg.DagsterRun(job_name="job", run_id=f"run-{number}"))
            assert storage.get_runs_count() == number + 1
        assert len(opened) <= 1  # the pool's connection (opened at the instance's checks) or one new


def test_what_it_writes_is_dagsters_stock_run_storage_both_ways(tmp_path):
    """Same file, tables and revision: the stock storage reads its runs, and it reads the stock one's."""
    ours = PooledSqliteRunStorage.from_local(str(tmp_path))
    ours.add_run(dg.DagsterRun(job_name="job", run_id="ours", tags={"orders_assets/machine": "2 cores"}))
    stock = SqliteRunStorage.from_local(str(tmp_path))
    assert stock.get_runs(dg.RunsFilter(run_ids=["ours"]))[0].tags["orders_assets/machine"] == "2 cores"
    stock.add_run(dg.DagsterRun(job_name="job", run_id="stock"))
    assert {run.run_id for run in ours.get_runs()} == {"ours", "stock"}
    ours.dispose()
    stock.dispose()
