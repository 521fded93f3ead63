"""The one Definitions of orders_assets: assets, checks, resources, IO managers, jobs and the sensor.

Built when Dagster loads the code location (`defs`, a lazy `@dg.definitions`), not when this module
is imported: the environment (folders, config file, sensor timing, a Dask scheduler) is read then,
so a test or a tool imports the module under any environment and builds its own."""

import os
from dataclasses import dataclass

import dagster as dg

from orders_assets.glue.assets.order_sets import filtered_orders
from orders_assets.glue.assets.orders import landing_orders, order_files
from orders_assets.glue.assets.reports import reports_asset, summary
from orders_assets.glue.checks import (
    filter_values_match_rows,
    kept_rows_in_partitions,
    no_rows_counted_twice,
    outputs_match_contract,
    rejected_rows_below_threshold,
    reports_match_summary,
    rows_accounted_for,
    totals_match_partitions,
)
from orders_assets.glue.config_file import load_settings_overrides, settings_file
from orders_assets.glue.console_logger import console_logger
from orders_assets.core.store.folders import folders_problem
from orders_assets.platform import data_version_cache
from orders_assets.platform.dask_scheduler import dask_scheduler_from
from orders_assets.platform.executors import executor_for
from orders_assets.glue.io_managers import chunked_source_io_manager, filtered_orders_input
from orders_assets.glue.machine import MachineTags
from orders_assets.glue.names import (CHUNKED_SOURCE_IO_MANAGER, FILTERED_ORDERS_IO_MANAGER, INGEST_JOB, PARTITIONS_JOB,
                                      REPORTS_GROUP, REPORTS_JOB)
from orders_assets.glue.resources import CONFIG_ENV, DATA_ENV, LANDING_ENV, OrdersSettings
from orders_assets.glue.sensors import INTERVAL_ENV, MINIMUM_INTERVAL_SECONDS, SETTLE_ENV, landing_sensor


JOB_SELECTIONS = {
    INGEST_JOB: dg.AssetSelection.assets(order_files),
    PARTITIONS_JOB: dg.AssetSelection.assets(filtered_orders),
    REPORTS_JOB: dg.AssetSelection.groups(REPORTS_GROUP),
}


@dataclass(frozen=True)
class SensorTiming:
    """How often the sensor looks and how long a file must go unwritten to count as complete."""

    interval_seconds: int = MINIMUM_INTERVAL_SECONDS
    settle_seconds: float = 0

    @classmethod
    def from_environment(cls, environment) -> "SensorTiming":
        return cls(int(environment.get(INTERVAL_ENV, MINIMUM_INTERVAL_SECONDS)), float(environment.get(SETTLE_ENV, 0)))


def build_definitions(settings: OrdersSettings, dask_scheduler: str | None = None,
                      timing: SensorTiming = SensorTiming()) -> dg.Definitions:
    """The Definitions for given settings (the CLI passes those of its --config file).

    The machine is profiled when the code location loads: the executor's concurrency comes from
    the tuning, and every run of the jobs carries the machine and the tuning as tags (shown in
    the UI). Settings that cannot work on this machine stop the load with the reason. With a Dask
    scheduler's address the runs' steps execute on that cluster's workers by default (a run's
    config may still choose either executor). An asset step's input data versions are taken
    without listing every upstream key (platform/data_version_cache.py).
    """
    data_version_cache.install()
    landing, data, output_url = [value.get_value() if isinstance(value, dg.EnvVar) else value
                                 for value in (settings.landing_dir, settings.data_dir, settings.output_url)]
    problem = folders_problem(landing, data, output_url) if landing and data else None  # unset: the runs will say so
    if problem:
        raise ValueError(problem)
    machine = MachineTags.of(settings)
    jobs = [dg.define_asset_job(name, selection=selection, tags=machine.tags) for name, selection in JOB_SELECTIONS.items()]
    return dg.Definitions(
        assets=[landing_orders, order_files, filtered_orders, reports_asset(settings.declared_reports()), summary],
        asset_checks=[rows_accounted_for, totals_match_partitions, reports_match_summary, outputs_match_contract,
                      kept_rows_in_partitions, no_rows_counted_twice, rejected_rows_below_threshold,
                      filter_values_match_rows],
        jobs=jobs,
        sensors=[landing_sensor(INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB, jobs, timing.interval_seconds, dask_scheduler,
                                timing.settle_seconds)],
        resources={
            "settings": settings,
            CHUNKED_SOURCE_IO_MANAGER: chunked_source_io_manager,
            FILTERED_ORDERS_IO_MANAGER: filtered_orders_input,  # for assets users add downstream of filtered_orders
        },
        executor=executor_for(machine.tuning.max_concurrent, dask_scheduler),
        loggers={"console": console_logger},
    )


def settings_from_environment(environment=os.environ) -> OrdersSettings:
    """The code location's settings: folders from ORDERS_ASSETS_LANDING / ORDERS_ASSETS_DATA, and the
    rest (filter, layouts, quantity decimals, machine) from the config file ORDERS_ASSETS_CONFIG
    names, the same file `orders-assets run --config` takes, so the UI, the sensor and
    `dagster asset materialize` read vendor files the way the command does. Without it, the
    settings the data folder remembers from its last run (as `run` without --config): a code
    location reloaded after `run --config` on its folder follows the new settings instead of
    taking the folder back to the defaults."""
    overrides = load_settings_overrides(code_location_config(environment))
    settings = OrdersSettings(landing_dir=dg.EnvVar(LANDING_ENV), data_dir=dg.EnvVar(DATA_ENV), **overrides)
    settings.validate()  # a bad filter, layout, overlap rule or size edges stops the load with the fix
    return settings


def code_location_config(environment) -> str | None:
    """The config file the code location reads: ORDERS_ASSETS_CONFIG, else the data folder's
    remembered settings (config_file.FOLDER_CONFIG) when ORDERS_ASSETS_DATA names a folder that has
    them, else None (the defaults)."""
    found = settings_file(environment.get(CONFIG_ENV), environment.get(DATA_ENV))
    return None if found is None else str(found)


def definitions_from_environment(environment=os.environ) -> dg.Definitions:
    """The code location's Definitions under `environment` (the process's by default)."""
    return build_definitions(settings_from_environment(environment), dask_scheduler_from(environment),
                             SensorTiming.from_environment(environment))


@dg.definitions
def defs() -> dg.Definitions:
    """What Dagster loads: the Definitions under this process's environment, built at load."""
    return definitions_from_environment()
