"""The machine's tuning in Dagster: the executor's concurrency, run tags, and the ingest's settings."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.generate import generate_orders
from orders_assets.glue.definitions import build_definitions
from orders_assets.glue.names import INGEST_JOB
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline

PROBE_DIR_ENV = "ORDERS_ASSETS_TEST_PROBE_DIR"
PROBE_SECONDS = 2.0
REPOSITORY = Path(__file__).resolve().parents[2]


def _probe(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def probe() -> None:
        started = time.time()
        time.sleep(PROBE_SECONDS)
        (Path(os.environ[PROBE_DIR_ENV]) / name).write_text(f"{started} {time.time()} {os.getpid()}")

    return probe


PROBES = [_probe(f"probe_{number}") for number in range(3)]


def probe_job() -> dg.JobDefinition:
    """Three independent steps under the executor that orders_assets' Definitions choose for this machine."""
    settings = OrdersSettings(landing_dir=".", data_dir=os.environ[PROBE_DIR_ENV])
    executor = build_definitions(settings).executor
    job = dg.define_asset_job("probes", selection=dg.AssetSelection.assets(*PROBES))
    return dg.Definitions(assets=PROBES, jobs=[job], executor=executor).resolve_job_def("probes")


EXECUTE_PROBES = """
import json, os, sys
import dagster as dg
from orders_assets_tests.glue.test_machine import probe_job
with dg.instance_for_test() as instance:
    result = dg.execute_job(dg.reconstructable(probe_job), instance=instance, run_config=json.loads(sys.argv[1]))
    assert result.success
print(os.getpid())
"""


def execute_probes(run_config: dict) -> int:
    """Run the probe job in a process of its own (Dagster caches reconstructed jobs, and the job must be
    built under this environment); the pid of the process that ran the run."""
    done = subprocess.run([sys.executable, "-c", EXECUTE_PROBES, json.dumps(run_config)], check=True,
                          capture_output=True, text=True, cwd=REPOSITORY)
    return int(done.stdout.split()[-1])


def probe_records(folder: Path) -> list[tuple[float, float, int]]:
    """(start, end, pid) of each probe step."""
    return [(float(start), float(end), int(pid)) for start, end, pid in
            (((folder / probe.key.path[-1]).read_text().split()) for probe in PROBES)]


def most_steps_at_once(folder: Path) -> int:
    intervals = [(start, end) for start, end, _ in probe_records(folder)]
    return max(sum(1 for start, end in intervals if start <= moment < end) for moment, _ in intervals)


def test_steps_run_in_the_run_process_by_default_one_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv(PROBE_DIR_ENV, str(tmp_path))
    run_process = execute_probes({})
    assert {pid for _, _, pid in probe_records(tmp_path)} == {run_process}  # no step process was started
    assert most_steps_at_once(tmp_path) == 1


@pytest.mark.parametrize("max_concurrent", [None, "1"])
def test_the_multiprocess_choice_runs_as_many_steps_at_once_as_the_tuning_says(tmp_path, monkeypatch,
                                                                                max_concurrent):
    monkeypatch.setenv(PROBE_DIR_ENV, str(tmp_path))
    if max_concurrent is None:
        monkeypatch.delenv("ORDERS_ASSETS_MAX_CONCURRENT", raising=False)
    else:
        monkeypatch.setenv("ORDERS_ASSETS_MAX_CONCURRENT", max_concurrent)
    expected = OrdersSettings(landing_dir=".", data_dir=str(tmp_path)).tuning().max_concurrent
    assert expected == (int(max_concurrent) if max_concurrent else min(os.cpu_count(), expected))
    run_process = execute_probes({"execution": {"config": {"multiprocess": {}}}})
    assert run_process not in {pid for _, _, pid in probe_records(tmp_path)}
    assert most_steps_at_once(tmp_path) == min(expected, len(PROBES))


def test_runs_carry_the_machine_and_the_ingest_uses_the_tuned_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("ORDERS_ASSETS_WORKERS", "2")  # the environment is overridden by explicit settings
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "orders.csv", rows=5_000, days=2, securities=4, seed=1)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data), workers=1, block_bytes=1 << 20,
                              preset="server")
    tag = build_definitions(settings).resolve_job_def(INGEST_JOB).tags["orders_assets/machine"]
    assert tag.endswith("; server: 1 workers, 1 MiB blocks, " + tag.split("blocks, ")[1])
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
        ingest_run = instance.get_runs(filters=dg.RunsFilter(job_name=INGEST_JOB))[0]
        event = instance.get_latest_materialization_event(dg.AssetKey("order_files"))
    assert "; server: 1 workers, 1 MiB blocks, " in ingest_run.tags["orders_assets/machine"]
    assert [name for name in ingest_run.tags if name.startswith("orders_assets/")] == ["orders_assets/machine"]
    metadata = event.asset_materialization.metadata
    assert (metadata["workers"].value, metadata["block_bytes"].value) == (1, 1 << 20)
    assert "| preset | server |" in metadata["machine"].value


def test_settings_that_cannot_work_stop_the_code_location_loading(tmp_path):
    with pytest.raises(ValueError, match="workers = 0: at least 1 worker"):
        build_definitions(OrdersSettings(landing_dir=".", data_dir=str(tmp_path), workers=0))


def test_run_config_overrides_the_tuning_of_a_run(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "orders.csv", rows=2_000, days=1, securities=3, seed=2)
    defs = build_definitions(OrdersSettings(landing_dir=str(landing), data_dir=str(data)))
    run_config = {"resources": {"settings": {"config": {"landing_dir": str(landing), "data_dir": str(data),
                                                        "filter": {"order_types": ["LIMIT"]},
                                                        "machine": {"workers": 1, "read_ahead": 0}}}}}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("source_files", ["orders.csv"])
        result = defs.resolve_job_def(INGEST_JOB).execute_in_process(
            run_config=run_config, instance=instance, partition_key="orders.csv")
        assert result.success
        metadata = instance.get_latest_materialization_event(dg.AssetKey("order_files")).asset_materialization.metadata
    assert metadata["workers"].value == 1
    assert "| read_ahead | 0 |" in metadata["machine"].value
    (manifest,) = OrdersSettings(landing_dir=str(landing), data_dir=str(data)).store().manifests()
    assert manifest.filter_fingerprint == OrderFilter(order_types=("LIMIT",)).fingerprint  # the run's filter


def test_a_data_folder_inside_the_landing_folder_stops_the_code_location_loading(tmp_path):
    with pytest.raises(ValueError, match="is inside the landing folder"):
        build_definitions(OrdersSettings(landing_dir=str(tmp_path), data_dir=str(tmp_path / "data")))
    with pytest.raises(ValueError, match="is inside the landing folder"):
        build_definitions(OrdersSettings(landing_dir=str(tmp_path), data_dir=str(tmp_path)))
    build_definitions(OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data")))


def test_an_output_folder_inside_the_landing_folder_stops_the_code_location_loading(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    with pytest.raises(ValueError, match="is inside the landing folder") as refused:
        build_definitions(OrdersSettings(landing_dir=str(landing), data_dir=str(data), output_url=str(landing / "out")))
    assert str(refused.value).startswith(f"the output folder {landing / 'out'} (output_url)")
    build_definitions(OrdersSettings(landing_dir=str(landing), data_dir=str(data), output_url=str(tmp_path / "out")))
