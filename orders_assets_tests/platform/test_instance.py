"""The default instance's creation survives being killed half-way: the next open rebuilds it."""
import sqlite3

import dagster as dg
import pytest

from orders_assets.platform.instance import (EARLIER_INSTANCE_YAMLS, INSTANCE_YAML, READY_MARKER,
                                             ensure_instance_folder, open_instance)
from orders_assets.glue.names import SOURCE_FILES


def test_an_instance_whose_creation_was_killed_is_created_again(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance_folder(home)
    with open_instance(home) as instance:
        assert instance.get_runs_count() == 0
    assert (home / READY_MARKER).exists()
    # What a SIGKILL during the first open leaves: storages with tables missing, no marker.
    with sqlite3.connect(home / "history" / "runs" / "index.db") as index:
        index.execute("drop table dynamic_partitions")
    (home / READY_MARKER).unlink()
    with open_instance(home) as instance:
        instance.add_dynamic_partitions(SOURCE_FILES, ["a.csv"])
        assert instance.get_dynamic_partitions(SOURCE_FILES) == ["a.csv"]
    assert (home / READY_MARKER).exists()


def instance_holding(tmp_path, monkeypatch, source_file: str):
    """A created default instance (DAGSTER_HOME) that holds one source-file partition: some history."""
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance_folder(home)
    with open_instance(home) as instance:
        instance.add_dynamic_partitions(SOURCE_FILES, [source_file])
    return home


def test_a_created_instance_is_never_wiped_even_when_a_check_fails_later(tmp_path, monkeypatch):
    """Past its first complete open, an instance holds run history: a failing check is raised, not repaired."""
    home = instance_holding(tmp_path, monkeypatch, "kept.csv")
    with sqlite3.connect(home / "history" / "runs" / "index.db") as index:
        index.execute("drop table dynamic_partitions")
    try:
        with open_instance(home):
            raise AssertionError("a damaged instance past its creation must not open")
    except dg.DagsterInvalidInvocationError as error:
        assert "dynamic partitions table" in str(error)
    assert (home / "history" / "runs" / "index.db").exists()


@pytest.mark.parametrize("earlier", EARLIER_INSTANCE_YAMLS, ids=["event log before the package map",
                                                               "Dagster's run storage"])
def test_the_default_dagster_yaml_of_an_earlier_release_is_rewritten_and_its_history_kept(tmp_path, monkeypatch,
                                                                                         earlier):
    home = instance_holding(tmp_path, monkeypatch, "a.csv")
    with open_instance(home) as instance:
        instance.add_run(dg.DagsterRun(job_name="job", run_id="before"))
    (home / "dagster.yaml").write_text(earlier.format(home=home.resolve()))
    ensure_instance_folder(home)
    assert (home / "dagster.yaml").read_text() == INSTANCE_YAML.format(home=home.resolve())
    with open_instance(home) as instance:
        assert instance.get_dynamic_partitions(SOURCE_FILES) == ["a.csv"]
        assert [run.run_id for run in instance.get_runs()] == ["before"]
        assert type(instance.run_storage).__name__ == "PooledSqliteRunStorage"


def test_a_users_own_dagster_yaml_is_left_as_it_is(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    own = EARLIER_INSTANCE_YAMLS[0].format(home=home.resolve()) + "# mine\n"
    (home / "dagster.yaml").write_text(own)
    ensure_instance_folder(home)
    assert (home / "dagster.yaml").read_text() == own
