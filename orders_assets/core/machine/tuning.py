"""How much work to run at once on a given machine: workers, block size, read-ahead, memory.

The rule, and why:
- workers = the cores the process may use (a container's CPU quota counts, not the host's cores):
  parsing, validation and assembly are Arrow kernels that release the GIL, so one thread per core
  keeps every core busy; more only adds memory. One file's ingest stops growing at about 800
  MB/s, its ordered read + SHA-256 thread, i.e. near 6-7 cores here (docs/performance.md, "How
  the ingest grows with cores"); capping a step's workers there and running more steps at once
  is what that model asks of this rule on larger machines, not yet measured on one.
- file pieces (one big CSV file cut into pieces, each its own step process at once on this
  machine) = one per CORES_PER_FILE_STEP cores, at most max_concurrent, at least 1: below that a
  single threaded step already keeps the cores busy (1.78x on 2 cores) and pieces only add a
  Dagster run each (measured on 2 cores: docs/performance.md, issue 21). On a Dask cluster the
  pieces are one per worker instead (each worker has its own cores).
- memory budget = a preset's fraction of the memory available now (after a container's limit),
  leaving the rest to the OS page cache, which the ingest's reads depend on, and to other work.
- peak memory of a step is modelled as ENGINE_BASELINE + (workers + read_ahead) x block_bytes x
  BLOCK_MEMORY_FACTOR + 2 x stage_bytes (blocks in flight, each expanded by parsing into text
  columns; the staging buffer and the one flush in flight). The constants are measured: on the
  2 GB benchmark file ingest alone peaks at 510 MiB with 1 worker and 613 MiB with 2 (16 MiB
  blocks, read-ahead 1, 64 MiB staging), so a block in flight costs ~6.4x its size; the full
  `orders-assets run` (Dagster loaded) peaks at 687 MiB where the model says 720.
- block size = the preset's, halved until the modelled peak fits the budget (not below 1 MiB).
- executor concurrency (Dagster step processes at once) = as many steps as fit the budget, at
  most one per core.
Explicit overrides always win over the rule, and every value is then validated.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

from orders_assets.core.errors import InputError
from orders_assets.core.machine.hardware import MachineProfile

MiB = 1 << 20
GiB = 1 << 30
ENGINE_BASELINE = 256 * MiB
"""Python, pyarrow, pandas and Dagster loaded in a step process (measured ~250 MiB)."""
BLOCK_MEMORY_FACTOR = 7
"""Memory held per block in flight, as a multiple of its raw size (measured 6.4, rounded up)."""
MIN_BLOCK_BYTES = 1 * MiB
MIN_FREE_DISK = 1 * GiB
"""Below this the data folder's disk is considered full: a run would fail half way."""
MAX_WORKERS_PER_CORE = 4
CORES_PER_FILE_STEP = 7
"""Cores one file's threaded step keeps busy before its ordered read + digest thread bounds it
(about 800 MB/s; the model of docs/performance.md, "How the ingest grows with cores")."""
AUTO = "auto"
ENV_PREFIX = "ORDERS_ASSETS_"


@dataclass(frozen=True)
class Preset:
    memory_fraction: float
    block_bytes: int
    stage_bytes: int
    read_ahead: int


PRESETS = {
    "laptop": Preset(memory_fraction=0.5, block_bytes=16 * MiB, stage_bytes=64 * MiB, read_ahead=1),
    "workstation": Preset(memory_fraction=0.6, block_bytes=16 * MiB, stage_bytes=128 * MiB, read_ahead=2),
    "server": Preset(memory_fraction=0.7, block_bytes=32 * MiB, stage_bytes=256 * MiB, read_ahead=2),
}


@dataclass(frozen=True)
class Tuning:
    preset: str
    workers: int
    block_bytes: int
    read_ahead: int
    """Blocks read and parsed ahead of the consumer, beyond one per worker."""
    stage_bytes: int
    memory_budget: int
    max_concurrent: int
    """Dagster step processes at once (the multiprocess executor's max_concurrent)."""
    file_pieces: int = 1
    """Pieces one big uncompressed CSV or Parquet file is cut into on this machine, each a step process of its own."""

    @property
    def step_peak(self) -> int:
        """Modelled peak memory of one step process."""
        return step_peak(self.workers, self.read_ahead, self.block_bytes, self.stage_bytes)

    def as_dict(self) -> dict:
        return asdict(self)


OVERRIDABLE = tuple(field.name for field in fields(Tuning))


class TuningError(InputError):
    """Settings that cannot work on this machine; the message lists every problem and its reason."""


def step_peak(workers: int, read_ahead: int, block_bytes: int, stage_bytes: int) -> int:
    return ENGINE_BASELINE + (workers + read_ahead) * block_bytes * BLOCK_MEMORY_FACTOR + 2 * stage_bytes


def preset_for(profile: MachineProfile) -> str:
    """The preset a machine looks like: small machines are laptops, 64-core boxes are servers."""
    if profile.cores <= 4 or profile.memory < 16 * GiB:
        return "laptop"
    if profile.cores <= 16 or profile.memory < 64 * GiB:
        return "workstation"
    return "server"


def tune(profile: MachineProfile, overrides: Mapping[str, object] | None = None) -> Tuning:
    """The settings for `profile`; values in `overrides` (None meaning 'not given') always win."""
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(given) - set(OVERRIDABLE))
    if unknown:
        raise TuningError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(OVERRIDABLE)}")
    preset_name = str(given.get("preset", AUTO))
    if preset_name == AUTO:
        preset_name = preset_for(profile)
    if preset_name not in PRESETS:
        raise TuningError(f"preset '{preset_name}' does not exist; choose one of {AUTO}, {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    workers = int(given.get("workers", profile.cores))
    read_ahead = int(given.get("read_ahead", preset.read_ahead))
    stage_bytes = int(given.get("stage_bytes", preset.stage_bytes))
    budget = int(given.get("memory_budget", preset.memory_fraction * profile.available_memory))
    block_bytes = int(given.get("block_bytes", preset.block_bytes))
    if "block_bytes" not in given:
        while block_bytes > MIN_BLOCK_BYTES and step_peak(workers, read_ahead, block_bytes, stage_bytes) > budget:
            block_bytes //= 2
    tuning = Tuning(preset_name, workers, block_bytes, read_ahead, stage_bytes, budget, 1)
    fitting_steps = max(1, budget // max(1, tuning.step_peak))
    tuning = replace(tuning, max_concurrent=int(given.get("max_concurrent", min(profile.cores, fitting_steps))))
    tuning = replace(tuning, file_pieces=int(given.get("file_pieces", file_pieces_for(profile.cores,
                                                                                     tuning.max_concurrent))))
    check_tuning(tuning, profile)
    return tuning


def file_pieces_for(cores: int, max_concurrent: int) -> int:
    """The pieces a big file is cut into on one machine: one per CORES_PER_FILE_STEP cores, as many
    as may run at once."""
    return max(1, min(max_concurrent, cores // CORES_PER_FILE_STEP))


def piece_workers(workers: int, pieces: int) -> int:
    """Threads each of `pieces` steps on one machine gets, so that together they use `workers`."""
    return max(1, workers // max(1, pieces))


def check_tuning(tuning: Tuning, profile: MachineProfile) -> None:
    """Refuse settings that cannot work, before any run starts, saying what and why."""
    problems = []
    if tuning.workers < 1:
        problems.append(f"workers = {tuning.workers}: at least 1 worker is needed to read anything")
    elif tuning.workers > profile.cores * MAX_WORKERS_PER_CORE:
        problems.append(
            f"workers = {tuning.workers} is more than {MAX_WORKERS_PER_CORE} x the {profile.cores} core(s) this "
            f"process may use: the extra threads only add memory and contention; use at most "
            f"{profile.cores * MAX_WORKERS_PER_CORE}"
        )
    if tuning.block_bytes < MIN_BLOCK_BYTES:
        problems.append(f"block_bytes = {tuning.block_bytes}: blocks under {MIN_BLOCK_BYTES} bytes make the "
                        "per-block overhead dominate; use at least 1 MiB")
    if tuning.block_bytes * BLOCK_MEMORY_FACTOR > tuning.memory_budget:
        problems.append(
            f"block_bytes = {_size(tuning.block_bytes)} needs about {_size(tuning.block_bytes * BLOCK_MEMORY_FACTOR)} "
            f"of memory once parsed, more than the memory budget of {_size(tuning.memory_budget)}; "
            "use smaller blocks or a larger budget"
        )
    elif tuning.step_peak > tuning.memory_budget:
        problems.append(
            f"{tuning.workers} worker(s) + {tuning.read_ahead} block(s) read ahead of {_size(tuning.block_bytes)} and "
            f"{_size(tuning.stage_bytes)} of staging need about {_size(tuning.step_peak)}, more than the memory "
            f"budget of {_size(tuning.memory_budget)}; lower workers, block_bytes or stage_bytes"
        )
    if tuning.memory_budget > profile.memory:
        problems.append(f"memory_budget = {_size(tuning.memory_budget)} is more than the {_size(profile.memory)} "
                        "this process may use (host memory, or the container's limit)")
    if tuning.read_ahead < 0:
        problems.append(f"read_ahead = {tuning.read_ahead}: cannot be negative")
    if tuning.stage_bytes < MIN_BLOCK_BYTES:
        problems.append(f"stage_bytes = {tuning.stage_bytes}: the staging buffer needs at least 1 MiB")
    if tuning.max_concurrent < 1:
        problems.append(f"max_concurrent = {tuning.max_concurrent}: Dagster needs at least 1 step process")
    if tuning.file_pieces < 1:
        problems.append(f"file_pieces = {tuning.file_pieces}: a file is at least 1 piece (1: never cut here)")
    if profile.host.data_dir_free < MIN_FREE_DISK:
        problems.append(f"the data folder's disk has only {_size(profile.host.data_dir_free)} free (less than "
                        f"{_size(MIN_FREE_DISK)}): outputs could not be written; free space or choose another --data")
    if problems:
        raise TuningError("settings refused:\n- " + "\n- ".join(problems))


def overrides_from_environment(environment: Mapping[str, str]) -> dict[str, object]:
    """ORDERS_ASSETS_WORKERS=4, ORDERS_ASSETS_PRESET=server, ...: overrides from the environment."""
    found: dict[str, object] = {}
    for name in OVERRIDABLE:
        value = environment.get(ENV_PREFIX + name.upper())
        if value is None or value == "":
            continue
        if name == "preset":
            found[name] = value
            continue
        try:
            found[name] = int(value)
        except ValueError:
            raise TuningError(f"{ENV_PREFIX + name.upper()}={value!r}: expected a whole number") from None
    return found


def _size(count: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if abs(count) >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"
