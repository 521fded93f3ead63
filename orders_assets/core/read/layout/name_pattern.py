"""A layout's `file_name.pattern`, run by RE2 so that matching a file name costs time linear in its length.

The pattern is written by a layout's author and matched against names chosen by whoever drops
files into the landing folder, during a run and on every sensor tick. Python's `re` backtracks:
`(a+)+$` against a long name of a's that ends in another character takes time exponential in the
name's length, and a run or a sensor tick never ends. RE2 (google-re2) runs every pattern it accepts
in time linear in the name, so no name can make a match expensive. What it does not accept are the
constructs that need backtracking (backreferences, lookahead and lookbehind, possessive or atomic
repetition): a layout that uses one is refused when it loads, with the construct and the fix.

RE2's syntax is Python's for everything else a file-name pattern needs (named groups `(?P<name>...)`,
classes, repetition, anchors, `(?i)`), with two differences that matter only for odd names: `$`
matches at the very end only (Python's also before a final newline), and `\\d`, `\\w`, `\\b` are ASCII.
"""
from __future__ import annotations

import functools
import re

import re2

PATTERN_SYNTAX = "docs/layouts.md, 'File-name patterns'"
BACKTRACKING_FIX = ("backreferences, lookahead/lookbehind and possessive or atomic repetition need backtracking, which "
                    "can make one match take without bound: rewrite the pattern without them "
                    f"({PATTERN_SYNTAX})")
RE2_FIXES = (
    (r"\(\?P$|\(\?<?[=!]|\(\?>|escape sequence: \\[1-9]|repetition operator", BACKTRACKING_FIX),
    (r"escape sequence: \\Z", "write $ (or \\z) for the end of the name"),
    (r"repetition size", "use a count of at most 1000, or + or *"),
)
"""(a regular expression over RE2's reason, which ends with the construct it refused, `(?P` for a `(?P=name)`
reference; the fix), the first found wins."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern to stderr itself; the problem says it
    return options


def name_pattern_problem(pattern) -> str | None:
    """Why `pattern` cannot be a file_name pattern (with the fix), or None."""
    if not isinstance(pattern, str):
        return f"give a regular expression as text, not {pattern!r}"
    try:
        re.compile(pattern)  # Python's parser names the position of a plain syntax error
    except re.error as error:
        return f"not a regular expression: {error}"
    try:
        compiled_name_pattern(pattern)
    except re2.error as error:
        reason = _re2_reason(error)
        return f"{pattern!r} cannot be matched in time linear in the file name ({reason}): {_fix(reason)}"
    return None


def _fix(reason: str) -> str:
    """What to write instead of the construct RE2 refused (its reason names the construct)."""
    for construct, fix in RE2_FIXES:
        if re.search(construct, reason):
            return fix
    return f"rewrite it in the syntax RE2 runs ({PATTERN_SYNTAX})"


@functools.lru_cache(maxsize=256)
def compiled_name_pattern(pattern: str) -> re2._Regexp:
    """The RE2 program of a pattern (raises re2.error for one RE2 cannot run; see name_pattern_problem)."""
    return re2.compile(pattern, _options())


def written_groups(file_name) -> set[str]:
    """The named groups of a layout's `file_name` mapping's pattern, as written: known even when RE2
    refuses the pattern, so that the layout's one problem is said once, not again as columns that come
    from nowhere. None when the mapping has no pattern that parses (its own problem says why).
    Python's parser only compiles the pattern; it matches nothing."""
    pattern = file_name.get("pattern") if isinstance(file_name, dict) else None
    try:
        return set(re.compile(pattern).groupindex)
    except (TypeError, re.error):
        return set()


def _re2_reason(error: re2.error) -> str:
    """RE2's reason, which the binding gives as bytes."""
    reason = error.args[0] if error.args else error
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
