"""The --config file of `orders-assets run`: YAML, every key optional, unknown keys refused.

    filter:
      order_types: [CENTRE_POINT, CENTRE_POINT_BLOCK]  # `all` or []: every order type
      session_start: "10:00:00"
      session_end: "16:00:00"
      participants: []          # empty (or `all`): every participant
    timezone: Australia/Sydney
    size_edges: [10000, 50000, 200000, 1000000]
    layouts:                    # vendor files: first matching rule wins; others use the contract's columns
      - {layout: databento_mbo, folder: cme}           # a built-in layout for a landing sub-folder
      - {layout: vendors/acme.yaml, match: "acme_*.csv"}  # a layout file (relative to this file)
    quantity_decimals: 0        # decimal places a quantity may have (0 to 8)
    output_url: s3://bucket/orders  # where partitions and reports are published (default: the data folder)
    piece_bytes: 536870912      # a big CSV or Parquet file is cut into pieces of at least this size
    overlap: union              # rows several files bring to a partition: union, latest_per_date,
                                # or {dedup: [order_id, timestamp, side]} (docs/configuration.md, "Re-sent files")
    rejected_rows:              # a file with this share of its rows rejected is named loudly
      threshold: 1%             # a fraction (0.01) or a percentage
      severity: warn            # or error: the check fails and the run exits 1
    reports:                    # reports of your own beside the contract's (core/report/declared.py)
      - {name: by_side_and_type, keys: [side, order_type], description: Orders per side and order type.}
    machine:                    # unset values are tuned from the detected machine
      preset: auto              # auto, laptop, workstation, server
      workers: 2
      block_bytes: 16777216
      read_ahead: 1
      stage_bytes: 67108864
      memory_budget: 8589934592
      max_concurrent: 2
      file_pieces: 1            # pieces of a big file at once on this machine (Dask: one per worker)

`reader: {block_bytes, stage_bytes}` is accepted too (the first versions' name). `orders-assets
profile --save FILE` writes such a file with every machine value explicit, so a run can be
reproduced exactly with `--config FILE`.
"""
from pathlib import Path

import yaml

from orders_assets.core.store.overlap_rule import duplicates_problem
from orders_assets.core.store.overlap_rule import rule_problem as overlap_problem
from orders_assets.core.errors import InputError
from orders_assets.core.read.filters import ALL
from orders_assets.core.report.declared import DeclarationError, declarations_from
from orders_assets.core.store.atomic import atomic_write_bytes
from orders_assets.core.store.settings_lease import FolderSettings
from orders_assets.core.read.layout.rules import rule_problem
from orders_assets.core.read.layout.yaml_text import load_yaml
from orders_assets.core.read.pieces import MIN_PIECE_BYTES
from orders_assets.core.plan.setting_sections import FilterSettings, MachineSettings, RejectedRowsSettings

SECTIONS = {
    "filter": tuple(FilterSettings.model_fields),
    "reader": ("block_bytes", "stage_bytes"),
    "machine": tuple(MachineSettings.model_fields),
    "rejected_rows": tuple(RejectedRowsSettings.model_fields),
}
"""Each section's keys: those of its settings class (resources.py), so the file and the launchpad
have one list; `reader` is the first versions' name for two of the machine's."""
SECTION_OF = {"reader": "machine"}
"""Sections accepted under an earlier name, and the section of OrdersSettings they fill."""
TOP_LEVEL = ("timezone", "size_edges", "layouts", "quantity_decimals", "output_url", "piece_bytes", "overlap",
             "reports")


class ConfigFileError(InputError):
    """A config file that cannot be used; the message names the file, the setting and the fix."""


def load_settings_overrides(path: Path | str | None) -> dict:
    """OrdersSettings field values from a config file (empty when no file is given), shaped as the
    settings are: {"filter": {...}, "machine": {...}, "timezone": ..., ...}."""
    if path is None:
        return {}
    path = Path(path)
    try:
        document = load_yaml(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigFileError(f"{path}: cannot read the config file: {error}") from error
    if not isinstance(document, dict):
        raise ConfigFileError(f"{path}: expected a mapping of settings at the top level")
    overrides: dict = {}
    for key, value in document.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigFileError(f"{path}: '{key}' must be a mapping of {', '.join(SECTIONS[key])}")
            for field, field_value in value.items():
                if field not in SECTIONS[key]:
                    raise ConfigFileError(f"{path}: unknown setting '{key}.{field}'; known: {', '.join(SECTIONS[key])}")
                if key == "filter" and field in ("order_types", "participants") and field_value == ALL:
                    field_value = []  # every value: an empty list of the settings
                if key == "rejected_rows":
                    field_value = str(field_value)  # 0.01 or '1%': rejected_rule.threshold_from reads both
                overrides.setdefault(SECTION_OF.get(key, key), {})[field] = field_value
        elif key == "layouts":
            overrides[key] = _layout_rules(value, path)
        elif key == "overlap":
            overrides[key] = _overlap_rule(value, path)
        elif key == "reports":
            try:
                declarations_from(value)
            except DeclarationError as problem:
                raise ConfigFileError(f"{path}: {problem}") from None
            overrides[key] = value
        elif key in TOP_LEVEL:
            overrides[key] = value
        else:
            known = ", ".join(list(SECTIONS) + list(TOP_LEVEL))
            raise ConfigFileError(f"{path}: unknown setting '{key}'; known: {known}")
    return overrides


def _layout_rules(rules, path: Path) -> list[dict]:
    """Layout rules with layout files found relative to the config file (built-in names as given)."""
    if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
        raise ConfigFileError(f"{path}: 'layouts' must be a list of {{layout: NAME_OR_FILE, folder: DIR}} or "
                              "{layout: NAME_OR_FILE, match: GLOB}")
    resolved = []
    for index, rule in enumerate(rules):
        problem = rule_problem(rule)
        if problem:
            raise ConfigFileError(f"{path}: layouts[{index}]: {problem}; each rule is {{layout: NAME_OR_FILE, "
                                  "folder: DIR}} or {{layout: NAME_OR_FILE, match: GLOB}}")
        rule = {key: str(value) for key, value in rule.items()}
        layout = rule.get("layout", "")
        if layout.endswith((".yaml", ".yml")) and not Path(layout).is_absolute():
            rule["layout"] = str((path.parent / layout).resolve())
        resolved.append(rule)
    return resolved


def _overlap_rule(value, path: Path) -> dict:
    """`overlap:` as OverlapSettings values: `union`, `latest_per_date`, `{dedup: [columns]}`, or the
    launchpad's own shape `{rule: ..., columns: [...]}`, either mapping with `duplicates: error` to
    make rows counted twice fail the check; anything else refused with the forms."""
    forms = ("overlap: union, overlap: latest_per_date, or overlap: {dedup: [order_id, timestamp, side]} "
             "(a mapping may add duplicates: error)")
    if isinstance(value, str):
        rule = {"rule": value, "columns": []}
    elif isinstance(value, dict) and "dedup" in value and set(value) <= {"dedup", "duplicates"} \
            and isinstance(value["dedup"], list):
        rule = {"rule": "dedup", "columns": [str(column) for column in value["dedup"]]}
    elif isinstance(value, dict) and set(value) <= {"rule", "columns", "duplicates"} and "rule" in value:
        rule = {"rule": str(value["rule"]), "columns": [str(column) for column in value.get("columns") or []]}
    else:
        raise ConfigFileError(f"{path}: 'overlap' is {value!r}; write {forms}")
    if isinstance(value, dict) and "duplicates" in value:
        rule["duplicates"] = str(value["duplicates"])
    problem = overlap_problem(rule["rule"], rule["columns"]) or duplicates_problem(rule.get("duplicates", "warn"))
    if problem:
        raise ConfigFileError(f"{path}: {problem}; write {forms}")
    return rule


def settings_document(settings: dict, tuning: dict) -> dict:
    """A config file's content from OrdersSettings values (model_dump) and a tuning: loads back to the same run."""
    document = {
        "filter": {name: settings["filter"][name] for name in SECTIONS["filter"]},
        "timezone": settings["timezone"],
        "size_edges": list(settings["size_edges"]),
        "layouts": [dict(rule) for rule in settings.get("layouts", [])],
        "quantity_decimals": settings.get("quantity_decimals", 0),
        "piece_bytes": settings.get("piece_bytes", MIN_PIECE_BYTES),
        "overlap": _overlap_document(settings.get("overlap") or {}),
        "rejected_rows": dict(settings.get("rejected_rows") or {}),
        "machine": {name: tuning[name] for name in SECTIONS["machine"] if name in tuning},
    }
    if settings.get("output_url"):
        document["output_url"] = settings["output_url"]
    if settings.get("reports"):
        document["reports"] = [dict(entry) for entry in settings["reports"]]
    document["filter"] = {name: list(value) if isinstance(value, tuple) else value
                          for name, value in document["filter"].items()}
    return document


def _overlap_document(overlap: dict) -> str | dict:
    """OverlapSettings values as the config file writes them (the short forms where they say it all)."""
    rule, duplicates = overlap.get("rule", "union"), overlap.get("duplicates", "warn")
    if duplicates != "warn":
        return {"rule": rule, "columns": list(overlap.get("columns", [])), "duplicates": duplicates}
    return {"dedup": list(overlap.get("columns", []))} if rule == "dedup" else rule


FOLDER_CONFIG = Path("state") / "config.yaml"
"""The settings a data folder remembers (under its data folder): the last run's, as a config file."""
SHAPING_KEYS = ("filter", "timezone", "size_edges", "layouts", "quantity_decimals", "output_url", "overlap",
                "rejected_rows", "reports")
"""The config file's keys that shape a data folder's outputs: what it remembers (not the machine's sizing)."""
REDONE = {"filter": "every file is ingested again (its kept rows depend on the filter)",
          "timezone": "every file is ingested again (trade dates and hours are taken in the zone)",
          "layouts": "the files of the changed layouts are ingested again",
          "quantity_decimals": "every file is ingested again",
          "overlap": "the partitions the rule may change are assembled again, then the reports",
          "size_edges": "by_order_size and the reports are rebuilt from the order sets (no file is read)",
          "rejected_rows": "the reports are rebuilt (no file is read)",
          "reports": "the reports are rebuilt from the order sets (no file is read)",
          "output_url": "every partition and report is published to the new place"}
"""What a change of each remembered setting makes the next run redo."""


def folder_config(data: Path) -> Path:
    return Path(data) / FOLDER_CONFIG


def settings_file(config: Path | str | None, data: Path | str | None) -> Path | None:
    """The config file the settings come from: the one named (--config, ORDERS_ASSETS_CONFIG), else
    the data folder's remembered one when it has it, else None (the contract's defaults). The
    command and the code location both ask this, so they read a folder alike."""
    if config:
        return Path(config)
    if data:
        remembered = folder_config(Path(data))
        if remembered.is_file():
            return remembered
    return None


def remember_settings(data: Path, settings: dict) -> None:
    """Record the output-shaping settings (OrdersSettings values, model_dump) as the data folder's
    config file, so a run or the UI without --config works under them; written only when they change."""
    document = {key: value for key, value in settings_document(settings, {}).items() if key in SHAPING_KEYS}
    text = "# The settings of the last run on this data folder: used by a run without --config.\n" + \
        yaml.safe_dump(document, sort_keys=False)
    path = folder_config(data)
    if not path.is_file() or path.read_text() != text:
        atomic_write_bytes(path, text.encode())


def changed_settings(ours: FolderSettings, theirs: dict) -> list[str]:
    """For each output-shaping setting that differs from the folder's record (`theirs`, a
    FolderSettings document), 'name: theirs -> ours' (a section's settings one by one, as
    FolderSettings.changes finds them), then what the run redoes for it."""
    by_setting: dict[str, list[str]] = {}
    for setting, name, recorded, mine in ours.changes(theirs):
        before, after = _shown_setting(recorded), _shown_setting(mine)
        by_setting.setdefault(setting, []).append(f"{name}: {before} -> {after}" if before != after
                                                  else f"{name}: a layout file's content changed")
    return [f"{'; '.join(changes)}: {REDONE.get(setting, 'what it shapes is rebuilt')}"
            for setting, changes in by_setting.items()]


def _shown_setting(value) -> str:
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        value = [{name: item for name, item in entry.items() if name != "fingerprint"} for entry in value]
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def save_settings(path: Path, document: dict) -> None:
    atomic_write_bytes(Path(path), yaml.safe_dump(document, sort_keys=False).encode())
