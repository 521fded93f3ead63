"""The settings as Dagster's resource: core/plan/settings.Settings (the fields, their defaults and
descriptions, and what they resolve to) as a ConfigurableResource, its sections as dg.Config, so the
launchpad, run config and `--config FILE` read alike. The names of the environment variables the
code location reads are here too."""

import contextlib

import dagster as dg
from pydantic import Field

from orders_assets.core.plan import setting_sections as sections
from orders_assets.core.plan.settings import Settings
from orders_assets.core.store.settings_lease import SettingsConflict

LANDING_ENV = "ORDERS_ASSETS_LANDING"
DATA_ENV = "ORDERS_ASSETS_DATA"
CONFIG_ENV = "ORDERS_ASSETS_CONFIG"
"""A config file (as for `orders-assets run --config`) for the code location's settings."""


class FilterSettings(dg.Config, sections.FilterSettings):
    __doc__ = sections.FilterSettings.__doc__


class MachineSettings(dg.Config, sections.MachineSettings):
    __doc__ = sections.MachineSettings.__doc__


class OverlapSettings(dg.Config, sections.OverlapSettings):
    __doc__ = sections.OverlapSettings.__doc__


class RejectedRowsSettings(dg.Config, sections.RejectedRowsSettings):
    __doc__ = sections.RejectedRowsSettings.__doc__


def _section(name: str, config_type: type) -> Field:
    """Settings' field `name` with its section as `config_type` (Dagster types a nested config by
    its dg.Config class): the same description, the section's defaults."""
    return Field(default=config_type(), description=Settings.model_fields[name].description)


class OrdersSettings(dg.ConfigurableResource, Settings):
    __doc__ = Settings.__doc__

    filter: FilterSettings = _section("filter", FilterSettings)
    overlap: OverlapSettings = _section("overlap", OverlapSettings)
    rejected_rows: RejectedRowsSettings = _section("rejected_rows", RejectedRowsSettings)
    machine: MachineSettings = _section("machine", MachineSettings)

    def __init__(self, **values):
        super().__init__(**sections.nested_settings(values))

    @classmethod
    def of(cls, settings: Settings) -> "OrdersSettings":
        """The command's settings as Dagster's resource for its runs, with what they already resolved
        (the same values: the layouts' files are not read a second time)."""
        resource = cls(**settings.model_dump())
        resource._resolved = settings._resolved
        return resource


def step_lease(settings: Settings) -> contextlib.ExitStack:
    """settings.lease() for a Dagster step: a run under other settings than the runs in flight
    fails with the reason and the fix, as one line (dg.Failure), not a traceback."""
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(settings.lease())
    except SettingsConflict as conflict:
        raise dg.Failure(description=str(conflict)) from None
    return stack
