"""Report declarations: what a config file's `reports:` may say, and every way it is refused with the fix."""
import pytest

from orders_assets.core.report.declared import MAX_KEYS, DeclarationError, ReportDeclaration, declarations_from


def test_declarations_keep_their_order_keys_and_descriptions():
    declared = declarations_from([{"name": "by_side_and_type", "keys": ["side", "order_type"],
                                   "description": " Per side and type. "},
                                  {"name": "by_hour_bucket", "keys": ["hour", "size_bucket"]}])
    assert declared == (ReportDeclaration("by_side_and_type", ("side", "order_type"), "Per side and type."),
                        ReportDeclaration("by_hour_bucket", ("hour", "size_bucket")))
    assert declared[1].summary_line.startswith("Orders, quantity and value per hour, size_bucket")
    assert declarations_from(None) == () and declarations_from([]) == ()
    assert declarations_from([{"name": "by_event", "keys": ["event"]}])[0].keys == ("event",)  # a column files keep


@pytest.mark.parametrize("entries, said", [
    ({"name": "x"}, "reports must be a list"),
    (["by_side"], "write {name: NAME, keys: [COLUMN, ...]}"),
    ([{"name": "../../etc/x", "keys": ["side"]}], "is not a report name"),
    ([{"name": "By Side", "keys": ["side"]}], "is not a report name"),
    ([{"name": "by_security", "keys": ["side"]}], "a report orders_assets builds itself"),
    ([{"name": "summary", "keys": ["side"]}], "a report orders_assets builds itself"),
    ([{"name": "by_side", "keys": []}], "keys must be a non-empty list"),
    ([{"name": "by_side", "keys": "side"}], "keys must be a non-empty list"),
    ([{"name": "by_side", "keys": ["Side"]}], "unknown key 'Side' (did you mean 'side'?)"),
    ([{"name": "by_venue", "keys": ["venue name"]}], "unknown key 'venue name': not a column name"),
    ([{"name": "by_line", "keys": ["source_line"]}], "about one row per order"),
    ([{"name": "by_order", "keys": ["order_id"]}], "about one row per order"),
    ([{"name": "by_price", "keys": ["side", "price"]}], "about one row per order"),
    ([{"name": "by_side", "keys": ["side", "side"]}], "named twice"),
    ([{"name": "wide", "keys": ["trade_date", "security_code", "participant_id", "side", "hour"]}],
     f"at most {MAX_KEYS} make a report"),
    ([{"name": "by_side", "keys": ["side"]}, {"name": "by_side", "keys": ["order_type"]}], "declared twice"),
    ([{"name": "by_side", "keys": ["side"], "metrics": ["orders"]}], "unknown field 'metrics'"),
])
def test_a_declaration_that_cannot_work_is_refused_naming_the_entry_and_the_fix(entries, said):
    with pytest.raises(DeclarationError) as refused:
        declarations_from(entries)
    assert said in str(refused.value)
