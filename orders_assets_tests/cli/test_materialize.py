"""`orders-assets materialize`: one key or the reports from the command line over the folders of a
run, without exports; a key that is not one is said in one line with how keys look."""
import dagster as dg

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders


def test_one_key_and_the_reports_from_the_command_line_and_a_wrong_key_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name in ("ORDERS_ASSETS_LANDING", "ORDERS_ASSETS_DATA", "ORDERS_ASSETS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "orders.csv", rows=3_000, days=1, securities=3, seed=98)
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    capsys.readouterr()
    folders = ["--landing", str(landing), "--data", str(data)]

    assert main(["materialize", *folders, "--select", "filtered_orders", "--partition", "BHP|2025-03-03"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith("error: --partition 'BHP|2025-03-03' is not a key of filtered_orders: a key is a trade "
                            "date and a security, DATE|SECURITY (e.g. 2025-03-03|BHP); this instance has, e.g., "
                            "2025-03-03|")
    assert main(["materialize", *folders, "--select", "group:reports", "--partition", "2025-03-03|BHP"]) == 2
    assert "group:reports is not partitioned" in capsys.readouterr().err

    key = "2025-03-03|BHP"
    assert main(["materialize", *folders, "--select", "filtered_orders", "--partition", key]) == 0
    assert "settings: the data folder's, from its last run" in capsys.readouterr().out
    assert main(["materialize", *folders, "--select", "group:reports"]) == 0
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("filtered_orders"), asset_partitions=[key]), limit=10).records
        assert len(records) == 2  # the run's and this command's
        summary = instance.fetch_materializations(dg.AssetKey("summary"), limit=10).records
        assert len(summary) == 2
