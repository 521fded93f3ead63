"""Where rows begin and end in CSV bytes, by the same grammar Arrow and Python's csv module read.

A quote opens a quoted section only at the start of a field (first byte of the data, or after a
comma or a line feed outside quotes); inside, a doubled quote is a literal quote and a single one
closes the section; every other quote (`BH"P`, `"ab"c"d`) is a literal character. A line feed
ends a row unless it is inside a quoted section. Counting quotes (even = outside) agrees with this
grammar only while every quote is where a quote may open or close, so the count is used when a
vectorised check shows that, and a scan over the quote positions (linear, never over every byte in
Python) decides otherwise. Both are linear in the bytes, whatever the quoting.

Lines are physical: a line ends at LF (an LF after CR included); a lone CR is data, not a line end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUOTE, COMMA, LF, CR = ord('"'), ord(","), ord("\n"), ord("\r")


@dataclass(frozen=True)
class QuotedSections:
    """The (open, close) byte positions of the quoted sections; close is len(data) if unterminated."""

    opens: np.ndarray
    closes: np.ndarray
    size: int

    @property
    def unterminated(self) -> bool:
        return bool(self.closes.size) and int(self.closes[-1]) >= self.size

    def inside(self, positions: np.ndarray) -> np.ndarray:
        """Whether each byte position lies strictly inside a quoted section."""
        if self.opens.size == 0:
            return np.zeros(len(positions), dtype=bool)
        section = np.searchsorted(self.opens, positions, side="right") - 1
        held = section >= 0
        inside = np.zeros(len(positions), dtype=bool)
        inside[held] = positions[held] < self.closes[section[held]]
        return inside


@dataclass(frozen=True)
class RowSpans:
    """The non-blank rows of a block (Arrow and csv skip blank ones): byte ranges and first lines."""

    starts: np.ndarray
    """Byte offset of each row's first byte."""
    stops: np.ndarray
    """Byte offset just past its content (its LF excluded)."""
    lines: np.ndarray
    """Physical line number of each row's first byte."""

    def __len__(self) -> int:
        return len(self.starts)

    def raw(self, data: bytes, index: int) -> bytes:
        """A row's bytes without its line end (a CR before the LF dropped)."""
        row = data[int(self.starts[index]):int(self.stops[index])]
        return row[:-1] if row.endswith(b"\r") else row


def quoted_sections(data: bytes) -> QuotedSections:
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(raw == QUOTE)
    if quotes.size == 0:
        return QuotedSections(quotes, quotes, len(data))
    at_field_start = _at_field_start(raw, quotes)
    if _counting_holds(raw, quotes, at_field_start):
        opens, closes = quotes[0::2], quotes[1::2]
        if closes.size < opens.size:
            closes = np.append(closes, len(data))
        return QuotedSections(opens, closes, len(data))
    return _scanned(quotes, at_field_start, len(data))


def _at_field_start(raw: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    previous = raw[np.maximum(quotes - 1, 0)]
    return (quotes == 0) | (previous == COMMA) | (previous == LF)


def _counting_holds(raw: np.ndarray, quotes: np.ndarray, at_field_start: np.ndarray) -> bool:
    """True when taking quotes alternately as openers and closers gives the grammar's sections:
    every opener is at a field start or right after a closer (a doubled quote), and every closer
    ends the field or the data, or is followed by an opener (a doubled quote)."""
    opener_ok = at_field_start[0::2] | (raw[np.maximum(quotes[0::2] - 1, 0)] == QUOTE) & (quotes[0::2] > 0)
    closers = quotes[1::2]
    following = raw[np.minimum(closers + 1, len(raw) - 1)]
    closer_ok = ((closers + 1 == len(raw)) | (following == COMMA) | (following == LF) | (following == CR)
                 | (following == QUOTE))
    return bool(opener_ok.all() and closer_ok.all())


def _scanned(quotes: np.ndarray, at_field_start: np.ndarray, size: int) -> QuotedSections:
    """The grammar applied quote by quote: a quote outside a section opens one only at a field start."""
    positions = quotes.tolist()
    starts = at_field_start.tolist()
    opens: list[int] = []
    closes: list[int] = []
    index, count = 0, len(positions)
    while index < count:
        if not starts[index]:
            index += 1  # a literal quote in an unquoted field
            continue
        opens.append(positions[index])
        index += 1
        while index + 1 < count and positions[index + 1] == positions[index] + 1:
            index += 2  # a doubled quote inside the section
        closes.append(positions[index] if index < count else size)
        index += 1  # quotes after the close, before the field ends, are literal: skipped above
    return QuotedSections(np.asarray(opens, dtype=np.int64), np.asarray(closes, dtype=np.int64), size)


def last_row_end(data: bytes) -> int:
    """Position just after the last LF that ends a row (0 if none): where a block may be cut."""
    end = data.rfind(b"\n")
    if end < 0 or b'"' not in data:
        return end + 1
    sections = quoted_sections(data)
    while end >= 0:
        section = int(np.searchsorted(sections.opens, end, side="right")) - 1
        if section < 0 or end > sections.closes[section]:
            return end + 1
        end = data.rfind(b"\n", 0, int(sections.opens[section]))
    return 0


def row_spans(data: bytes, first_line: int) -> RowSpans:
    """Every non-blank row of `data` (which starts at a row start), with its first physical line."""
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == LF)
    if data and b'"' not in data:  # no quoted newline: a row a line unless a line is blank
        starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
        stops = np.append(newlines, len(data)).astype(np.int64)
        if data.endswith(b"\n"):  # no line after the last LF
            starts, stops = starts[:-1], stops[:-1]
        if not _has_blank_line(raw, starts, stops):
            return RowSpans(starts=starts, stops=stops, lines=first_line + np.arange(len(starts), dtype=np.int64))
    ends = newlines[~quoted_sections(data).inside(newlines)] if b'"' in data else newlines
    starts = np.concatenate(([0], ends + 1)).astype(np.int64)
    stops = np.concatenate((ends, [len(data)])).astype(np.int64)
    lengths = stops - starts
    ends_with_cr = np.zeros(len(starts), dtype=bool)
    filled = lengths > 0
    ends_with_cr[filled] = raw[stops[filled] - 1] == CR
    keep = (lengths - ends_with_cr) > 0
    starts, stops = starts[keep], stops[keep]
    lines = first_line + np.searchsorted(newlines, starts).astype(np.int64)
    return RowSpans(starts=starts, stops=stops, lines=lines)


def _has_blank_line(raw: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> bool:
    """A line (starts, stops: its LF excluded) with nothing in it, or only a CR: both readers skip it."""
    lengths = stops - starts
    one = starts[lengths == 1]
    return bool((lengths == 0).any()) or bool((raw[one] == CR).any())


def has_lone_cr(data: bytes) -> bool:
    """A CR that is not part of a CR LF line end (a trailing CR at the very end counts as a line end)."""
    if b"\r" not in data:
        return False
    trailing = 1 if data.endswith(b"\r") else 0
    return data.count(b"\r") - trailing != data.count(b"\r\n")
