"""The machine the pipeline runs on: cores, memory, free disk, and a container's limits.

A container's cgroup limits override what the host reports: psutil sees the host's 64 cores and
256 GiB inside a pod limited to 2 CPUs and 4 GiB, and sizing the work from the host would start 64
workers and be killed for memory. Readings are plain values so the tuning rule can be tested with
any machine, real or made up.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
UNLIMITED_V1 = 1 << 60
"""cgroup v1 writes 'no limit' as a huge number (9223372036854771712 on x86-64 pages)."""


@dataclass(frozen=True)
class HostReadings:
    """What psutil and the file system report, before any container limit."""

    logical_cores: int
    physical_cores: int | None
    total_memory: int
    available_memory: int
    data_dir_free: int
    """Free bytes on the file system of the data folder (or of its nearest existing parent)."""


@dataclass(frozen=True)
class CgroupLimits:
    cpu_limit: float | None = None
    """CPUs the container may use (quota / period); None when unlimited or not in a cgroup."""
    memory_limit: int | None = None
    """Bytes; None when unlimited."""
    version: int | None = None


@dataclass(frozen=True)
class MachineProfile:
    host: HostReadings
    cgroup: CgroupLimits

    @property
    def cores(self) -> int:
        """Cores this process may keep busy: the host's logical cores, capped by a CPU quota."""
        cores = self.host.logical_cores
        if self.cgroup.cpu_limit is not None:
            cores = min(cores, max(1, math.ceil(self.cgroup.cpu_limit)))
        return max(1, cores)

    @property
    def memory(self) -> int:
        """Memory this process may use in all: the host's, capped by a memory limit."""
        if self.cgroup.memory_limit is None:
            return self.host.total_memory
        return min(self.host.total_memory, self.cgroup.memory_limit)

    @property
    def available_memory(self) -> int:
        return min(self.host.available_memory, self.memory)

    def as_dict(self) -> dict:
        return {**asdict(self), "cores": self.cores, "memory": self.memory, "available_memory": self.available_memory}


def detect_profile(data_dir: Path | str, cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> MachineProfile:
    return MachineProfile(host=read_host(Path(data_dir)), cgroup=read_cgroup_limits(cgroup_root, proc_cgroup))


def read_host(data_dir: Path) -> HostReadings:
    import psutil

    memory = psutil.virtual_memory()
    return HostReadings(
        logical_cores=psutil.cpu_count(logical=True) or 1,
        physical_cores=psutil.cpu_count(logical=False),
        total_memory=memory.total,
        available_memory=memory.available,
        data_dir_free=shutil.disk_usage(existing_parent(data_dir)).free,
    )


def existing_parent(path: Path) -> Path:
    """The path itself or its nearest existing ancestor (the data folder may not exist yet)."""
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def read_cgroup_limits(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> CgroupLimits:
    """CPU and memory limits of this process's cgroup (v2 unified, or v1 cpu and memory controllers).

    The process's own cgroup (from /proc/self/cgroup) is read first, then the mount's root, which is
    what a container with its own cgroup namespace sees.
    """
    paths = _cgroup_paths(proc_cgroup)
    if (root / "cgroup.controllers").exists():
        folder = _first_existing([root / paths.get("", "/").lstrip("/"), root], "cpu.max") or root
        memory_folder = _first_existing([root / paths.get("", "/").lstrip("/"), root], "memory.max") or root
        return CgroupLimits(_v2_cpu(folder / "cpu.max"), _v2_memory(memory_folder / "memory.max"), 2)
    cpu_folder = _first_existing(_v1_folders(root, paths, "cpu"), "cpu.cfs_quota_us")
    memory_folder = _first_existing(_v1_folders(root, paths, "memory"), "memory.limit_in_bytes")
    if cpu_folder is None and memory_folder is None:
        return CgroupLimits()
    cpu = _v1_cpu(cpu_folder) if cpu_folder else None
    memory = _v1_memory(memory_folder / "memory.limit_in_bytes") if memory_folder else None
    return CgroupLimits(cpu, memory, 1)


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """Controller -> cgroup path from /proc/self/cgroup lines 'id:controllers:path' ('' is v2)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return {}
    paths = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return paths


def _v1_folders(root: Path, paths: dict[str, str], controller: str) -> list[Path]:
    mounts = [root / controller, root / "cpu,cpuacct"] if controller == "cpu" else [root / controller]
    own = paths.get(controller, "/").lstrip("/")
    return [mount / own for mount in mounts if own] + mounts


def _first_existing(folders: list[Path], name: str) -> Path | None:
    return next((folder for folder in folders if (folder / name).is_file()), None)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v2_cpu(path: Path) -> float | None:
    text = _read(path)
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max":
        return None
    return int(quota) / int(period or 100_000)


def _v2_memory(path: Path) -> int | None:
    text = _read(path)
    return None if not text or text == "max" else int(text)


def _v1_cpu(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if not quota or int(quota) <= 0 or not period:
        return None
    return int(quota) / int(period)


def _v1_memory(path: Path) -> int | None:
    text = _read(path)
    return None if not text or int(text) >= UNLIMITED_V1 else int(text)
