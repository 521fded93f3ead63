"""The default instance's creation survives being killed half-way: the next open rebuilds it."""
import sqlite3

import dagster as dg

from orders_assets.instance import READY_MARKER, ensure_instance_folder, open_instance
from orders_assets.partitions import SOURCE_FILES


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


def test_a_created_instance_is_never_wiped_even_when_a_check_fails_later(tmp_path, monkeypatch):
    """Past its first complete open, an instance holds run history: a failing check is raised, not repaired."""
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_instance_folder(home)
    with open_instance(home) as instance:
        instance.add_dynamic_partitions(SOURCE_FILES, ["kept.csv"])
    with sqlite3.connect(home / "history" / "runs" / "index.db") as index:
        index.execute("drop table dynamic_partitions")
    try:
        with open_instance(home):
            raise AssertionError("a damaged instance past its creation must not open")
    except dg.DagsterInvalidInvocationError as error:
        assert "dynamic partitions table" in str(error)
    assert (home / "history" / "runs" / "index.db").exists()
