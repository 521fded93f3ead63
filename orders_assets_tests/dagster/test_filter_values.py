"""A filter value that matches no row is said loudly: the run's output, summary.json, the page and
the check filter_values_match_rows (a warning: the run still exits 0), with the values there are."""
import json

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders
from orders_assets_tests.dagster.test_rejected_rows import check_status


def test_a_typo_in_the_filter_is_named_with_the_values_seen_and_a_fixed_filter_passes(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "day.csv", rows=5_000, days=1, securities=4, seed=91)
    config = tmp_path / "typo.yaml"
    config.write_text("filter:\n  order_types: [CENTER_POINT]\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "0 kept" in printed
    assert ("warning: filter order_types: CENTER_POINT matches no valid row of any current file "
            "(did you mean CENTRE_POINT?); the order types there are: ") in printed
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["filter_value_rows"] == {"order_type": {"CENTER_POINT": 0}}
    assert {"CENTRE_POINT", "LIMIT", "MARKET"} <= set(summary["values_seen"]["order_type"])
    assert "CENTER_POINT matches no valid row" in (data / "reports" / "index.html").read_text()
    assert check_status(data, "filter_values_match_rows") == ("FAILED", "WARN")

    config.write_text("filter:\n  order_types: [CENTRE_POINT]\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "matches no" not in printed and "Needs attention" not in (data / "reports" / "index.html").read_text()
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["filter_value_rows"]["order_type"]["CENTRE_POINT"] == summary["rows_kept"] + \
        summary["rows_filtered_out_by"]["session"]
    assert check_status(data, "filter_values_match_rows") == ("SUCCEEDED", None)
