"""The detected machine and its tuning, as Dagster shows them: run tags and asset metadata."""
from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from orders_assets.core.machine.hardware import MachineProfile
from orders_assets.core.machine.tuning import GiB, MiB, Tuning
from orders_assets.glue.names import MACHINE_TAG
from orders_assets.glue.resources import OrdersSettings


@dataclass(frozen=True)
class MachineTags:
    profile: MachineProfile
    tuning: Tuning

    @classmethod
    def of(cls, settings: OrdersSettings) -> "MachineTags":
        """Profile and tuning for settings whose data_dir may still be an unresolved EnvVar."""
        data_dir = settings.data_dir
        if isinstance(data_dir, dg.EnvVar):
            data_dir = data_dir.get_value(".") or "."
        resolved = settings.model_copy(update={"data_dir": data_dir}) if data_dir != settings.data_dir else settings
        profile = resolved.machine_profile()
        return cls(profile, resolved.tuning(profile))

    @property
    def tags(self) -> dict[str, str]:
        """One run tag, so the UI's runs list shows one chip for the machine and its sizing (the
        whole tuning is on the assets' metadata, `machine`)."""
        profile, tuning = self.profile, self.tuning
        limits = " (container limits)" if profile.cgroup.cpu_limit or profile.cgroup.memory_limit else ""
        return {MACHINE_TAG: f"{profile.cores} cores, {profile.memory / GiB:.1f} GiB{limits}; {tuning.preset}: "
                             f"{tuning.workers} workers, {tuning.block_bytes // MiB} MiB blocks, "
                             f"{tuning.memory_budget / GiB:.1f} GiB budget, {tuning.max_concurrent} steps at once"}


def machine_metadata(profile: MachineProfile, tuning: Tuning) -> dict:
    """Asset metadata: the machine and every tuned value, as a table and as numbers."""
    rows = [("cores (usable)", profile.cores), ("logical / physical cores",
            f"{profile.host.logical_cores} / {profile.host.physical_cores}"),
            ("memory (usable)", f"{profile.memory / GiB:.1f} GiB"),
            ("memory available", f"{profile.available_memory / GiB:.1f} GiB"),
            ("container CPU / memory limit", f"{profile.cgroup.cpu_limit} / {profile.cgroup.memory_limit}"),
            ("data folder free", f"{profile.host.data_dir_free / GiB:.1f} GiB")]
    rows += [(name, value) for name, value in tuning.as_dict().items()]
    table = "| setting | value |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)
    return {"machine": dg.MetadataValue.md(table), "workers": tuning.workers, "block_bytes": tuning.block_bytes}
