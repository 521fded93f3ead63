"""Security codes no file name or Dagster key may take as they are: traversal, separators, NUL, length.

The codes come from the data, so the pipeline must keep every output under the data folder
whatever they hold, keep each code exact in the rows and the reports, and give Dagster a key
it can address (the UI, `dagster asset materialize --partition`) for every (date, security).
"""
import csv
import os
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.definitions import build_definitions
from orders_assets.glue.partitions import dagster_key, order_partitions, security_code, security_key, store_key
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.reference import reference_reports

HOSTILE_CODES = [
    "../../../outside/pwn",  # from orders/trade_date=D/ up to the test's folder
    "../../../../../../../../tmp/orders_assets_pwn",
    "/tmp/orders_assets_abs",
    "BHP/X",
    "A\\B",
    "A|B",  # Dagster's separator of multi-partition keys
    "A,B[1]%2C",  # key lists, ranges and the escape itself
    "A\x00B",
    "C\x07\x7fD",
    "Z" * 300,
    ".",
    "..",
    "ÄÖ|ü",
]


def files_outside(root: Path, data: Path) -> set[str]:
    return {str(path) for path in root.rglob("*") if data not in path.parents and path != data}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    landing, data = root / "landing", root / "data"
    generated = root / "generated.csv"
    generate_orders(generated, rows=6_000, days=2, securities=len(HOSTILE_CODES) + 1, seed=18)
    with open(generated, newline="") as source:
        rows = list(csv.reader(source))
    header, body = rows[0], rows[1:]
    column = header.index("security_code")
    originals = sorted({row[column] for row in body})
    renamed = dict(zip(originals, HOSTILE_CODES))  # the last generated code stays as it is
    landing.mkdir()
    with open(landing / "orders.csv", "w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(header)
        writer.writerows([*row[:column], renamed.get(row[column], row[column]), *row[column + 1:]] for row in body)
    (root / "outside").mkdir()
    before = files_outside(root, data)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(settings, instance)
        yield {"root": root, "data": data, "settings": settings, "instance": instance, "outcome": outcome,
               "before": before, "reference": reference_reports([landing / "orders.csv"]),
               "codes": [*HOSTILE_CODES, originals[-1]]}


def test_the_run_succeeds_and_writes_nothing_outside_the_data_folder(hostile):
    assert hostile["outcome"].success
    assert files_outside(hostile["root"], hostile["data"]) == hostile["before"]
    assert not any(Path("/tmp").glob("orders_assets_pwn*")) and not Path("/tmp/orders_assets_abs.parquet").exists()
    for path in hostile["data"].rglob("*"):
        assert hostile["data"].resolve() in path.resolve().parents
    assert sorted(path.name for path in (hostile["data"] / "orders").iterdir()) == [
        f"trade_date={trade_date}" for trade_date in sorted({row.trade_date for row in
                                                            hostile["reference"].reports["timeseries_daily"].itertuples()})]


def test_every_code_lands_in_its_own_partition_exactly(hostile):
    store = hostile["settings"].store()
    daily = hostile["reference"].reports["timeseries_daily"]
    expected = {(str(row.trade_date), row.security_code): row.orders for row in daily.itertuples()}
    assert {code for _, code in expected} == set(hostile["codes"])
    for key, orders in expected.items():
        table = store.read_partition(key)
        assert table.num_rows == orders, key
        assert set(table["security_code"].to_pylist()) == {key[1]}


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_reports_keep_every_code_exactly(hostile, name):
    assert_report_equals(read_report(hostile["data"] / "reports", name, "parquet"),
                         hostile["reference"].reports[name], name)


def test_every_key_is_one_dagster_can_address_and_maps_back_to_its_code(hostile):
    instance = hostile["instance"]
    materialized = instance.get_materialized_partitions(dg.AssetKey("filtered_orders"))
    daily = hostile["reference"].reports["timeseries_daily"]
    expected = {(str(row.trade_date), row.security_code) for row in daily.itertuples()}
    assert {store_key(key) for key in materialized} == expected
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        for key in materialized:
            assert order_partitions.has_partition_key(key), key
            assert order_partitions.get_partition_key_from_str(key).keys_by_dimension["security"] == \
                security_key(store_key(key)[1])
    for code in hostile["codes"]:
        assert security_code(security_key(code)) == code and "|" not in security_key(code)


def test_one_hostile_key_re_materializes_alone_and_a_rerun_does_nothing(hostile):
    trade_date = min(str(row.trade_date) for row in hostile["reference"].reports["timeseries_daily"].itertuples())
    key = (trade_date, "A|B")
    store = hostile["settings"].store()
    before = store.read_partition(key)
    job = build_definitions(hostile["settings"]).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=hostile["instance"], partition_key=dagster_key(key),
                                    asset_selection=[dg.AssetKey("filtered_orders")])
    assert result.success
    assert [event.partition for event in result.get_asset_materialization_events()] == [dagster_key(key)]
    assert store.read_partition(key).equals(before)
    hashes = tree_hashes(hostile["data"] / "orders")
    outcome = run_pipeline(hostile["settings"], hostile["instance"])
    assert outcome.did_nothing and tree_hashes(hostile["data"] / "orders") == hashes
    assert os.listdir(hostile["root"] / "outside") == []
