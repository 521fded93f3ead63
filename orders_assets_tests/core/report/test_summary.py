"""summary.json as a typed record: it round-trips exactly, opens the files of releases before it
(no version key), and refuses a later version with the file and the fix."""
import json
from decimal import Decimal

import pytest

from orders_assets.core.assemble.aggregate_files import partial_totals
from orders_assets.core.report.summary import SUMMARY_VERSION, FileSummary, SkippedFile, Summary, read_summary, write_summary
from orders_assets.core.report.summary_build import build_summary
from orders_assets.core.store.manifest import StoreVersionError
from orders_assets.core.store.rejected_rule import RejectedRule
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.core.report.test_plots import build_sample_reports
from orders_assets_tests.support.reference import reference_reports

WRITTEN_BEFORE_VERSIONS = {
    "source_files": 2,
    "rows_read": 1_010,
    "rows_kept": 300,
    "rows_filtered_out": 705,
    "rows_rejected": 5,
    "partitions": 7,
    "inputs_signature": "a82692c0bdb421363521",
    "orders": 300,
    "quantity": "1264.00000003",
    "value": "0.000000000001",
    "files": [
        {"source_file": "orders.csv", "rows_read": 1_000, "rows_kept": 295, "rows_filtered_out": 700,
         "rows_rejected": 5, "partitions": 6},
        {"source_file": "vendor/day.csv", "rows_read": 10, "rows_kept": 5, "rows_filtered_out": 5,
         "rows_rejected": 0, "partitions": 1, "layout": "vendor_x", "rows_not_orders": 2},
    ],
    "skipped": [{"source_file": "notes.zip", "reason": "an archive"}],
}
"""A summary.json exactly as the release before `Summary` wrote one (its keys, a fractional
quantity and a value of many places as decimal strings, a file read through a layout)."""


def written(tmp_path, document: dict):
    (tmp_path / "summary.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return tmp_path


def test_a_summary_of_generated_data_round_trips_through_its_file(tmp_path):
    store = build_sample_reports(tmp_path, rows=5_000)
    summary = build_summary(store, partial_totals(store))
    reference = reference_reports([tmp_path / "landing" / "orders.csv"])
    assert (summary.rows_read, summary.rows_kept, summary.rows_filtered_out, summary.rows_rejected) == (
        reference.rows_read, reference.rows_kept, reference.rows_filtered_out, reference.rows_rejected)
    assert summary.totals == reference.totals and isinstance(summary.value, Decimal)
    write_summary(summary, store.reports)
    assert read_summary(store.reports) == summary
    document = json.loads((store.reports / "summary.json").read_text())
    assert document["version"] == SUMMARY_VERSION and Summary.from_json(document) == summary


def test_a_summary_written_before_versions_opens_and_keeps_every_key_and_amount_exactly(tmp_path):
    summary = read_summary(written(tmp_path, WRITTEN_BEFORE_VERSIONS))
    assert summary.quantity == Decimal("1264.00000003") and summary.value == Decimal("0.000000000001")
    assert summary.files[1] == FileSummary("vendor/day.csv", 10, 5, 5, 0, 1, layout="vendor_x", rows_not_orders=2)
    assert summary.files[0].layout is None
    assert summary.skipped == (SkippedFile("notes.zip", "an archive"),)
    no_overlap = {"rows_duplicated": 0, "rows_superseded": 0, "rows_deduplicated": 0,
                  "rows_read_compiled": 0, "rows_read_exact": 0, "rows_rounded": 0}  # paths, rounding: not recorded
    assert summary.to_json() == {**WRITTEN_BEFORE_VERSIONS, "version": SUMMARY_VERSION, "order_filter": None,
                                 "first_trade_date": None, "last_trade_date": None, "trade_dates": 0,
                                 "rejections_by_reason": [], "rows_filtered_out_by": None,  # not recorded by 1
                                 "files": [{**entry, **no_overlap} for entry in WRITTEN_BEFORE_VERSIONS["files"]],
                                 "overlap": None, "rows_in_partitions": None, "rows_superseded": 0,
                                 "rows_deduplicated": 0, "rows_duplicated_across_files": [],
                                 "rows_counted_more_than_once": 0,  # nor by 2
                                 "rows_read_compiled": 0, "rows_read_exact": 0,  # nor by 3
                                 "rejected_rows": None,  # nor by 4: the default rule
                                 "filter_value_rows": None, "values_seen": None,  # nor the filter's values
                                 "rows_rounded": 0}  # nor before layouts could round
    assert summary.rejected_rule == RejectedRule()


def test_a_whole_unit_quantity_stays_an_integer_and_a_missing_signature_is_never_current(tmp_path):
    document = {key: value for key, value in WRITTEN_BEFORE_VERSIONS.items() if key != "inputs_signature"}
    summary = Summary.from_json({**document, "quantity": 1_264, "value": "12328299.8700"})
    assert summary.quantity == 1_264 and isinstance(summary.quantity, int)
    assert summary.inputs_signature is None
    assert summary.to_json()["value"] == "12328299.8700"


def test_a_summary_of_a_later_version_is_refused_naming_the_file_and_the_fix(tmp_path):
    written(tmp_path, {**WRITTEN_BEFORE_VERSIONS, "version": SUMMARY_VERSION + 1})
    with pytest.raises(StoreVersionError) as refused:
        read_summary(tmp_path)
    message = str(refused.value)
    assert str(tmp_path / "summary.json") in message
    assert f"summary version {SUMMARY_VERSION + 1}" in message and "upgrade orders_assets" in message


def test_the_summary_says_what_it_was_made_under_and_over(tmp_path):
    """The filter, the trade dates against the reference's kept rows, and the rejected rows by reason
    against the quarantine read on its own, each file naming its quarantine."""
    import pandas as pd

    from orders_assets.core.read.filters import OrderFilter

    store = build_sample_reports(tmp_path, rows=5_000)
    rule = OrderFilter(participants=())
    summary = Summary.from_json(build_summary(store, partial_totals(store), rule).to_json())
    reference = reference_reports([tmp_path / "landing" / "orders.csv"])
    assert summary.order_filter == {"order_types": list(rule.order_types), "session_start": "10:00:00",
                                    "session_end": "16:00:00", "participants": [], "timezone": "Australia/Sydney"}
    dates = sorted({row.trade_date for row in reference.kept})
    assert (summary.first_trade_date, summary.last_trade_date, summary.trade_dates) == (
        str(dates[0]), str(dates[-1]), len(dates))
    [entry] = summary.files
    quarantine = pd.read_csv(store.root / entry.quarantine)
    assert len(quarantine) == reference.rows_rejected > 0
    counted = quarantine["reason"].value_counts()
    assert dict(summary.rejections_by_reason) == {reason: int(rows) for reason, rows in counted.items()}
    assert [rows for _, rows in summary.rejections_by_reason] == sorted(counted.tolist(), reverse=True)


def test_the_filtered_out_rows_by_cause_match_an_independent_count_of_the_file(tmp_path):
    """Each valid row not kept is counted once, under the first rule it fails, as counted here from
    the CSV with the reference's own readers (its rejected lines left out)."""
    from datetime import time as clock
    from zoneinfo import ZoneInfo

    from orders_assets.core.read.filters import OrderFilter
    from orders_assets_tests.support.reference import _parse_local_timestamp, _records_with_line_numbers

    store = build_sample_reports(tmp_path, rows=5_000)
    summary = build_summary(store, partial_totals(store), OrderFilter())
    path = tmp_path / "landing" / "orders.csv"
    reference = reference_reports([path])
    rejected = reference.rejected_lines["orders.csv"]
    expected = dict.fromkeys(("order_type", "session", "participant", "not_orders"), 0)
    records = _records_with_line_numbers(path)
    header = next(records)[1]
    for line, fields in records:
        if line in rejected:
            continue
        row = dict(zip(header, fields))
        local = _parse_local_timestamp(row["timestamp"], ZoneInfo("Australia/Sydney")).time()
        if row["order_type"] not in ("CENTRE_POINT", "CENTRE_POINT_BLOCK"):
            expected["order_type"] += 1
        elif not clock(10) <= local < clock(16):
            expected["session"] += 1
    assert summary.rows_filtered_out_by == expected and summary.files[0].filtered_out_by == expected
    assert sum(expected.values()) == summary.rows_filtered_out == reference.rows_filtered_out
    assert expected["order_type"] > 0 and expected["session"] > 0


def test_the_rejections_by_reason_come_from_the_manifests_without_reading_a_quarantine(tmp_path):
    """The ingest counts them as it writes the quarantine: the reports read none (here: gone), and
    the counts are those of the quarantine read on its own."""
    import pandas as pd

    store = build_sample_reports(tmp_path, rows=5_000)
    [manifest] = store.manifests()
    counted = pd.read_csv(store.quarantine_file(manifest.source_key))["reason"].value_counts()
    assert len(counted) > 1
    store.quarantine_file(manifest.source_key).unlink()
    summary = build_summary(store, partial_totals(store))
    assert dict(summary.rejections_by_reason) == {reason: int(rows) for reason, rows in counted.items()}


def test_a_manifest_written_before_reasons_were_counted_has_its_quarantine_read(tmp_path):
    """Version 4 manifests have no rejections_by_reason: the summary counts their quarantine's
    reason column, as it did before, with the same figures."""
    store = build_sample_reports(tmp_path, rows=5_000)
    counted = build_summary(store, partial_totals(store)).rejections_by_reason
    [manifest] = store.manifests()
    path = store.source_folder(manifest.source_key) / "manifest.json"
    earlier = {name: value for name, value in json.loads(path.read_text()).items() if name != "rejections_by_reason"}
    path.write_text(json.dumps({**earlier, "version": 4}))
    assert store.manifest(manifest.source_key).rejections_by_reason is None
    assert counted and build_summary(store, partial_totals(store)).rejections_by_reason == counted
    store.quarantine_file(manifest.source_key).unlink()  # now the figures can only come from the file
    assert build_summary(store, partial_totals(store)).rejections_by_reason == ()


def test_no_file_read_gives_zero_rows_filtered_out_by_each_cause(tmp_path):
    store = OrderStore(tmp_path / "data")
    summary = build_summary(store, partial_totals(store))
    assert summary.source_files == 0
    assert summary.rows_filtered_out_by == {"order_type": 0, "session": 0, "participant": 0, "not_orders": 0}
    assert json.loads(json.dumps(summary.to_json()))["rows_filtered_out_by"]["session"] == 0
