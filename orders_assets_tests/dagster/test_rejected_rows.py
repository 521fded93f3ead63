"""No silent shortfall: a file whose rejected rows reach the rejected_rows threshold is named by the
run's output (again on a rerun with nothing new), summary.json, the page and the check
rejected_rows_below_threshold; under severity error the check fails and the run exits 1; a change
of the rule rebuilds the reports only."""
import json

import dagster as dg
import pytest

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.support.reference import reference_reports


def run(landing, data, capsys, config: str | None = None, tmp_path=None) -> tuple[int, str]:
    argv = ["run", "--landing", str(landing), "--data", str(data)]
    if config is not None:
        path = tmp_path / f"config_{abs(hash(config))}.yaml"
        path.write_text(config)
        argv += ["--config", str(path)]
    status = main(argv)
    return status, capsys.readouterr().out


def check_status(data, check: str) -> tuple[str, str | None]:
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        key = dg.AssetCheckKey(dg.AssetKey("summary"), check)
        execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        evaluation = execution.event.dagster_event.event_specific_data
        return execution.status.value, evaluation.severity.value if not evaluation.passed else None


@pytest.fixture
def landing(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    folder = tmp_path / "landing"
    generate_orders(folder / "clean.csv", rows=4_000, days=2, securities=4, seed=71)
    generate_orders(folder / "vendor.csv", rows=2_000, days=2, securities=4, seed=72, bad_rows=0.05)
    return folder


def test_a_file_past_the_threshold_is_named_everywhere_and_fails_the_run_only_under_error(landing, tmp_path, capsys):
    data = tmp_path / "data"
    reference = reference_reports(sorted(landing.glob("*.csv"))).per_file
    rejected, read = reference["vendor.csv"].rows_rejected, reference["vendor.csv"].rows_read
    assert reference["clean.csv"].rows_rejected == 0 and rejected >= 0.04 * read

    status, printed = run(landing, data, capsys)
    assert status == 0  # the default severity warns
    assert "warning: 1 file(s) with at least 1% of their rows rejected (rejected_rows: 1%, warn)" in printed
    assert f"vendor.csv: {rejected:,} of {read:,} rows rejected" in printed and "clean.csv: " not in printed
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert summary["rejected_rows"] == {"threshold": "0.01", "severity": "warn"}
    files = {entry["source_file"]: entry for entry in summary["files"]}
    reasons = OrdersSettings(landing_dir=str(landing), data_dir=str(data)).store().quarantine_reasons("vendor.csv")
    assert sum(reasons.values()) == rejected
    assert files["vendor.csv"]["main_rejection"] == max(sorted(reasons), key=reasons.get)
    assert "main_rejection" not in files["clean.csv"]
    page = (data / "reports" / "index.html").read_text()
    assert "Needs attention" in page and f"{rejected:,} of {read:,} rows rejected" in page
    assert check_status(data, "rejected_rows_below_threshold") == ("FAILED", "WARN")

    status, printed = run(landing, data, capsys)  # nothing new: said again, still a warning
    assert status == 0 and "no run launched" in printed and "vendor.csv: " in printed

    share = rejected / read
    above = f"rejected_rows: {{threshold: {share * 100 + 0.5:.2f}%, severity: error}}\n"
    status, printed = run(landing, data, capsys, above, tmp_path)
    assert status == 0 and "rows rejected" not in printed
    assert "ok     build_reports" in printed and "ingest" not in printed  # the rule rebuilt the reports only
    assert "Needs attention" not in (data / "reports" / "index.html").read_text()
    assert check_status(data, "rejected_rows_below_threshold") == ("SUCCEEDED", None)

    below = f"rejected_rows: {{threshold: {share * 100 - 0.5:.2f}%, severity: error}}\n"
    status, printed = run(landing, data, capsys, below, tmp_path)
    assert status == 1 and "FAILED build_reports" in printed
    assert "error: 1 file(s) with at least" in printed and "vendor.csv: " in printed
    assert check_status(data, "rejected_rows_below_threshold") == ("FAILED", "ERROR")
    status, printed = run(landing, data, capsys, below, tmp_path)  # a rerun does not turn it into a success
    assert status == 1 and "no run launched" in printed and "error: 1 file(s)" in printed


def test_a_rule_that_is_none_is_refused_before_anything_runs(landing, tmp_path, capsys):
    for written, said in (("rejected_rows: {threshold: 0}\n", "above 0 and at most 1"),
                          ("rejected_rows: {threshold: lots}\n", "write 0.01 or '1%'"),
                          ("rejected_rows: {severity: fatal}\n", "is not warn or error"),
                          ("rejected_rows: {share: 1%}\n", "unknown setting 'rejected_rows.share'")):
        config = tmp_path / "config.yaml"
        config.write_text(written)
        assert main(["run", "--landing", str(landing), "--data", str(tmp_path / "data"), "--config", str(config)]) == 2
        assert said in capsys.readouterr().err
    assert not (tmp_path / "data" / "dagster_home").exists()


def test_a_landing_folder_whose_files_are_all_skipped_fails_the_run_and_says_why(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    (landing / "notes.txt").write_text("the orders come tomorrow\n")
    (landing / "orders.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    for rerun in (False, True):
        status, printed = run(landing, data, capsys)
        assert status == 1 and ("no run launched" in printed) == rerun
        assert "error: no order file was read: the landing folder's 2 file(s) were all skipped or refused" in printed
        assert "skipped notes.txt: not an order file by name" in printed
    page = (data / "reports" / "index.html").read_text()
    assert "Needs attention" in page and "no order file was read" in page
    assert page.index("Files not read") < page.index("orders.xlsx") and "notes.txt" in page

    (landing / "notes.txt").unlink()
    (landing / "orders.xlsx").unlink()
    assert run(landing, data, capsys)[0] == 0  # an empty landing folder is nothing to do, not a failure
