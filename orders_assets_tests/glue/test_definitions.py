"""The one Definitions, as Dagster sees them, against a snapshot (definitions_snapshot.json): every
asset with its group, partitions, upstream assets and kinds, every check and whether it blocks, the
jobs and what each selects, the sensor and its jobs, the resources, loggers and executor. A rename,
a lost dependency or a check left out of the Definitions fails here with the difference; an
intended change is written to the snapshot with ORDERS_ASSETS_WRITE_SNAPSHOT=1 and reviewed in the
diff. Also: importing the code location reads no environment; Dagster builds it when it loads."""
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orders_assets.glue.definitions import SensorTiming, build_definitions, definitions_from_environment
from orders_assets.glue.names import SENSOR_NAME
from orders_assets.glue.resources import OrdersSettings

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
WRITE_ENV = "ORDERS_ASSETS_WRITE_SNAPSHOT"


def partitions_text(partitions_def) -> str | None:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return "multi(" + ", ".join(f"{dimension.name}: {partitions_text(dimension.partitions_def)}"
                                    for dimension in partitions_def.partitions_defs) + ")"
    return f"{type(partitions_def).__name__}({getattr(partitions_def, 'name', None)})"


def snapshot_of(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        assets[key.to_user_string()] = {"group": node.group_name, "partitions": partitions_text(node.partitions_def),
                                        "upstream": sorted(parent.to_user_string() for parent in node.parent_keys),
                                        "kinds": sorted(node.kinds)}
    checks = {f"{check.asset_key.to_user_string()}:{check.name}": graph.get_check_spec(check).blocking
              for check in sorted(graph.asset_check_keys, key=lambda check: (check.asset_key, check.name))}
    jobs = {job.name: sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys)
            for job in defs.resolve_all_job_defs() if not job.name.startswith("__")}
    sensors = {sensor.name: {"jobs": sorted(job.name for job in sensor.jobs),
                             "minimum_interval_seconds": sensor.minimum_interval_seconds,
                             "default_status": sensor.default_status.value} for sensor in defs.sensors}
    return {"assets": assets, "checks": checks, "jobs": jobs, "sensors": sensors,
            "resources": sorted(defs.resources), "loggers": sorted(defs.loggers), "executor": defs.executor.name}


def test_the_definitions_are_the_snapshots(tmp_path):
    defs = build_definitions(OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data")))
    found = snapshot_of(defs)
    if os.environ.get(WRITE_ENV):
        SNAPSHOT.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert found == expected, (f"the Definitions differ from {SNAPSHOT.name} (an intended change: run this test with "
                               f"{WRITE_ENV}=1 and review the diff)")
    assert len(found["assets"]) == 12 and len(found["checks"]) == 8  # the snapshot itself is not empty


def test_a_declared_report_is_one_more_asset_of_the_reports_group_and_the_rest_is_unchanged(tmp_path):
    plain = snapshot_of(build_definitions(OrdersSettings(landing_dir=str(tmp_path / "l"), data_dir=str(tmp_path / "d"))))
    declared = snapshot_of(build_definitions(OrdersSettings(
        landing_dir=str(tmp_path / "l"), data_dir=str(tmp_path / "d"), reports=[{"name": "by_side", "keys": ["side"]}])))
    added = declared["assets"].pop("by_side")
    assert added == {"group": "reports", "partitions": None, "upstream": ["filtered_orders"], "kinds": ["csv", "parquet"]}
    assert declared["jobs"].pop("build_reports") == sorted([*plain["jobs"].pop("build_reports"), "by_side"])
    assert declared == plain


def test_the_environment_is_read_when_dagster_loads_the_code_location_not_at_import(tmp_path):
    """Imported with no folder set, the module builds nothing (a test, a tool, a worker imports it
    under any environment); loaded, it takes the folders, the config and the sensor's timing from
    the environment it is given."""
    imported = subprocess.run([sys.executable, "-c", "import orders_assets.definitions as module; "
                               "print(type(module.defs).__name__)"],
                              env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and imported.stdout.strip() == "LazyDefinitions", imported.stderr[-2000:]
    config = tmp_path / "only_limit.yaml"
    config.write_text("filter: {order_types: [LIMIT]}\n")
    environment = {"ORDERS_ASSETS_LANDING": str(tmp_path / "landing"), "ORDERS_ASSETS_DATA": str(tmp_path / "data"),
                   "ORDERS_ASSETS_CONFIG": str(config), "ORDERS_ASSETS_SENSOR_INTERVAL": "7",
                   "ORDERS_ASSETS_SETTLE_SECONDS": "2.5"}
    defs = definitions_from_environment(environment)
    assert defs.resolve_sensor_def(SENSOR_NAME).minimum_interval_seconds == 7
    assert SensorTiming.from_environment(environment) == SensorTiming(7, 2.5)
    assert defs.resources["settings"].order_filter().order_types == ("LIMIT",)
