"""Real exchange files in their vendors' layouts through `orders-assets run`: every report equals the
computation written with pandas directly on the vendor files (orders_assets_tests/support/real_data_oracles.py).

The data stays in ../shared/real-data (third-party; never copied into the repo): each test copies
the files it needs into its temporary landing folder. Without that folder the tests are skipped.
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from orders_assets.core.read.layout.model import LayoutError
from orders_assets.glue.definitions import settings_from_environment
from orders_assets.glue.names import INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB
from orders_assets.glue.resources import CONFIG_ENV, DATA_ENV, LANDING_ENV
from orders_assets_tests.support import real_data_oracles as oracles
from orders_assets_tests.support.real_data_compare import assert_reports_match
from orders_assets_tests.glue.test_sensors import LandingFolder

BIN = Path(sys.executable).parent
DOCS_LAYOUTS = Path(__file__).resolve().parents[2] / "docs" / "layouts"

pytestmark = pytest.mark.skipif(
    not oracles.REAL_DATA.is_dir(),
    reason=f"real market data not found at {oracles.REAL_DATA} (kept outside the repo, in ../shared/real-data; "
           f"{oracles.REAL_DATA_ENV} names another folder)",
)


@dataclass(frozen=True)
class Dataset:
    spec: oracles.DatasetSpec
    files: dict[str, str]
    """File in the dataset's folder -> where it lands (sub-folders choose layouts too)."""
    layouts: list[dict]
    expected: object


DATASETS = {
    "cme_mbo": Dataset(oracles.CME_SPEC, {name: f"cme/{name}" for name in (
        "ESH4_2023-12-24_mbo.csv.gz", "ESH4_2023-12-25_mbo.csv.gz", "ESM4_2024-05-08T000000-000002_mbo.csv.gz")},
        [{"layout": "databento_mbo", "folder": "cme"}], oracles.expected_cme_es_mbo),
    "bitstamp_orders": Dataset(oracles.BITSTAMP_SPEC, {"orders.csv.xz": "orders.csv.xz"},
                               [{"layout": str(DOCS_LAYOUTS / "bitstamp_orders.yaml"), "match": "orders.csv*"}],
                               oracles.expected_bitstamp_orders),
    "xetra_trades": Dataset(oracles.XETRA_SPEC, {"DETR-posttrade-2025-10-31T13_54.csv": "xetra/DETR.csv"},
                            [{"layout": str(DOCS_LAYOUTS / "xetra_posttrade.yaml"), "folder": "xetra"}],
                            oracles.expected_xetra_posttrade),
    "binance_trades": Dataset(oracles.BINANCE_SPEC, {
        "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv": "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv",
        "binance_spot_BTCUSDT_trades_2021-01-08_head2001.parquet":
            "binance_spot_BTCUSDT_trades_2021-01-08_head2001.parquet"},
        [{"layout": str(DOCS_LAYOUTS / "tardis_trades.yaml"), "match": "tardis_*.csv"},
         {"layout": str(DOCS_LAYOUTS / "binance_spot_parquet.yaml"), "match": "binance_spot_*.parquet"}],
        oracles.expected_binance_trades),
}


def config_for(dataset: Dataset) -> dict:
    spec = dataset.spec
    return {"timezone": spec.timezone, "quantity_decimals": spec.quantity_decimals, "layouts": dataset.layouts,
            "filter": {"order_types": list(spec.order_types), "session_start": spec.session_start.isoformat(),
                       "session_end": spec.session_end.isoformat()}}


def run(landing: Path, data: Path, config: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    return subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data, "--config", config],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_a_real_dataset_through_its_layout_gives_the_independently_computed_reports(name, tmp_path):
    dataset = DATASETS[name]
    landing, data = tmp_path / "landing", tmp_path / "data"
    for source, target in dataset.files.items():
        (landing / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(oracles.REAL_DATA / dataset.spec.folder / source, landing / target)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_for(dataset)))

    first = run(landing, data, config)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = dataset.expected(oracles.REAL_DATA)
    assert_reports_match(data / "reports", expected, dataset.spec.quantity_decimals)
    assert not any("E-" in path.read_text() for path in (data / "reports").glob("*.csv"))  # plain notation

    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert (summary["rows_read"], summary["rows_kept"], summary["rows_filtered_out"], summary["rows_rejected"]) == (
        expected.rows_read, expected.rows_kept, expected.rows_filtered_out, expected.rows_rejected)
    assert summary["partitions"] == expected.partitions
    assert sum(entry["rows_not_orders"] for entry in summary["files"]) == expected.rows_not_orders
    assert {entry["layout"] for entry in summary["files"]} == {Path(rule["layout"]).stem for rule in dataset.layouts}
    quarantined = [pd.read_csv(path) for path in (data / "quarantine").glob("*.csv")]
    assert sum(len(frame) for frame in quarantined) == expected.rows_rejected

    assert_market_share_matches(data / "reports", expected)

    again = run(landing, data, config)
    assert again.returncode == 0 and "nothing new" in again.stdout, again.stdout + again.stderr


def assert_market_share_matches(reports: Path, expected) -> None:
    """market_share's denominators are the oracle's totals of every valid order row per (date, security),
    kept or not, exactly; its numerators add up to the kept rows."""
    rows = pq.read_table(reports / "market_share.parquet").to_pylist()
    market = {(str(row["trade_date"]), row["security_code"]): [row["market_orders"], row["market_quantity"],
                                                               row["market_value"]] for row in rows}
    assert market == expected.market
    assert sum(row["orders"] for row in rows) == expected.rows_kept


def test_a_layout_change_reingests_only_the_files_it_reads(tmp_path):
    """The layout is part of what a file's outputs depend on: changing it makes them stale."""
    dataset = DATASETS["xetra_trades"]
    landing, data = tmp_path / "landing", tmp_path / "data"
    (landing / "xetra").mkdir(parents=True)
    shutil.copyfile(oracles.REAL_DATA / dataset.spec.folder / "DETR-posttrade-2025-10-31T13_54.csv",
                    landing / "xetra" / "DETR.csv")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_for(dataset)))
    assert run(landing, data, config).returncode == 0
    changed = tmp_path / "participant_is_venue.yaml"
    changed.write_text(f"extends: {DOCS_LAYOUTS / 'xetra_posttrade.yaml'}\nname: xetra_by_venue\n"
                       "constants: {participant_id: null}\ncolumns: {participant_id: executionVenueId}\n")
    config.write_text(yaml.safe_dump({**config_for(dataset),
                                      "layouts": [{"layout": str(changed), "folder": "xetra"}]}))
    rerun = run(landing, data, config)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    by_participant = pd.read_csv(data / "reports" / "by_participant.csv")
    venues = pd.read_csv(landing / "xetra" / "DETR.csv")["executionVenueId"].value_counts()
    assert dict(zip(by_participant["participant_id"], by_participant["orders"])) == venues.to_dict()


def test_the_sensor_reads_a_dropped_vendor_file_through_the_layout_of_the_code_locations_config(
        tmp_path, monkeypatch):
    """ORDERS_ASSETS_CONFIG gives the code location (UI, sensor, dagster asset materialize) the
    settings `orders-assets run --config` takes: a vendor file dropped into its sub-folder is read
    through its layout by the sensor's runs."""
    dataset = DATASETS["xetra_trades"]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_for(dataset)))
    monkeypatch.setenv(LANDING_ENV, str(tmp_path / "landing"))
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(CONFIG_ENV, str(config))
    settings = settings_from_environment()
    assert settings.layouts == dataset.layouts and settings.timezone == dataset.spec.timezone
    with dg.instance_for_test() as instance:
        folder = LandingFolder(tmp_path, instance, settings)
        (folder.landing / "xetra").mkdir()
        shutil.copyfile(oracles.REAL_DATA / dataset.spec.folder / "DETR-posttrade-2025-10-31T13_54.csv",
                        folder.landing / "xetra" / "DETR.csv")
        (folder.landing / "xetra" / "DETR.csv.done").touch()
        assert folder.settle() == [INGEST_JOB, PARTITIONS_JOB, REPORTS_JOB]
    assert_reports_match(folder.data / "reports", dataset.expected(oracles.REAL_DATA), 0)


def test_a_bad_layout_in_the_code_locations_config_stops_the_load_with_every_problem(tmp_path, monkeypatch):
    (tmp_path / "bad.yaml").write_text("name: bad\ncolumns: {order_id: id}\ntime: {format: julian}\n")
    (tmp_path / "config.yaml").write_text("layouts: [{layout: bad.yaml, folder: x}]\n")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "config.yaml"))
    with pytest.raises(LayoutError) as raised:
        settings_from_environment()
    assert "security_code: say where it comes from" in str(raised.value)
    assert "time.format: 'julian'" in str(raised.value)
