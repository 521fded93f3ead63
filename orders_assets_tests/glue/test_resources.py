"""The launchpad documents every setting and is shaped as the config file: the config schema Dagster
builds from OrdersSettings has the file's sections (`filter`, `machine`) with a description for each
field, and the defaults it shows are the contract's; and the settings resolved once."""
import dataclasses

import pytest

from orders_assets.glue.config_file import TOP_LEVEL, load_settings_overrides
from orders_assets.core import schema
from orders_assets.glue.resources import OrdersSettings


def launchpad_fields():
    return OrdersSettings.to_config_schema().as_field().config_type.fields


def section_fields(name: str):
    return launchpad_fields()[name].config_type.fields


def test_every_setting_has_a_description_in_the_launchpad():
    fields = launchpad_fields()
    assert set(fields) == set(OrdersSettings.model_fields)
    documented = {name: field.description for name, field in fields.items()}
    documented.update({f"{section}.{name}": field.description
                       for section in ("filter", "machine", "rejected_rows") for name, field in section_fields(section).items()})
    assert [name for name, description in documented.items() if not (description or "").strip()] == []


def test_the_launchpad_has_the_config_files_sections_and_top_level_keys():
    top_level = set(launchpad_fields()) - {"landing_dir", "data_dir"}  # given by the command line or environment
    assert top_level == {"filter", "machine", "rejected_rows", *TOP_LEVEL}  # the sections' keys are the classes' (config_file.SECTIONS)


def test_every_key_of_a_config_file_reaches_its_setting(tmp_path):
    path = tmp_path / "orders.yaml"
    path.write_text("filter: {order_types: [LIMIT], session_start: '09:00:00', session_end: '17:00:00', "
                    "participants: [P001]}\ntimezone: UTC\nquantity_decimals: 2\nreader: {stage_bytes: 4194304}\n"
                    "machine: {preset: laptop, workers: 1, block_bytes: 1048576, read_ahead: 0, memory_budget: "
                    "1073741824, max_concurrent: 1, file_pieces: 2}\n")
    settings = OrdersSettings(landing_dir=".", data_dir=".", **load_settings_overrides(path))
    assert settings.filter.model_dump() == {"order_types": ["LIMIT"], "session_start": "09:00:00",
                                            "session_end": "17:00:00", "participants": ["P001"]}
    assert settings.machine.model_dump() == {"preset": "laptop", "workers": 1, "block_bytes": 1 << 20, "read_ahead": 0,
                                             "stage_bytes": 4 << 20, "memory_budget": 1 << 30, "max_concurrent": 1,
                                             "file_pieces": 2}
    assert (settings.timezone, settings.quantity_decimals) == ("UTC", 2)


def test_the_launchpad_defaults_are_the_contracts_filter():
    fields, filter_fields = launchpad_fields(), section_fields("filter")
    assert filter_fields["order_types"].default_value == list(schema.DEFAULT_ORDER_TYPES)
    assert filter_fields["session_start"].default_value == schema.DEFAULT_SESSION_START
    assert filter_fields["session_end"].default_value == schema.DEFAULT_SESSION_END
    assert fields["timezone"].default_value == schema.DEFAULT_TIMEZONE
    assert fields["landing_dir"].is_required and fields["data_dir"].is_required  # the folders must be given


def test_settings_given_flat_as_before_the_sections_land_in_their_section():
    flat = OrdersSettings(landing_dir=".", data_dir=".", order_types=["LIMIT"], workers=1, machine={"read_ahead": 0})
    assert flat.filter.order_types == ["LIMIT"] and (flat.machine.workers, flat.machine.read_ahead) == (1, 0)
    assert flat == OrdersSettings(landing_dir=".", data_dir=".", filter={"order_types": ["LIMIT"]},
                                  machine={"workers": 1, "read_ahead": 0})


def test_the_settings_are_resolved_once_their_layouts_read_once(tmp_path, monkeypatch):
    """A step, tick or command resolves its settings once (OrdersSettings.resolved, a frozen value):
    the store, the rules, the filter, the folder's settings and the validation all use it, and the
    layout files are read once, however many of them ask."""
    from orders_assets.core.ingest import ingest_settings
    from orders_assets.core.plan.resolved_settings import ResolvedSettings

    reads = []
    real = ingest_settings.layout_choice_from
    monkeypatch.setattr(ingest_settings, "layout_choice_from", lambda rules: reads.append(rules) or real(rules))
    layouts = [{"folder": "vendor", "layout": "lobster"}]
    settings = OrdersSettings(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"), layouts=layouts,
                              size_edges=[1_000, 50_000])
    settings.validate()
    store, rules = settings.store(), settings.ingest_rules()
    assert settings.folder_settings().document["layouts"][0]["layout"] == "lobster"
    assert settings.order_filter() is rules.order_filter and store.size_edges == (1_000, 50_000)
    assert len(reads) == 1 and rules.layouts.rules[0].layout.name == "lobster"
    resolved = settings.resolved()
    assert isinstance(resolved, ResolvedSettings) and settings.resolved() is resolved
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.edges = (1,)
    # the command plans with core's Settings, then hands its runs the resource: resolved once for both
    from orders_assets.core.plan.settings import Settings

    planned = Settings(**settings.model_dump())
    planned.validate()
    resource = OrdersSettings.of(planned)
    assert resource == settings and resource.resolved() is planned.resolved() and len(reads) == 2
