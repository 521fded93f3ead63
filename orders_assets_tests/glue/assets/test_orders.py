"""The execution monitor through the command users type: progress in the run's logs and on the
terminal, the time split and its hint, and the numbers each materialization shows in the UI."""
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from orders_assets.core.store import date_files
from orders_assets.core.generate import generate_orders

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor")
    landing, data = root / "landing", root / "data"
    generate_orders(landing / "a.csv", rows=900_000, days=2, securities=4, seed=8)
    generate_orders(landing / "b.csv.gz", rows=300_000, days=1, securities=4, seed=9)
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    env.update(ORDERS_ASSETS_PROGRESS_SECONDS="0", ORDERS_ASSETS_BLOCK_BYTES=str(4 << 20))
    result = subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        yield data, result, instance


def test_the_terminal_shows_a_progress_bar_with_an_eta(monitored):
    _, result, _ = monitored
    bars = [line for line in result.stderr.splitlines() if line.startswith("ingest [")]
    assert bars, result.stderr
    assert all(" MB/s  ETA " in line and " RSS " in line and " CPU " in line for line in bars)


def test_the_run_logs_progress_at_its_cadence_and_ends_with_the_time_split(monitored):
    data, _, instance = monitored
    [record] = instance.get_run_records(dg.RunsFilter(job_name="ingest_order_files"))
    messages = [entry.user_message for entry in instance.all_logs(record.dagster_run.run_id)]
    progress = [message for message in messages if message.startswith("ingest ") and " ETA " in message]
    assert len(progress) >= 2 and progress[-1].startswith("ingest 100.0% (")
    assert "1,200,000 rows" in progress[-1] and "of 2 MB" not in progress[-1]
    finished = [message for message in messages if message.startswith("b.csv.gz: 300,000 rows read")]
    assert finished and "time per stage" in finished[0] and "bound" in finished[0]
    assert not any((data / "state" / "progress").glob("*.json"))  # a live view, gone with the run


def test_each_materialization_carries_the_figures_the_ui_shows(monitored):
    data, _, instance = monitored
    files = {record.partition_key: record.asset_materialization.metadata
             for record in instance.fetch_materializations(dg.AssetKey("order_files"), limit=10).records}
    landing = data.parent / "landing"
    for key, metadata in files.items():
        for name in ("throughput_mb_per_s", "run_throughput_mb_per_s", "run_rows_per_s", "peak_rss_mib",
                     "parse_seconds", "run_parse_seconds", "dagster_overhead_seconds"):
            assert metadata[name].value > 0, name
        assert metadata["bytes"].value == (landing / key).stat().st_size
        assert "bound" in metadata["bottleneck"].value and "bound" in metadata["run_bottleneck"].value
        assert metadata["run_rows_read"].value == 1_200_000
        assert metadata["run_bytes"].value == sum(path.stat().st_size for path in landing.iterdir())
    assert {key: metadata["rows_read"].value for key, metadata in files.items()} == {"a.csv": 900_000,
                                                                                    "b.csv.gz": 300_000}
    partitions = instance.fetch_materializations(dg.AssetKey("filtered_orders"), limit=100).records
    per_partition = {record.partition_key: record.asset_materialization.metadata["dagster/row_count"].value
                     for record in partitions}
    on_disk = {f"{path.parent.name.split('=')[1]}|{security}": entry.rows
               for path in (data / "orders").rglob("*.parquet")
               for security, entry in date_files.index_of(pq.read_metadata(path)).items()}
    assert per_partition == on_disk
