"""Fields from the path (`file_name.match_on: path`): a folder gives the security, a zip's name the
date; and which text a pattern or a rule's glob sees for a zip and for each member of a zip of several."""
import pytest

from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import LayoutChoice, LayoutError, LayoutRule, rules_reading_no_file
from orders_assets_tests.core.read.layout.documents import NAMED_BY_FILE

BY_FOLDER = {**NAMED_BY_FILE, "name": "by_folder",
             "file_name": {"pattern": r"^(?P<security_code>[a-z]+)/(?P<trade_date>\d{8})_trade\.",
                           "date_format": "%Y%m%d", "match_on": "path"},
             "case": {"security_code": "upper"}}


def test_a_pattern_on_the_path_takes_the_security_from_the_folder_and_the_date_from_the_name():
    layout = layout_from_document(BY_FOLDER)
    assert layout.file_fields("aig/20131007_trade.zip") == {"security_code": "AIG", "trade_date": "2013-10-07"}
    assert layout.file_fields("bac/20131008_trade.csv.gz") == {"security_code": "BAC", "trade_date": "2013-10-08"}
    with pytest.raises(LayoutError, match="aig_20131007_trade.zip: the file's path does not match layout by_folder"):
        layout.file_fields("aig_20131007_trade.zip")


def test_a_pattern_on_the_name_says_a_folder_can_be_matched_when_it_fails():
    on_name = layout_from_document({**BY_FOLDER, "file_name": {**BY_FOLDER["file_name"], "match_on": "name"}})
    with pytest.raises(LayoutError, match=r"file's name does not match .* file_name.match_on: path"):
        on_name.file_fields("aig/20131007_trade.zip")


def test_a_member_of_a_zip_of_several_is_seen_by_its_own_name_or_by_the_archives_path_and_its_name():
    by_name = layout_from_document({**NAMED_BY_FILE, "file_name": {"pattern": r"^(?P<security_code>[A-Z]+)_"}})
    assert by_name.file_fields("2025/week.zip!exports/BHP_orders.csv") == {"security_code": "BHP"}
    assert by_name.file_fields("week.zip!CBA_orders.csv") == {"security_code": "CBA"}
    by_path = layout_from_document({**NAMED_BY_FILE, "file_name": {
        "pattern": r"^(?P<trade_date>[\d-]+)\.zip!(?P<security_code>[A-Z]+)\.csv$", "match_on": "path"}})
    assert by_path.file_fields("2025-03-03.zip!BHP.csv") == {"security_code": "BHP", "trade_date": "2025-03-03"}


def test_match_on_takes_name_or_path_and_a_layout_without_it_keeps_its_fingerprint():
    with pytest.raises(LayoutError, match=r"file_name.match_on: 'folder' is not one of name, path"):
        layout_from_document({**BY_FOLDER, "file_name": {**BY_FOLDER["file_name"], "match_on": "folder"}})
    plain = layout_from_document(NAMED_BY_FILE)
    said = layout_from_document({**NAMED_BY_FILE, "file_name": {**NAMED_BY_FILE["file_name"], "match_on": "name"}})
    on_path = layout_from_document({**NAMED_BY_FILE, "file_name": {**NAMED_BY_FILE["file_name"], "match_on": "path"}})
    assert plain.fingerprint == said.fingerprint != on_path.fingerprint


@pytest.mark.parametrize("rule, keys", [
    ({"match": "*_trade.zip"}, ["aig/20131007_trade.zip", "week_trade.zip!aig.csv"]),
    ({"match": "*.csv"}, ["week_trade.zip!aig.csv", "plain.csv", "2025/week.zip!sub/aig.csv", "aig/week.zip!x.csv"]),
    ({"match": "aig.csv"}, ["week_trade.zip!aig.csv", "2025/week.zip!sub/aig.csv"]),
    ({"folder": "aig"}, ["aig/20131007_trade.zip", "aig/week.zip!x.csv"]),
])
def test_a_rule_matches_a_zip_and_each_member_of_a_zip_of_several_by_the_archive_or_the_member(rule, keys):
    layout = layout_from_document(NAMED_BY_FILE)
    choice = LayoutChoice((LayoutRule(layout=layout, **rule),))
    landing = ["aig/20131007_trade.zip", "week_trade.zip!aig.csv", "plain.csv", "2025/week.zip!sub/aig.csv",
               "aig/week.zip!x.csv", "other/notes.zip"]
    assert [key for key in landing if choice.layout_for(key) is layout] == [key for key in landing if key in keys]
    assert rules_reading_no_file(choice, landing) == []
