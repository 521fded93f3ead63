"""The one Definitions of orders_assets: assets, checks, resources, IO managers and jobs."""

import dagster as dg

from orders_assets.assets.orders import CHUNKED_SOURCE_IO_MANAGER, filtered_orders, landing_orders, order_files
from orders_assets.assets.reports import REPORTS_GROUP, reports, summary
from orders_assets.checks import rows_accounted_for, totals_match_partitions
from orders_assets.io_managers import ChunkedSourceIOManager
from orders_assets.resources import DATA_ENV, LANDING_ENV, OrdersSettings

INGEST_JOB = "ingest_order_files"
PARTITIONS_JOB = "assemble_order_partitions"
REPORTS_JOB = "build_reports"

ingest_job = dg.define_asset_job(INGEST_JOB, selection=dg.AssetSelection.assets(order_files))
partitions_job = dg.define_asset_job(PARTITIONS_JOB, selection=dg.AssetSelection.assets(filtered_orders))
reports_job = dg.define_asset_job(REPORTS_JOB, selection=dg.AssetSelection.groups(REPORTS_GROUP))


def build_definitions(settings: OrdersSettings) -> dg.Definitions:
    """The Definitions for given settings (the CLI passes those of its --config file)."""
    return dg.Definitions(
        assets=[landing_orders, order_files, filtered_orders, reports, summary],
        asset_checks=[rows_accounted_for, totals_match_partitions],
        jobs=[ingest_job, partitions_job, reports_job],
        resources={
            "settings": settings,
            CHUNKED_SOURCE_IO_MANAGER: ChunkedSourceIOManager(settings=settings),
        },
    )


defs = build_definitions(OrdersSettings(landing_dir=dg.EnvVar(LANDING_ENV), data_dir=dg.EnvVar(DATA_ENV)))
