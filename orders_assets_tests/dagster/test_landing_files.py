"""Landing files at the edges of what a file system allows, through the whole pipeline: names whose
storage names need bounding in bytes, files that leave between the plan and their ingest, folders
the scan cannot walk."""
import json

import dagster as dg

from orders_assets.core.generate import generate_orders
from orders_assets.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.conftest import assert_report_equals, read_report, tree_hashes
from orders_assets_tests.support.reference import reference_reports

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
