"""The settings lease across processes: runs under the same settings share a data folder, a run
under other settings is refused while they are in flight, and takes the folder over once they end."""
import json
import multiprocessing
import time as clock

import pytest

from orders_assets.core.store.settings_lease import (
    FolderSettings,
    SettingsConflict,
    conflicting_holder,
    recorded_settings,
    settings_lease,
    superseded_since,
)

CENTRE_POINT = FolderSettings({"filter": {"order_types": ["CENTRE_POINT"], "participants": []}, "size_edges": [10]})
LIMIT = FolderSettings({"filter": {"order_types": ["LIMIT"], "participants": []}, "size_edges": [10]})


def hold(state, settings, holding, release) -> None:
    """In a child process: hold the lease until told to let go."""
    with settings_lease(state, settings):
        holding.set()
        release.wait(30)


def holding_child(state):
    """A child process that holds the lease under CENTRE_POINT, as another run in flight would, and
    the event that lets it go."""
    context = multiprocessing.get_context("fork")
    holding, release = context.Event(), context.Event()
    child = context.Process(target=hold, args=(state, CENTRE_POINT, holding, release))
    child.start()
    assert holding.wait(30)
    return child, release


@pytest.fixture
def held(tmp_path):
    child, release = holding_child(tmp_path / "state")
    yield tmp_path / "state", release, child
    release.set()
    child.join(30)


def test_a_run_under_other_settings_is_refused_naming_what_differs(held):
    state, _release, _child = held
    with pytest.raises(SettingsConflict) as refused:
        with settings_lease(state, LIMIT):
            pass
    message = str(refused.value)
    assert "filter.order_types: ['CENTRE_POINT'] -> ['LIMIT']" in message and "data folder of their own" in message
    assert conflicting_holder(state, LIMIT) == message
    assert recorded_settings(state) == CENTRE_POINT.document  # the refused run recorded nothing


def test_runs_under_the_same_settings_share_the_folder(held):
    state, _release, _child = held
    assert conflicting_holder(state, CENTRE_POINT) is None
    with settings_lease(state, CENTRE_POINT), settings_lease(state, CENTRE_POINT):  # reentrant in a process
        pass


def test_new_settings_take_the_folder_over_once_the_runs_in_flight_end(held):
    state, release, child = held
    release.set()
    child.join(30)
    assert conflicting_holder(state, LIMIT) is None
    with settings_lease(state, LIMIT):
        assert json.loads((state / "settings.json").read_text())["settings"] == LIMIT.document
        with pytest.raises(SettingsConflict):  # this process holds it under LIMIT now
            with settings_lease(state, CENTRE_POINT):
                pass


def test_a_rerun_under_unchanged_settings_writes_nothing(tmp_path):
    state = tmp_path / "state"
    with settings_lease(state, CENTRE_POINT):
        pass
    record = (state / "settings.json").stat().st_mtime_ns
    with settings_lease(state, CENTRE_POINT):
        pass
    assert (state / "settings.json").stat().st_mtime_ns == record


def test_a_killed_holder_leaves_no_lease_behind(tmp_path):
    child, _release = holding_child(tmp_path / "state")
    child.kill()
    child.join(30)
    with settings_lease(tmp_path / "state", LIMIT):  # the kernel released the dead process's flock
        pass


def test_settings_loaded_before_the_folder_was_put_under_others_do_not_take_it_back(tmp_path):
    state = tmp_path / "state"
    ours, newer = FolderSettings({"filter": {"order_types": ["A"]}}), FolderSettings({"filter": {"order_types": ["B"]}})
    assert superseded_since(state, ours, clock.time_ns()) is None  # a folder never run on
    loaded = clock.time_ns()
    with settings_lease(state, newer):  # a command under other settings after ours loaded
        pass
    said = superseded_since(state, ours, loaded)
    assert said is not None and "filter.order_types: ['B'] -> ['A']" in said and "Reload the code location" in said
    assert superseded_since(state, ours, clock.time_ns()) is None  # loaded since: its settings may take the folder
    assert superseded_since(state, newer, loaded) is None  # the folder's own settings
