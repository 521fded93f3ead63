"""The tuning rule: presets, the automatic choice, memory fitting, overrides and refused settings."""
import pytest

from orders_assets.core.machine.hardware import CgroupLimits, HostReadings, MachineProfile
from orders_assets.core.machine.tuning import (
    MIN_BLOCK_BYTES,
    PRESETS,
    TuningError,
    overrides_from_environment,
    piece_workers,
    preset_for,
    step_peak,
    tune,
)

GiB, MiB = 1 << 30, 1 << 20


def machine(cores: int, memory_gib: float, available_gib: float | None = None, free_gib: float = 100,
            cgroup: CgroupLimits = CgroupLimits()) -> MachineProfile:
    available = available_gib if available_gib is not None else memory_gib * 0.9
    host = HostReadings(logical_cores=cores, physical_cores=max(1, cores // 2), total_memory=int(memory_gib * GiB),
                        available_memory=int(available * GiB), data_dir_free=int(free_gib * GiB))
    return MachineProfile(host, cgroup)


LAPTOP, WORKSTATION, SERVER = machine(2, 8), machine(16, 64), machine(64, 256)


@pytest.mark.parametrize("profile, expected", [(LAPTOP, "laptop"), (machine(4, 32), "laptop"),
                                               (machine(8, 12), "laptop"), (WORKSTATION, "workstation"),
                                               (machine(32, 48), "workstation"), (SERVER, "server")])
def test_auto_preset_follows_cores_and_memory(profile, expected):
    assert preset_for(profile) == expected
    assert tune(profile).preset == expected


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_by_name_on_a_machine_with_room(name):
    preset = PRESETS[name]
    tuning = tune(SERVER, {"preset": name})
    assert (tuning.preset, tuning.block_bytes, tuning.stage_bytes, tuning.read_ahead) == (
        name, preset.block_bytes, preset.stage_bytes, preset.read_ahead)
    assert tuning.workers == 64
    assert tuning.memory_budget == int(preset.memory_fraction * SERVER.available_memory)
    assert 1 <= tuning.max_concurrent <= 64
    assert tuning.step_peak * tuning.max_concurrent <= tuning.memory_budget


def test_a_container_is_sized_by_its_limits_not_by_the_host():
    pod = machine(64, 256, cgroup=CgroupLimits(cpu_limit=2.0, memory_limit=4 * GiB, version=2))
    tuning = tune(pod)
    assert (tuning.preset, tuning.workers) == ("laptop", 2)
    assert tuning.memory_budget == int(0.5 * 4 * GiB)
    assert tuning.step_peak <= tuning.memory_budget


def test_blocks_shrink_until_the_step_fits_the_memory_budget():
    small = machine(4, 2, available_gib=1.2)
    tuning = tune(small)
    assert tuning.block_bytes < PRESETS["laptop"].block_bytes
    assert tuning.block_bytes >= MIN_BLOCK_BYTES
    assert tuning.step_peak <= tuning.memory_budget
    assert step_peak(tuning.workers, tuning.read_ahead, tuning.block_bytes * 2, tuning.stage_bytes) > tuning.memory_budget


def test_explicit_overrides_always_win():
    explicit = {"preset": "server", "workers": 3, "block_bytes": 8 * MiB, "read_ahead": 0,
                "stage_bytes": 16 * MiB, "memory_budget": 4 * GiB, "max_concurrent": 1, "file_pieces": 3}
    assert tune(WORKSTATION, explicit).as_dict() == explicit
    assert tune(WORKSTATION, {"workers": None}).workers == 16


@pytest.mark.parametrize("overrides, profile, message", [
    ({"workers": 0}, LAPTOP, "workers = 0: at least 1 worker"),
    ({"workers": 9}, LAPTOP, "more than 4 x the 2 core(s)"),
    ({"block_bytes": 512 << 10}, LAPTOP, "blocks under 1048576 bytes"),
    ({"block_bytes": 1 * GiB, "memory_budget": 2 * GiB}, LAPTOP, "more than the memory budget of 2.0 GiB"),
    ({"workers": 8, "block_bytes": 64 * MiB, "memory_budget": 3 * GiB}, LAPTOP, "lower workers, block_bytes"),
    ({"memory_budget": 16 * GiB}, LAPTOP, "is more than the 8.0 GiB this process may use"),
    ({"read_ahead": -1}, LAPTOP, "read_ahead = -1: cannot be negative"),
    ({"stage_bytes": 1000}, LAPTOP, "stage_bytes = 1000: the staging buffer needs at least 1 MiB"),
    ({"max_concurrent": 0}, LAPTOP, "max_concurrent = 0: Dagster needs at least 1"),
    ({"file_pieces": 0}, LAPTOP, "file_pieces = 0: a file is at least 1 piece"),
    ({}, machine(2, 8, free_gib=0.2), "the data folder's disk has only 204.8 MiB free"),
    ({"preset": "mainframe"}, LAPTOP, "preset 'mainframe' does not exist"),
    ({"threads": 4}, LAPTOP, "unknown setting(s) threads"),
])
def test_impossible_settings_are_refused_with_what_and_why(overrides, profile, message):
    with pytest.raises(TuningError) as refused:
        tune(profile, overrides)
    assert message in str(refused.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(TuningError) as refused:
        tune(machine(2, 8, free_gib=0.1), {"workers": 0, "read_ahead": -2})
    text = str(refused.value)
    assert "workers = 0" in text and "read_ahead = -2" in text and "disk has only" in text


def test_overrides_from_the_environment():
    environment = {"ORDERS_ASSETS_WORKERS": "3", "ORDERS_ASSETS_PRESET": "server", "ORDERS_ASSETS_BLOCK_BYTES": "",
                   "UNRELATED": "1"}
    assert overrides_from_environment(environment) == {"workers": 3, "preset": "server"}
    with pytest.raises(TuningError, match="ORDERS_ASSETS_MAX_CONCURRENT='two': expected a whole number"):
        overrides_from_environment({"ORDERS_ASSETS_MAX_CONCURRENT": "two"})


@pytest.mark.parametrize("profile, pieces", [(LAPTOP, 1), (machine(6, 64), 1), (machine(7, 64), 1),
                                             (machine(14, 64), 2), (SERVER, 9), (machine(64, 4), 1)])
def test_a_big_file_is_cut_into_one_piece_per_seven_cores_as_many_as_fit_in_memory(profile, pieces):
    """Below 14 cores one threaded step keeps the cores busy; a machine whose memory fits one step
    at a time (64 cores, 4 GiB) runs one piece at a time, so cuts none."""
    tuning = tune(profile)
    assert tuning.file_pieces == pieces
    assert tuning.file_pieces <= tuning.max_concurrent
    assert tune(LAPTOP, {"file_pieces": 2}).file_pieces == 2


def test_the_pieces_on_one_machine_share_its_threads():
    assert [piece_workers(16, pieces) for pieces in (1, 2, 3, 16, 32)] == [16, 8, 5, 1, 1]
