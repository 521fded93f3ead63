"""filtered_orders partitions loaded into downstream assets by FilteredOrdersIOManager, from a pipeline
that published them to fsspec's memory:// filesystem (an object store's stand-in, in this process)."""
import uuid
from types import SimpleNamespace

import dagster as dg
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orders_assets.glue.assets.order_sets import filtered_orders
from orders_assets.core.generate import generate_orders
from orders_assets.glue.io_managers import filtered_orders_input
from orders_assets.glue.names import FILTERED_ORDERS_IO_MANAGER
from orders_assets.glue.partitions import order_partitions
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.support.reference import reference_reports


@dg.asset(partitions_def=order_partitions,
          ins={"filtered_orders": dg.AssetIn(key=filtered_orders.key, input_manager_key=FILTERED_ORDERS_IO_MANAGER)})
def large_orders(filtered_orders: pa.Table) -> dg.MaterializeResult:
    """A user's asset over one partition: its orders of 10,000 units or more."""
    return dg.MaterializeResult(metadata={"rows": filtered_orders.num_rows,
                                          "large": sum(1 for q in filtered_orders["quantity"].to_pylist() if q >= 10_000)})


@dg.asset(ins={"filtered_orders": dg.AssetIn(key=filtered_orders.key, input_manager_key=FILTERED_ORDERS_IO_MANAGER,
                                             partition_mapping=dg.AllPartitionMapping())})
def orders_per_partition(filtered_orders: dict[str, pa.Table]) -> dg.MaterializeResult:
    """A user's unpartitioned asset over every partition: Dagster hands it a dict by partition key."""
    return dg.MaterializeResult(metadata={key: table.num_rows for key, table in filtered_orders.items()})


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("io_manager")
    generate_orders(root / "landing" / "orders.csv", rows=8_000, days=2, securities=4, seed=51)
    url = f"memory://published-{uuid.uuid4().hex[:8]}"
    settings = OrdersSettings(landing_dir=str(root / "landing"), data_dir=str(root / "data"), output_url=url)
    with dg.instance_for_test(temp_dir=str(root)) as instance:
        assert run_pipeline(settings, instance).success
        yield SimpleNamespace(settings=settings, instance=instance, url=url,
                              reference=reference_reports([root / "landing" / "orders.csv"]))
    fsspec.filesystem("memory").rm(url.removeprefix("memory:/"), recursive=True)


def materialize(pipeline, asset, partition_key=None) -> dict:
    result = dg.materialize([filtered_orders, asset], selection=[asset], partition_key=partition_key,
                            instance=pipeline.instance,
                            resources={"settings": pipeline.settings,
                                       FILTERED_ORDERS_IO_MANAGER: filtered_orders_input})
    assert result.success
    return result.get_asset_materialization_events()[0].materialization.metadata


def test_a_downstream_partition_loads_its_filtered_orders_from_the_output_url(pipeline):
    daily = pipeline.reference.reports["timeseries_daily"]
    row = daily.iloc[0]
    key = f"{row.trade_date}|{row.security_code}"
    metadata = materialize(pipeline, large_orders, key)
    name = f"{pipeline.url}/orders/trade_date={row.trade_date}/orders.parquet"
    with fsspec.open(name, "rb") as handle:
        published = pq.read_table(handle, filters=[("security_code", "=", row.security_code)])
    assert metadata["rows"].value == row.orders == published.num_rows
    assert metadata["large"].value == sum(1 for q in published["quantity"].to_pylist() if q >= 10_000)


def test_an_unpartitioned_downstream_asset_gets_every_partition_by_key(pipeline):
    daily = pipeline.reference.reports["timeseries_daily"]
    metadata = materialize(pipeline, orders_per_partition)
    assert {key: entry.value for key, entry in metadata.items()} == {
        f"{row.trade_date}|{row.security_code}": row.orders for row in daily.itertuples()}


def test_the_pipeline_shows_the_memory_urls_of_its_outputs(pipeline):
    summary = pipeline.instance.get_latest_materialization_event(dg.AssetKey("summary")).asset_materialization
    assert summary.metadata["index_url"].value == f"{pipeline.url}/reports/index.html"
