"""One big file in pieces on this machine (glue/assets/pieces.py): `orders-assets run` with
`machine.file_pieces: 2` ingests it in two runs at once, each in a process of its own with half the
threads, and the sensor plans the same pieces (a cut run, then one run per piece); both give byte
for byte the outputs and reports of one step."""
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orders_assets.glue.names import CUT_TAG, PIECE_TAG, PIECE_WORKERS_TAG
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest import pieces as core_pieces
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.core.store.order_store import OrderStore
from orders_assets.glue.resources import MachineSettings, OrdersSettings
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.core.ingest.test_pieces import store_files
from orders_assets_tests.glue.test_sensors import LandingFolder

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ROWS = 100_000
PIECE_BYTES = 2_000_000
COUNTS = ("rows_read", "rows_kept", "rows_filtered_out", "rows_rejected", "partitions", "value")


def history(landing: Path) -> Path:
    return generate_orders(landing / "history.csv", rows=ROWS, days=2, securities=6, seed=4, bad_rows=0.001).path


def orders_assets_run(landing: Path, data: Path, config: Path) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if key != "DAGSTER_HOME" and not key.startswith("ORDERS_ASSETS_")}
    return subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data, "--config", config],
                          capture_output=True, text=True, cwd=data.parent, env=environment, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The file run as one step, then with two pieces on this machine (twice: the second finds nothing new)."""
    root = tmp_path_factory.mktemp("local-pieces")
    landing = root / "landing"
    history(landing)
    sizing = f"piece_bytes: {PIECE_BYTES}\nmachine:\n  block_bytes: 1048576\n"
    (root / "one.yaml").write_text(sizing + "  file_pieces: 1\n")
    (root / "two.yaml").write_text(sizing + "  file_pieces: 2\n")
    alone = orders_assets_run(landing, root / "alone", root / "one.yaml")
    assert alone.returncode == 0, alone.stderr[-3000:]
    pieces = orders_assets_run(landing, root / "pieces", root / "two.yaml")
    assert pieces.returncode == 0, pieces.stdout + pieces.stderr[-3000:]
    again = orders_assets_run(landing, root / "pieces", root / "two.yaml")
    return root, pieces, again


def assert_same_as_one_step(data: Path, alone: Path) -> None:
    one, cut = OrderStore(alone), OrderStore(data)
    assert [manifest.pieces for manifest in one.manifests()] == [1]
    assert [manifest.pieces for manifest in cut.manifests()] == [2]
    assert [m.content_digest for m in cut.manifests()] == [m.content_digest for m in one.manifests()]
    one_files, cut_files = store_files(one), store_files(cut)
    assert any(name.startswith("quarantine") for name in one_files) and one_files.keys() == cut_files.keys()
    assert all(cut_files[name] == content for name, content in one_files.items())
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "csv"), read_report(alone / "reports", name, "csv"), name)
    summaries = [json.loads((where / "reports" / "summary.json").read_text()) for where in (alone, data)]
    assert [summaries[0][key] for key in COUNTS] == [summaries[1][key] for key in COUNTS]
    assert summaries[0]["rows_read"] == ROWS


def step_pids(instance: dg.DagsterInstance, runs) -> set[int]:
    return {entry.dagster_event.pid for run in runs
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}


def test_run_ingests_the_pieces_in_processes_of_their_own_each_with_its_share_of_the_threads(runs):
    root, pieces, _ = runs
    threads = OrdersSettings(landing_dir=".", data_dir=str(root)).tuning().workers
    with dg.DagsterInstance.from_config(str(root / "pieces" / "dagster_home")) as instance:
        ingests = [run for run in instance.get_runs() if run.job_name == "ingest_order_files"]
        assembly = [run for run in instance.get_runs() if run.job_name == "assemble_order_partitions"]
        observed = [record.asset_observation.metadata for record in instance.fetch_observations(
            dg.AssetKey("order_files"), limit=10).records]
        piece_pids, command_pids = step_pids(instance, ingests), step_pids(instance, assembly)
    assert sorted(run.tags[PIECE_TAG].rsplit(":", 1)[1] for run in ingests) == ["0", "1"]
    assert {run.tags[PIECE_WORKERS_TAG] for run in ingests} == {str(max(1, threads // 2))}
    assert {metadata["threads"].value for metadata in observed} == {max(1, threads // 2)}
    assert sum(metadata["rows_read"].value for metadata in observed) == ROWS
    assert len(command_pids) == 1 and not piece_pids & command_pids, "the pieces ran outside the command's process"
    assert "history.csv, piece 1" in pieces.stdout and "history.csv, piece 2" in pieces.stdout


def test_run_in_pieces_gives_the_one_steps_outputs_byte_for_byte_and_a_rerun_does_nothing(runs):
    root, _, again = runs
    assert_same_as_one_step(root / "pieces", root / "alone")
    assert again.returncode == 0 and "nothing new" in again.stdout and "ok " not in again.stdout


def test_the_sensor_cuts_in_a_run_of_its_own_then_requests_one_run_per_piece(runs, tmp_path, monkeypatch):
    root, _, _ = runs
    with dg.instance_for_test() as instance:
        folder = LandingFolder(tmp_path, instance, OrdersSettings(
            landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"), piece_bytes=PIECE_BYTES,
            machine=MachineSettings(block_bytes=1 << 20, file_pieces=2)))
        history(folder.landing)
        (folder.landing / "history.csv.done").touch()
        scanning = core_pieces.plan_pieces
        requests = []
        for _ in range(8):
            monkeypatch.setattr(core_pieces, "plan_pieces", lambda *a, **k: pytest.fail("a tick scanned the file"))
            result = folder.tick()
            monkeypatch.setattr(core_pieces, "plan_pieces", scanning)
            if not result.run_requests:
                break
            requests.append([(request.job_name, request.tags) for request in result.run_requests])
            folder.run(result)
    ingests = [[tags for job, tags in tick if job == "ingest_order_files"] for tick in requests]
    [cut_request], piece_requests = ingests[0], ingests[1]
    assert cut_request[CUT_TAG] == "2" and PIECE_TAG not in cut_request
    assert sorted(tags[PIECE_TAG].rsplit(":", 1)[1] for tags in piece_requests) == ["0", "1"]
    assert all(PIECE_WORKERS_TAG in tags for tags in piece_requests)
    assert [job for tick in requests[2:] for job, _ in tick][-1] == "build_reports"
    assert_same_as_one_step(folder.data, root / "alone")
