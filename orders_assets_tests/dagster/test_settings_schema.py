"""The launchpad documents every setting: the config schema Dagster builds from OrdersSettings
carries a description for each field, and the defaults it shows are the contract's."""
from orders_assets.core import schema
from orders_assets.resources import OrdersSettings


def launchpad_fields():
    return OrdersSettings.to_config_schema().as_field().config_type.fields


def test_every_setting_has_a_description_in_the_launchpad():
    fields = launchpad_fields()
    assert set(fields) == set(OrdersSettings.model_fields)
    undocumented = [name for name, field in fields.items() if not (field.description or "").strip()]
    assert undocumented == []


def test_the_launchpad_defaults_are_the_contracts_filter():
    fields = launchpad_fields()
    assert fields["order_types"].default_value == list(schema.DEFAULT_ORDER_TYPES)
    assert fields["session_start"].default_value == schema.DEFAULT_SESSION_START
    assert fields["session_end"].default_value == schema.DEFAULT_SESSION_END
    assert fields["landing_dir"].is_required and fields["data_dir"].is_required  # the folders must be given
