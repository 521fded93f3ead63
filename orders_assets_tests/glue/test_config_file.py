"""output_url in the config file: read into the settings, given to the store, kept by a saved config."""
from upath import UPath

from orders_assets.glue.config_file import load_settings_overrides, settings_document
from orders_assets.glue.resources import OrdersSettings

TUNING = {"preset": "laptop", "workers": 1, "block_bytes": 1 << 20, "read_ahead": 1, "stage_bytes": 1 << 22,
          "memory_budget": 1 << 30, "max_concurrent": 1, "file_pieces": 1}


def test_output_url_from_the_config_file_is_where_the_store_publishes(tmp_path):
    (tmp_path / "config.yaml").write_text("output_url: s3://bucket/orders\nquantity_decimals: 2\n")
    overrides = load_settings_overrides(tmp_path / "config.yaml")
    settings = OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"), **overrides)
    store = settings.store()
    assert store.reports == UPath("s3://bucket/orders/reports")
    assert str(store.date_file("2025-03-03")) == "s3://bucket/orders/orders/trade_date=2025-03-03/orders.parquet"
    assert store.state == tmp_path / "data" / "state"  # the work area stays in the data folder
    assert settings_document(settings.model_dump(), TUNING)["output_url"] == "s3://bucket/orders"


def test_without_output_url_the_outputs_stay_in_the_data_folder_and_a_saved_config_does_not_name_it(tmp_path):
    settings = OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"))
    assert settings.store().reports == tmp_path / "data" / "reports"
    assert "output_url" not in settings_document(settings.model_dump(), TUNING)


def test_a_config_with_aliases_is_refused_naming_the_file(tmp_path):
    import pytest

    from orders_assets.glue.config_file import ConfigFileError

    (tmp_path / "config.yaml").write_text("filter: &f {order_types: [CENTRE_POINT]}\nmachine: *f\n")
    with pytest.raises(ConfigFileError, match=r"config.yaml: cannot read the config file: aliases .* line 2"):
        load_settings_overrides(tmp_path / "config.yaml")


def test_a_layout_rule_with_a_typo_names_the_file_the_rule_and_the_key(tmp_path):
    import pytest

    from orders_assets.glue.config_file import ConfigFileError

    (tmp_path / "config.yaml").write_text("layouts:\n  - {layout: lobster, folder: lob}\n  - {layuot: lobster, folder: x}\n")
    with pytest.raises(ConfigFileError, match=r"config.yaml: layouts\[1\]: unknown key 'layuot' \(did you mean 'layout'\?\)"):
        load_settings_overrides(tmp_path / "config.yaml")
    (tmp_path / "config.yaml").write_text("layouts:\n  - {layout: lobster, mtach: '*.csv'}\n")
    with pytest.raises(ConfigFileError, match=r"unknown key 'mtach' \(did you mean 'match'\?\)"):
        load_settings_overrides(tmp_path / "config.yaml")


def test_the_overlap_rule_in_its_three_forms_reaches_the_store_and_a_saved_config_keeps_it(tmp_path):
    import yaml

    from orders_assets.glue.config_file import save_settings
    from orders_assets.core.store.overlap_rule import OverlapRule

    for text, rule in (("overlap: union\n", OverlapRule()), ("overlap: latest_per_date\n", OverlapRule("latest_per_date")),
                       ("overlap: {dedup: [order_id, timestamp]}\n", OverlapRule("dedup", ("order_id", "timestamp"))),
                       ("overlap: {rule: dedup, columns: [order_id]}\n", OverlapRule("dedup", ("order_id",))),
                       ("overlap: {rule: union, duplicates: error}\n", OverlapRule("union", (), "error")),
                       ("overlap: {dedup: [order_id], duplicates: error}\n", OverlapRule("dedup", ("order_id",), "error"))):
        (tmp_path / "config.yaml").write_text(text)
        settings = OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"),
                                  **load_settings_overrides(tmp_path / "config.yaml"))
        assert settings.store().overlap == rule
        save_settings(tmp_path / "saved.yaml", settings_document(settings.model_dump(), TUNING))
        again = OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"),
                               **load_settings_overrides(tmp_path / "saved.yaml"))
        assert again.store().overlap == rule
        assert yaml.safe_load((tmp_path / "saved.yaml").read_text())["overlap"] in (
            "union", "latest_per_date", {"dedup": list(rule.columns)},
            {"rule": rule.kind, "columns": list(rule.columns), "duplicates": "error"})


def test_an_overlap_rule_that_is_none_names_the_file_and_the_three_forms(tmp_path):
    import pytest

    from orders_assets.glue.config_file import ConfigFileError

    for text, problem in (("overlap: newest\n", "not one of union, latest_per_date, dedup"),
                          ("overlap: {dedup: order_id}\n", "'overlap' is"),
                          ("overlap: {dedup: []}\n", "needs its columns"),
                          ("overlap: {rule: union, duplicates: maybe}\n", "is not warn or error")):
        (tmp_path / "config.yaml").write_text(text)
        with pytest.raises(ConfigFileError) as refused:
            load_settings_overrides(tmp_path / "config.yaml")
        message = str(refused.value)
        assert str(tmp_path / "config.yaml") in message and problem in message
        assert "overlap: latest_per_date" in message and "{dedup: [order_id, timestamp, side]}" in message


def test_order_types_all_or_empty_keep_every_type_and_the_page_says_all(tmp_path):
    import json

    import dagster as dg

    from orders_assets.cli.runner import run_pipeline
    from orders_assets.core.generate import generate_orders

    for written in ("all", "[]"):
        (tmp_path / "config.yaml").write_text(f"filter:\n  order_types: {written}\n  participants: all\n")
        settings = OrdersSettings(landing_dir=str(tmp_path), data_dir=str(tmp_path / "data"),
                                  **load_settings_overrides(tmp_path / "config.yaml"))
        settings.validate()
        assert settings.order_filter().order_types == () and settings.order_filter().participants == ()
        assert settings.order_filter().fingerprint != OrdersSettings(
            landing_dir=str(tmp_path), data_dir=str(tmp_path / "data")).order_filter().fingerprint
        assert settings_document(settings.model_dump(), TUNING)["filter"]["order_types"] == []
    landing = tmp_path / "landing"
    landing.mkdir()
    (tmp_path / "home").mkdir()
    generate_orders(landing / "orders.csv", rows=4_000, days=1, securities=4, seed=9)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(tmp_path / "data"),
                              **load_settings_overrides(tmp_path / "config.yaml"))
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        assert run_pipeline(settings, instance).success
    summary = json.loads((tmp_path / "data" / "reports" / "summary.json").read_text())
    assert summary["rows_filtered_out_by"]["order_type"] == 0 and summary["order_filter"]["order_types"] == []
    assert summary["rows_kept"] == summary["rows_read"] - summary["rows_rejected"] - summary["rows_filtered_out_by"]["session"]
    page = (tmp_path / "data" / "reports" / "index.html").read_text()
    assert "<th>Order types</th><td>all</td>" in page and "<th>Participants</th><td>all</td>" in page
