"""Reading layout documents (YAML): built-in ones by name, others by path, with `extends`.

This module finds the document, reads it and merges it onto the one it extends; what the merged
document may say is checked in one place, `document.layout_from_document`, so a built-in layout,
a user's file and a child of either are held to the same rules.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import CANONICAL, CANONICAL_LAYOUT, Layout, LayoutError
from orders_assets.core.read.layout.name_pattern import written_groups
from orders_assets.core.read.layout.yaml_text import load_yaml

BUILT_IN_FOLDER = Path(__file__).resolve().parents[3] / "layouts"


def built_in_names() -> list[str]:
    return sorted([CANONICAL] + [path.stem for path in BUILT_IN_FOLDER.glob("*.yaml")])


def load_layout(reference: str, relative_to: Path | None = None) -> Layout:
    """A layout by built-in name or by path to a YAML file (relative paths from `relative_to`)."""
    if reference == CANONICAL:
        return CANONICAL_LAYOUT
    document, source = _read_document(reference, relative_to)
    return layout_from_document(document, source)


def _read_document(reference: str, relative_to: Path | None) -> tuple[dict, str]:
    built_in = BUILT_IN_FOLDER / f"{reference}.yaml"
    if "/" not in reference and not reference.endswith((".yaml", ".yml")):
        if not built_in.is_file():
            raise LayoutError(f"unknown layout '{reference}': built-in layouts are {', '.join(built_in_names())}; "
                              "or give the path of a layout file (ending in .yaml)")
        path = built_in
    else:
        path = Path(reference)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
    try:
        document = load_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise LayoutError(f"{path}: cannot read the layout: {error}") from error
    if not isinstance(document, dict):
        raise LayoutError(f"{path}: a layout is a mapping of keys such as columns, constants, time")
    base = document.get("extends")
    if base is not None:
        if not isinstance(base, str):
            raise LayoutError(f"{path}: extends: give one layout name or path")
        parent, _ = _read_document(base, path.parent)
        document = _merged(parent, document)
    return document, str(path)


def _merged(parent: dict, child: dict) -> dict:
    """The child's keys win; mappings (columns, constants, values, case, time, file_name) merge one
    level, and a key set to null (`columns: {side: null}`) removes the parent's entry.

    `column_names: null` makes a headerless parent's child read files with a header line, so it
    drops the parent's `header: false` too (unless the child sets `header` itself). Value maps and
    case rules of a column the child no longer reads from the file or its name are dropped with it.
    """
    merged = {key: value for key, value in parent.items() if key not in ("name", "description")}
    for key, value in child.items():
        if key == "extends":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            combined = {**merged[key], **value}
            merged[key] = {name: given for name, given in combined.items() if given is not None}
        else:
            merged[key] = value
    if "column_names" in child and child["column_names"] is None and "header" not in child:
        merged.pop("header", None)
    if isinstance(merged.get("columns"), dict):
        read = set(merged["columns"]) | written_groups(merged.get("file_name"))
        for key in ("values", "case"):
            if isinstance(merged.get(key), dict):
                merged[key] = {name: given for name, given in merged[key].items() if name in read}
    return merged
