"""Landing files at the edges of what a file system allows, through the whole pipeline: names whose
storage names need bounding in bytes, files that leave between the plan and their ingest, folders
the scan cannot walk."""
import json

import dagster as dg

from orders_assets.core.generate import generate_orders
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.reference import reference_reports
from orders_assets_tests.support.markdown_view import list_items

WIDE_NAME = "\U00010400" * 62 + ".csv"
"""62 letters of 4 bytes in UTF-8 and '.csv': a 252-byte name, legal where NAME_MAX is 255 bytes."""


def test_a_file_named_with_252_bytes_of_wide_letters_is_ingested_reported_and_then_left_alone(tmp_path):
    landing, data = tmp_path / "landing", tmp_path / "data"
    assert len(WIDE_NAME.encode()) == 252
    generated = generate_orders(landing / WIDE_NAME, rows=3_000, days=2, securities=3, seed=41, bad_rows=0.01)
    reference = reference_reports([landing / WIDE_NAME])
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        first = run_pipeline(settings, instance)
        assert first.success and first.ingested == (WIDE_NAME,)
        summary = json.loads((data / "reports" / "summary.json").read_text())
        assert (summary["rows_read"], summary["rows_rejected"]) == (generated.rows, reference.rows_rejected)
        assert summary["skipped"] == []
        assert_report_equals(read_report(data / "reports", "by_security", "csv"), reference.reports["by_security"],
                             "by_security")
        assert len(list((data / "quarantine").glob("*.csv"))) == 1  # its rejected rows, under the bounded name
        before = tree_hashes(data)
        again = run_pipeline(settings, instance)
        assert again.did_nothing and again.success
        assert tree_hashes(data) == before


def run_command(argv: list[str]) -> tuple[int, str]:
    """`orders-assets` with these arguments: its exit status and what it printed."""
    import contextlib
    import io

    from orders_assets.cli.main import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(argv)
    return status, printed.getvalue()


def test_folders_not_walked_are_named_in_the_run_the_step_and_summary_json(tmp_path, monkeypatch):
    """A symlink to a folder outside the landing folder and a folder the run cannot read (as root the
    command runs without the capabilities that override file modes, support/unprivileged.py): each
    named with its fix, the other files counted, and the command exits 0 (nothing it read was refused)."""
    from orders_assets.platform.instance import open_instance
    from orders_assets_tests.support.unprivileged import call_denied

    landing, data, elsewhere = tmp_path / "landing", tmp_path / "data", tmp_path / "elsewhere"
    generated = generate_orders(landing / "day" / "orders.csv", rows=2_000, days=1, securities=2, seed=51)
    generate_orders(landing / "locked" / "orders.csv", rows=500, days=1, securities=2, seed=52)
    generate_orders(elsewhere / "orders.csv", rows=500, days=1, securities=2, seed=53)
    (landing / "outside").symlink_to(elsewhere, target_is_directory=True)
    (landing / "locked").chmod(0)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    try:
        status, printed = call_denied(run_command, ["run", "--landing", str(landing), "--data", str(data)])
    finally:
        (landing / "locked").chmod(0o755)
    summary = json.loads((data / "reports" / "summary.json").read_text())
    with open_instance(tmp_path / "home") as instance:
        step = instance.get_latest_materialization_event(dg.AssetKey("order_files")).asset_materialization
    assert status == 0 and summary["rows_read"] == generated.rows
    reasons = {entry["source_file"]: entry["reason"] for entry in summary["skipped"]}
    assert sorted(reasons) == ["locked/", "outside/"]
    assert reasons["locked/"].startswith("a folder this process cannot read (Permission denied)")
    assert reasons["outside/"].startswith(f"a symlink to a folder outside the landing folder ({elsewhere})")
    for key, reason in reasons.items():
        assert f"skipped {key}: {reason}\n" in printed
        assert f"{key}: {reason}" in list_items(step.metadata["skipped"].value)  # as the UI shows it


def plan_then_remove(settings: OrdersSettings, *removed):
    """The command's plan of the landing folder, then the files removed before any run reads them."""
    from orders_assets.core.plan.work import plan_work

    rules = settings.ingest_rules()
    planned = plan_work(settings.landing_dir, settings.store(), rules.fingerprint_for, rules.layouts.name_fields)
    for path in removed:
        path.unlink()
    return planned


def test_a_file_removed_between_the_plan_and_its_ingest_fails_only_itself(tmp_path):
    """The file beside it is ingested and reported in the same run; the removed one is named, with
    exit status 0 (no file of the folder went unread), and the next run has nothing to do."""
    from orders_assets.core.read.reader import LEFT_THE_FOLDER

    landing, data = tmp_path / "landing", tmp_path / "data"
    (tmp_path / "home").mkdir()
    generate_orders(landing / "a.csv", rows=1_500, days=1, securities=2, seed=61)
    kept = generate_orders(landing / "b.csv", rows=2_500, days=2, securities=3, seed=62)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data))
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        planned = plan_then_remove(settings, landing / "a.csv")
        assert planned.ingest.to_ingest == ("a.csv", "b.csv")
        outcome = run_pipeline(settings, instance, planned=planned)
        assert outcome.success and [run.job for run in outcome.runs] == [
            "ingest_order_files", "assemble_order_partitions", "build_reports"]
        summary = json.loads((data / "reports" / "summary.json").read_text())
        assert (summary["source_files"], summary["rows_read"], summary["skipped"]) == (1, kept.rows, [])
        assert_report_equals(read_report(data / "reports", "by_date", "csv"),
                             reference_reports([landing / "b.csv"]).reports["by_date"], "by_date")
        assert settings.store().skipped().gone == {"a.csv": LEFT_THE_FOLDER}
        step = instance.get_latest_materialization_event(dg.AssetKey("order_files")).asset_materialization
        assert list_items(step.metadata["gone"].value) == [f"a.csv: {LEFT_THE_FOLDER}"]
        assert step.metadata["files"].value == 1
        assert sorted(path.name for path in (data / "staging").iterdir() if path.is_dir()) == [
            settings.store().source_folder("b.csv").name]  # no staging folder left for the file never read
        before = tree_hashes(data, skip=("dagster_home", "state"))
        again = run_pipeline(settings, instance)
        assert again.did_nothing and again.success
        assert tree_hashes(data, skip=("dagster_home", "state")) == before
        assert settings.store().skipped().gone == {}


def test_a_file_removed_as_its_ingest_opens_it_takes_its_earlier_rows_with_it(tmp_path, monkeypatch):
    """The step already holds the file (the IO manager listed it) when it goes: the ingest's open finds
    nothing. Its earlier version's rows leave the reports in the same run, `run` names it and exits 0,
    and the next run has nothing to do."""
    from orders_assets.core.plan import ingest_step
    from orders_assets.core.read.reader import LEFT_THE_FOLDER

    landing, data = tmp_path / "landing", tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    generate_orders(landing / "a.csv", rows=1_500, days=1, securities=2, seed=71)
    kept = generate_orders(landing / "b.csv", rows=2_500, days=2, securities=3, seed=72)
    command = ["run", "--landing", str(landing), "--data", str(data)]
    real_ingest = ingest_step.ingest_source

    def removed_as_it_opens(chunked, store, progress=None):
        if chunked.source.key == "a.csv":
            chunked.source.path.unlink()
        return real_ingest(chunked, store, progress)

    assert run_command(command)[0] == 0
    generate_orders(landing / "a.csv", rows=1_800, days=1, securities=2, seed=73)  # a new version
    monkeypatch.setattr(ingest_step, "ingest_source", removed_as_it_opens)
    status, printed = run_command(command)
    assert status == 0 and f"skipped a.csv: {LEFT_THE_FOLDER}\n" in printed
    summary = json.loads((data / "reports" / "summary.json").read_text())
    assert (summary["source_files"], summary["rows_read"]) == (1, kept.rows)
    assert_report_equals(read_report(data / "reports", "by_security", "csv"),
                         reference_reports([landing / "b.csv"]).reports["by_security"], "by_security")
    store = OrdersSettings(landing_dir=str(landing), data_dir=str(data)).store()
    assert store.manifest("a.csv") is None and store.refused() == {}
    status, printed = run_command(command)
    assert status == 0 and "nothing new" in printed and "a.csv" not in printed
