"""Markdown for Dagster's UI holding values of the data (security codes, participants, file names,
reasons): each value shows as its own text, never as markup.

Dagster renders `MetadataValue.md` as GitHub-flavoured markdown (tables, autolinks). A value holds
whatever the data holds: a `|` would end its table cell and shift every figure of its row one
column, `[x](http://evil)` or `www.evil.com` would be a link, `**b**` emphasis, `# x` a heading,
`<script>` HTML, and a newline would end the table. CommonMark makes any ASCII punctuation
character literal after a backslash (GFM reads `\\|` as a pipe inside a cell, too), so every one
is escaped, which also breaks every autolink, except a `,` `.` `-` or `:` between two digits,
which no markup can begin (figures and dates stay as they read, and a table stays under the
1,000 characters the UI shows inline); a control character, which would end the line or vanish,
is shown as its Unicode control picture (a newline as U+240A); a space at either end, which a
table cell or a list item would drop, is written as a character reference.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

ASCII_PUNCTUATION = re.compile(r"(?!(?<=\d)[,.:-](?=\d))[!-/:-@\[-`{-~]")
"""Every ASCII punctuation character but a separator inside a number (1,234.50, 2025-03-03, 10:00)."""
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")
EDGE_SPACE = re.compile("^ | $")
CONTROL_PICTURES = 0x2400
"""U+2400 + the code of a C0 control character is its picture (U+240A for a newline)."""
DELETE_PICTURE = "\u2421"


def markdown_text(value) -> str:
    """A value as markdown that renders as its own text (None as nothing), control characters as
    their pictures."""
    text = ASCII_PUNCTUATION.sub(r"\\\g<0>", "" if value is None else str(value))
    text = CONTROL_CHARACTERS.sub(_control_picture, text)
    return EDGE_SPACE.sub("&#32;", text)


def _control_picture(match: re.Match) -> str:
    code = ord(match.group())
    return DELETE_PICTURE if code == 0x7F else chr(CONTROL_PICTURES + code)


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence], right_aligned: Iterable[str] = ()) -> str:
    """A markdown table whose every cell (header too) is markdown_text of its value; the columns
    named in `right_aligned` (figures) are aligned right."""
    right = set(right_aligned)
    lines = [_row(columns), "|" + "".join("---:|" if name in right else "---|" for name in columns)]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(values: Sequence) -> str:
    return "| " + " | ".join(markdown_text(value) for value in values) + " |"
