"""The --config file of `orders-assets run`: YAML, every key optional, unknown keys refused.

    filter:
      order_types: [CENTRE_POINT, CENTRE_POINT_BLOCK]
      session_start: "10:00:00"
      session_end: "16:00:00"
      participants: []          # empty: all
    timezone: Australia/Sydney
    size_edges: [10000, 50000, 200000, 1000000]
    reader:
      block_bytes: 16777216
      stage_bytes: 67108864
"""
from pathlib import Path

import yaml

SECTIONS = {
    "filter": ("order_types", "session_start", "session_end", "participants"),
    "reader": ("block_bytes", "stage_bytes"),
}
TOP_LEVEL = ("timezone", "size_edges")


class ConfigFileError(ValueError):
    pass


def load_settings_overrides(path: Path | str | None) -> dict:
    """OrdersSettings field values from a config file (empty when no file is given)."""
    if path is None:
        return {}
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigFileError(f"{path}: cannot read the config file: {error}") from error
    if not isinstance(document, dict):
        raise ConfigFileError(f"{path}: expected a mapping of settings at the top level")
    overrides = {}
    for key, value in document.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigFileError(f"{path}: '{key}' must be a mapping of {', '.join(SECTIONS[key])}")
            for field, field_value in value.items():
                if field not in SECTIONS[key]:
                    raise ConfigFileError(f"{path}: unknown setting '{key}.{field}'; known: {', '.join(SECTIONS[key])}")
                overrides[field] = field_value
        elif key in TOP_LEVEL:
            overrides[key] = value
        else:
            known = ", ".join(list(SECTIONS) + list(TOP_LEVEL))
            raise ConfigFileError(f"{path}: unknown setting '{key}'; known: {known}")
    return overrides
