"""Machine detection: host readings, and container limits (cgroup v1 and v2) that override them."""
from pathlib import Path

from orders_assets.core.machine.hardware import (
    CgroupLimits,
    HostReadings,
    MachineProfile,
    detect_profile,
    read_cgroup_limits,
)

GiB = 1 << 30
BIG_HOST = HostReadings(logical_cores=64, physical_cores=32, total_memory=256 * GiB, available_memory=200 * GiB,
                        data_dir_free=500 * GiB)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


def test_cgroup_v2_quota_and_memory_limit_are_read_from_the_process_cgroup(tmp_path):
    root = write(tmp_path / "cgroup", {"cgroup.controllers": "cpu memory", "pod/cpu.max": "150000 100000",
                                        "pod/memory.max": str(4 * GiB), "cpu.max": "max 100000"})
    proc = write(tmp_path, {"proc_cgroup": "0::/pod"}) / "proc_cgroup"
    assert read_cgroup_limits(root, proc) == CgroupLimits(cpu_limit=1.5, memory_limit=4 * GiB, version=2)


def test_cgroup_v2_without_limits_and_at_the_namespace_root(tmp_path):
    root = write(tmp_path / "cgroup", {"cgroup.controllers": "cpu memory", "cpu.max": "max 100000",
                                        "memory.max": "max"})
    proc = write(tmp_path, {"proc_cgroup": "0::/"}) / "proc_cgroup"
    assert read_cgroup_limits(root, proc) == CgroupLimits(cpu_limit=None, memory_limit=None, version=2)


def test_cgroup_v1_controllers_with_quota_and_unlimited_memory(tmp_path):
    root = write(tmp_path / "cgroup", {
        "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
        "memory/docker/abc/memory.limit_in_bytes": "9223372036854771712",
    })
    proc = write(tmp_path, {"proc_cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc"}) / "proc_cgroup"
    assert read_cgroup_limits(root, proc) == CgroupLimits(cpu_limit=2.0, memory_limit=None, version=1)


def test_cgroup_v1_no_quota_but_a_memory_limit(tmp_path):
    root = write(tmp_path / "cgroup", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000",
                                        "memory/memory.limit_in_bytes": str(3 * GiB)})
    proc = write(tmp_path, {"proc_cgroup": "4:memory:/\n1:cpu:/"}) / "proc_cgroup"
    assert read_cgroup_limits(root, proc) == CgroupLimits(cpu_limit=None, memory_limit=3 * GiB, version=1)


def test_no_cgroup_files_means_no_limits(tmp_path):
    assert read_cgroup_limits(tmp_path / "absent", tmp_path / "absent_proc") == CgroupLimits()


def test_container_limits_override_what_the_host_reports():
    profile = MachineProfile(BIG_HOST, CgroupLimits(cpu_limit=1.5, memory_limit=4 * GiB, version=2))
    assert (profile.cores, profile.memory, profile.available_memory) == (2, 4 * GiB, 4 * GiB)
    assert MachineProfile(BIG_HOST, CgroupLimits()).cores == 64
    assert MachineProfile(BIG_HOST, CgroupLimits(cpu_limit=0.2, version=1)).cores == 1
    assert MachineProfile(BIG_HOST, CgroupLimits(memory_limit=512 * GiB, version=1)).memory == 256 * GiB


def test_this_machine_is_read(tmp_path):
    profile = detect_profile(tmp_path / "not" / "yet" / "there")
    assert 1 <= profile.cores <= profile.host.logical_cores
    assert 0 < profile.available_memory <= profile.memory <= profile.host.total_memory
    assert profile.host.data_dir_free > 0
    assert profile.as_dict()["cores"] == profile.cores


def test_host_readings_come_from_psutil_and_the_data_folders_disk(tmp_path, monkeypatch):
    import shutil
    from types import SimpleNamespace

    import psutil

    from orders_assets.core.machine.hardware import read_host

    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 16 if logical else 8)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=64 * GiB, available=40 * GiB))
    seen = []
    monkeypatch.setattr(shutil, "disk_usage", lambda path: seen.append(path) or SimpleNamespace(free=123 * GiB))
    readings = read_host(tmp_path / "data" / "not-created-yet")
    assert readings == HostReadings(logical_cores=16, physical_cores=8, total_memory=64 * GiB,
                                    available_memory=40 * GiB, data_dir_free=123 * GiB)
    assert seen == [tmp_path.resolve()]
