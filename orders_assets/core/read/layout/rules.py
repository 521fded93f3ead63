"""The rules that pick a layout for a landing file: by sub-folder or by file-name glob.

Apart from the layout documents because the rules come from the run's settings (the config
file, `layouts:`), not from a layout file: `rule_problem` checks one rule's keys, which the
config file also uses to name a bad entry, and `layout_choice_from` loads each rule's layout.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from orders_assets.core.read.layout.load import load_layout
from orders_assets.core.read.layout.model import LayoutChoice, LayoutError, LayoutRule

RULE_KEYS = ("layout", "folder", "match")


def rule_problem(entry) -> str | None:
    """What is wrong with one layout rule, naming the key (and the closest known one for a typo)."""
    if not isinstance(entry, dict):
        return f"{entry!r} is not a mapping"
    unknown = sorted(set(map(str, entry)) - set(RULE_KEYS))
    if unknown:
        close = {key: difflib.get_close_matches(key, RULE_KEYS, n=1) for key in unknown}
        named = ", ".join(f"'{key}'" + (f" (did you mean '{close[key][0]}'?)" if close[key] else "") for key in unknown)
        return f"unknown key {named}"
    if "layout" not in entry:
        return "no 'layout'"
    chosen = [key for key in ("folder", "match") if key in entry]
    if len(chosen) != 1:
        return "both 'folder' and 'match'" if chosen else "neither 'folder' nor 'match'"
    return None


def layout_choice_from(entries: list[dict], relative_to: Path | None = None) -> LayoutChoice:
    """Rules from settings: [{layout: NAME_OR_PATH, folder: SUB_FOLDER} or {layout: ..., match: GLOB}]."""
    rules, problems = [], []
    for index, entry in enumerate(entries or []):
        problem = rule_problem(entry)
        if problem:
            problems.append(f"layouts[{index}]: {problem}; give layout and one of folder (a landing sub-folder) or "
                            "match (a file-name glob), e.g. {layout: databento_mbo, folder: cme}")
            continue
        try:
            layout = load_layout(str(entry["layout"]), relative_to)
        except LayoutError as error:
            problems.append(f"layouts[{index}]: {error}")
            continue
        rules.append(LayoutRule(layout=layout, folder=entry.get("folder"), match=entry.get("match")))
    if problems:
        raise LayoutError("\n".join(problems))
    return LayoutChoice(tuple(rules))
