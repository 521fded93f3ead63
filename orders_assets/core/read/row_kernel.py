"""The compiled single pass over a block of CSV bytes in the contract's own layout: row boundaries,
physical lines, fields, every rule of contract section 2, and the filter's order types and session,
in one loop over the bytes (Numba: compiled to machine code at the first call, cached between
processes; it releases the GIL, so the ingest's worker threads run it side by side).

It judges exactly what it can and says so row by row; a row it cannot judge exactly is DEFERRED to
the exact path (parse.py), which reads it as it reads every file of a vendor layout:
- a quote anywhere but around a whole field, a doubled quote, a line end inside quotes;
- a lone CR (only CR LF or LF end a line);
- bytes that are not UTF-8 (the exact path decodes such a row as Latin-1);
- a timestamp with an offset or a zone, in year 1 or 9999, or outside the years whose DST gaps
  are known (`gaps`: the zone's nonexistent wall times, 1900-2199).
Everything else is decided here, by the same grammars as the exact path, in the same order of rules
(`REASONS`), and a differential test holds the two to identical kept rows, quarantine and counts.

`scan_rows.py_func` is the plain-Python reference of the same loop (Numba's own), run by the tests.
"""
from __future__ import annotations

import llvmlite.ir
import numba
import numba.extending
import numpy as np

KEPT, FILTERED_TYPE, FILTERED_SESSION, REJECTED, DEFERRED, BLANK = 0, 1, 2, 3, 4, 5
"""A row's verdict (BLANK: a line with nothing, or a CR alone, which is no row)."""
LAST_VALID = FILTERED_SESSION
"""The verdicts up to this one are valid rows, kept or filtered out (the market's totals count them)."""

EXTRA, ORDER_ID, TIMESTAMP, SECURITY, PARTICIPANT, SIDE, ORDER_TYPE, PRICE, QUANTITY = range(9)
"""Each column's role, by the header (EXTRA: a pass-through column)."""

FIELD_COUNT = 0
REASONS = ("", "order_id: missing", "security_code: missing", "participant_id: missing", "side: missing",
           "order_type: missing", "timestamp: missing", "timestamp: not an ISO-8601 date-time that exists in {zone}",
           "price: missing", "price: not a decimal number with at most 14 digits before the point and 4 after",
           "price: negative", "quantity: missing", "quantity: not a whole number", "quantity: not greater than 0",
           "side: not B or S")
"""The rejections in the exact path's order (validate.validate); code 0 is the field count's own message."""
(R_ORDER_ID, R_SECURITY, R_PARTICIPANT, R_SIDE_MISSING, R_ORDER_TYPE, R_TS_MISSING, R_TS_BAD, R_PRICE_MISSING,
 R_PRICE_BAD, R_PRICE_NEGATIVE, R_QUANTITY_MISSING, R_QUANTITY_BAD, R_QUANTITY_NOT_POSITIVE, R_SIDE_BAD) = range(1, 15)

NOT_A_FILTER_TYPE, ANY_TYPE = -1, -2
"""An order type's place in the filter (else its index among the filter's types)."""
SEEN_TYPES = 64
"""Order types outside the filter a block names at most."""
SAMPLED_TYPE_ROWS = 1024
"""Rows outside the filter's order types whose type a block names (other_types)."""


QUOTE, COMMA, LF, CR = 34, 44, 10, 13
MICROS_PER_DAY = 86_400_000_000
POWERS_OF_TEN = np.array([10 ** power for power in range(19)], dtype=np.int64)
FIRST_YEAR, LAST_YEAR = 1900, 2199
"""The years whose DST gaps `gaps` holds: a timestamp outside them is deferred."""


@numba.njit(cache=True, nogil=True)
def count_lines(data):
    """Line feeds in the block, plus one: an upper bound of its rows."""
    count = 1
    for index in range(data.size):
        if data[index] == LF:
            count += 1
    return count


@numba.njit(cache=True, nogil=True, inline="always")
def _utf8_valid(data, start, stop):
    """The bytes [start, stop) are UTF-8 (no overlong form, surrogate or code point past U+10FFFF)."""
    index = start
    while index < stop:
        byte = data[index]
        if byte < 0x80:
            index += 1
            continue
        if 0xC2 <= byte <= 0xDF:
            need, low, high = 1, 0x80, 0xBF
        elif byte == 0xE0:
            need, low, high = 2, 0xA0, 0xBF
        elif 0xE1 <= byte <= 0xEC or 0xEE <= byte <= 0xEF:
            need, low, high = 2, 0x80, 0xBF
        elif byte == 0xED:
            need, low, high = 2, 0x80, 0x9F
        elif byte == 0xF0:
            need, low, high = 3, 0x90, 0xBF
        elif 0xF1 <= byte <= 0xF3:
            need, low, high = 3, 0x80, 0xBF
        elif byte == 0xF4:
            need, low, high = 3, 0x80, 0x8F
        else:
            return False
        if index + need >= stop:
            return False
        second = data[index + 1]
        if second < low or second > high:
            return False
        for offset in range(2, need + 1):
            follow = data[index + offset]
            if follow < 0x80 or follow > 0xBF:
                return False
        index += need + 1
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _digits(data, start, count):
    """The number written by `count` ASCII digits at start, or -1 if one is not a digit."""
    value = 0
    for index in range(start, start + count):
        digit = data[index] - 48
        if digit < 0 or digit > 9:
            return -1
        value = value * 10 + digit
    return value


@numba.njit(cache=True, nogil=True, inline="always")
def _days_from_civil(year, month, day):
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


@numba.njit(cache=True, nogil=True, inline="always")
def _date_day(data, start):
    """(verdict, days since 1970) of the date YYYY-MM-DD at start: verdict 0 a date, -1 none
    (rejected), -2 in a year outside FIRST_YEAR..LAST_YEAR (deferred: instants near years 1 and
    9999, gaps not tabled). Days before 1970 are negative, hence the verdict apart."""
    if data[start + 4] != 45 or data[start + 7] != 45:
        return -1, 0
    year, month, day = _digits(data, start, 4), _digits(data, start + 5, 2), _digits(data, start + 8, 2)
    if year < 1 or month < 1 or month > 12 or day < 1:
        return -1, 0
    leap = (year % 4 == 0) and (year % 100 != 0 or year % 400 == 0)
    month_days = 31
    if month == 2:
        month_days = 29 if leap else 28
    elif month == 4 or month == 6 or month == 9 or month == 11:
        month_days = 30
    if day > month_days:
        return -1, 0
    if year < FIRST_YEAR or year > LAST_YEAR:
        return -2, 0
    return 0, _days_from_civil(year, month, day)


@numba.njit(cache=True, nogil=True, inline="always")
def _time_of_day(data, start, stop):
    """Microseconds since midnight of the [ T]HH:MM:SS(.f{1,9})? after a date at start, the value
    ending at stop: -1 invalid (rejected), -2 an offset or another suffix (deferred). 7-9 fractional
    digits truncate to microseconds, as the exact path's parser does."""
    length = stop - start
    if length < 19:
        return -1
    fraction_digits = 0
    if length > 19:
        if data[start + 19] != 46:  # '.'
            return -2
        for index in range(start + 20, stop):
            byte = data[index]
            if byte < 48 or byte > 57:
                break
            fraction_digits += 1
        if fraction_digits == 0 or fraction_digits > 9:
            return -1
        if 20 + fraction_digits != length:
            return -2
    separator = data[start + 10]
    if (separator != 32 and separator != 84) or data[start + 13] != 58 or data[start + 16] != 58:
        return -1
    hour, minute, second = _digits(data, start + 11, 2), _digits(data, start + 14, 2), _digits(data, start + 17, 2)
    if hour < 0 or minute < 0 or second < 0 or hour > 23 or minute > 59 or second > 59:
        return -1
    micros = 0
    for index in range(start + 20, start + 20 + min(fraction_digits, 6)):
        micros = micros * 10 + data[index] - 48
    for _ in range(min(fraction_digits, 6), 6):
        micros *= 10
    return ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros


@numba.njit(cache=True, nogil=True, inline="always")
def _wall_micros(data, start, stop, dates, gaps):
    """(verdict, wall time in microseconds since 1970) of a naive timestamp, verdict 0 valid, -1
    invalid (rejected, a wall time in a DST gap among them), -2 not judged here (deferred).
    YYYY-MM-DD[ T]HH:MM:SS(.f{1,9})?; a wall time before 1970 is negative, hence the verdict apart.

    `dates` caches the last date seen ([its byte offset, its day, the day's gap start and end, -1
    when none]): the rows of a block mostly share their date, so its digits are compared, not parsed,
    and the gaps searched once a day."""
    if stop - start < 19:
        return -1, 0
    cached = dates[0]
    same = cached >= 0
    if same:
        for offset in range(10):
            if data[start + offset] != data[cached + offset]:
                same = False
                break
    if not same:
        verdict, day = _date_day(data, start)
        if verdict < 0:
            return verdict, 0
        gap = _gap_of_day(day, gaps)
        dates[0], dates[1] = start, day
        dates[2], dates[3] = (gaps[gap, 0], gaps[gap, 1]) if gap >= 0 else (-1, -1)
    time_of_day = _time_of_day(data, start, stop)
    if time_of_day < 0:
        return time_of_day, 0
    wall = dates[1] * MICROS_PER_DAY + time_of_day
    if dates[2] <= wall < dates[3]:
        return -1, 0
    return 0, wall


@numba.njit(cache=True, nogil=True, inline="always")
def _gap_of_day(day, gaps):
    """The index of the zone's gap that falls on this day (one at most: gaps are months apart), or -1."""
    low, high = 0, gaps.shape[0]
    day_start = day * MICROS_PER_DAY
    while low < high:
        middle = (low + high) // 2
        if gaps[middle, 1] <= day_start:
            low = middle + 1
        else:
            high = middle
    if low < gaps.shape[0] and gaps[low, 0] < day_start + MICROS_PER_DAY:
        return low
    return -1


@numba.njit(cache=True, nogil=True, inline="always")
def _price(data, start, stop):
    """(unscaled price x 10^4, verdict): verdict 0 valid, 1 not the grammar, 2 negative.
    -?[0-9]{1,14}(\\.[0-9]{1,4})?; a negative zero (-0.00) is zero. One pass over the digits."""
    first = start + 1 if start < stop and data[start] == 45 else start
    value, dot = 0, -1
    for index in range(first, stop):
        digit = data[index] - 48
        if 0 <= digit <= 9:
            value = value * 10 + digit
        elif digit == -2 and dot < 0:  # '.'
            dot = index
        else:
            return 0, 1
    whole_digits = (dot if dot >= 0 else stop) - first
    fraction_digits = stop - dot - 1 if dot >= 0 else 0
    if whole_digits < 1 or whole_digits > 14 or (dot >= 0 and (fraction_digits < 1 or fraction_digits > 4)):
        return 0, 1
    unscaled = value * POWERS_OF_TEN[4 - fraction_digits]
    if first != start and unscaled != 0:
        return 0, 2
    return unscaled, 0


@numba.njit(cache=True, nogil=True, inline="always")
def _quantity(data, start, stop):
    """(quantity, verdict): verdict 0 valid, 1 not a whole number. \\+?0*[0-9]{1,18}."""
    index = start
    if index < stop and data[index] == 43:
        index += 1
    if index >= stop:
        return 0, 1
    while index < stop - 1 and data[index] == 48:
        index += 1
    if stop - index > 18:
        return 0, 1
    value = 0
    while index < stop:
        digit = data[index] - 48
        if digit < 0 or digit > 9:
            return 0, 1
        value = value * 10 + digit
        index += 1
    return value, 0


@numba.njit(cache=True, nogil=True, inline="always")
def equal_bytes(data, start, stop, pattern, pattern_start, pattern_stop):
    if stop - start != pattern_stop - pattern_start:
        return False
    for offset in range(stop - start):
        if data[start + offset] != pattern[pattern_start + offset]:
            return False
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _filter_type(data, start, stop, types, type_offsets):
    """Which of the filter's order types the field is (its index), NOT_A_FILTER_TYPE, or ANY_TYPE
    when the filter names none (every type is kept)."""
    if type_offsets.size == 1:
        return ANY_TYPE
    for kind in range(type_offsets.size - 1):
        if equal_bytes(data, start, stop, types, type_offsets[kind], type_offsets[kind + 1]):
            return kind
    return NOT_A_FILTER_TYPE


@numba.njit(cache=True, nogil=True)
def other_types(data, verdicts, rows, type_starts, type_stops, sampled, seen_starts, seen_stops, seen_rows):
    """The order types of the first `sampled` rows the filter's types left out (FILTERED_TYPE; their
    fields at type_starts, type_stops): each distinct type's first field in `data` and its rows in
    the sample, at most seen_starts.size types. Returns how many. A sample: the names a message
    lists beside a filter value that matches nothing, most frequent first; counting every such row
    cost the scan a tenth of its speed, and the filter's own types are counted exactly in the scan."""
    used, examined = 0, 0
    for row in range(rows):
        if verdicts[row] != FILTERED_TYPE:
            continue
        start, stop = type_starts[row], type_stops[row]
        known = False
        for slot in range(used):
            if equal_bytes(data, start, stop, data, seen_starts[slot], seen_stops[slot]):
                seen_rows[slot] += 1
                known = True
                break
        if not known and used < seen_starts.size:
            seen_starts[used], seen_stops[used], seen_rows[used] = start, stop, 1
            used += 1
        examined += 1
        if examined == sampled:
            break
    return used


@numba.njit(cache=True, nogil=True, inline="always")
def _columns_of_roles(roles):
    """For each role, the column that holds it."""
    column = np.zeros(9, dtype=np.int64)
    for index in range(roles.size):
        if roles[index] != EXTRA:
            column[roles[index]] = index
    return column


ONE = np.uint64(1)
LOW_SEVEN = np.uint64(0x7F7F7F7F7F7F7F7F)
HIGH_BITS = np.uint64(0x8080808080808080)
FROM_45 = np.uint64((0x80 - 45) * 0x0101010101010101)
"""Added to a word's low seven bits, sets bit 7 of each byte of 45 or more (no carry crosses a byte)."""
PADDING = 0x41
"""A byte that needs no attention, in place of those outside the block in its first and last word."""


def aligned_words(data: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], int]:
    """`data` as 8-byte words for the kernel, and the offset in data of the second: the words that
    lie wholly inside data at addresses a multiple of 8 (a view, no copy), between the word of the
    bytes before them and the word of the bytes after them (copied, PADDING outside data).
    Little-endian words: a word's lowest bits are its first byte (compiled_block reads a file by
    the exact path on a big-endian machine)."""
    head = min(-data.ctypes.data % 8, data.size)
    middle = (data.size - head) // 8
    tail = head + middle * 8
    first = np.full(8, PADDING, dtype=np.uint8)
    first[8 - head:] = data[:head]
    last = np.full(8, PADDING, dtype=np.uint8)
    last[:data.size - tail] = data[tail:]
    edges = np.concatenate((first, last)).view(np.uint64)
    return (data[head:tail].view(np.uint64), edges), head


@numba.njit(cache=True, nogil=True, inline="always")
def _special_bytes(middle, first_word, last_word, head, base):
    """Bit 7 set for each byte of the word at `base` that needs attention: below 45 (a comma, a
    quote, CR, LF, and the space and other punctuation that the loop passes over) or above 127."""
    index = (base - head) >> 3
    if index < 0:
        word = first_word
    elif index < middle.size:
        word = middle[index]
    else:
        word = last_word
    return (~((word & LOW_SEVEN) + FROM_45) | word) & HIGH_BITS


@numba.njit(cache=True, nogil=True, inline="always")
def _resume(middle, first_word, last_word, head, position):
    """(base, mask) to visit the special bytes from `position` on."""
    base = position - (position - head) % 8
    mask = _special_bytes(middle, first_word, last_word, head, base)
    below = np.uint64(8 * (position - base))
    return base, mask & ~((ONE << below) - ONE)


@numba.extending.intrinsic
def _trailing_zeros(typing_context, word):
    """LLVM's cttz: the index of a word's lowest set bit (one instruction)."""
    def build(context, builder, signature, arguments):
        return builder.cttz(arguments[0], llvmlite.ir.Constant(llvmlite.ir.IntType(1), 0))
    return numba.types.uint64(numba.types.uint64), build


def _lowest_byte(mask):
    """The byte, within its word, of a mask's lowest set bit (plain Python; compiled: cttz)."""
    mask = int(mask)
    return ((mask & -mask).bit_length() - 1) >> 3


@numba.extending.overload(_lowest_byte, inline="always")
def _lowest_byte_compiled(mask):
    def lowest_byte(mask):
        return np.int64(_trailing_zeros(mask) >> np.uint64(3))
    return lowest_byte


@numba.njit(cache=True, nogil=True)
def scan_rows(data, words, head, first_line, roles, gaps, types, type_offsets, session_start, session_end,
              verdicts, reasons, lines, row_starts, row_stops, found_fields,
              kept_starts, kept_stops, kept_walls, kept_prices, kept_quantities,
              type_starts, type_stops, filter_type_rows,
              valid_walls, valid_prices, valid_quantities, security_starts, security_stops):
    """Every row of `data` (whole rows, the first at byte 0, on physical line `first_line`): its
    verdict, reason (REJECTED: an index of REASONS; field counts in found_fields), first line and
    bytes (its line end excluded); the kept rows' fields, wall times, prices x 10^4 and quantities
    in order; the order type's field of each row the filter's types leave out (other_types names
    them), and the valid rows of each of the filter's types (filter_type_rows, zeroed by
    the caller); for every valid row (kept or filtered out), at its row's index, its wall time,
    price, quantity and security and order type fields (the market's totals, core/read/market.py).
    Returns (rows, kept). Output arrays hold count_lines(data) rows; `words` and `head`
    are data's aligned words (aligned_words).

    The bytes are read eight at a time: one word's separators, line ends, quotes and non-ASCII
    bytes found by a few integer operations, then visited one by one by their bit (the bytes
    between them never branch)."""
    columns = roles.size
    column_of_role = _columns_of_roles(roles)
    at_id, at_time, at_security = column_of_role[ORDER_ID], column_of_role[TIMESTAMP], column_of_role[SECURITY]
    at_participant, at_side, at_type = column_of_role[PARTICIPANT], column_of_role[SIDE], column_of_role[ORDER_TYPE]
    at_price, at_quantity = column_of_role[PRICE], column_of_role[QUANTITY]
    dates = np.full(4, -1, dtype=np.int64)
    starts = np.zeros(columns, dtype=np.int64)
    stops = np.zeros(columns, dtype=np.int64)
    size = data.size
    middle, edges = words
    first_word, last_word = edges[0], edges[1]
    base = head - 8
    mask = _special_bytes(middle, first_word, last_word, head, base)
    position, line, rows, kept = 0, first_line, 0, 0
    while position < size:
        row_start, row_line = position, line
        field, field_start, deferred, wide = 0, position, False, False
        quoted_stop = -1
        while True:
            while mask == 0:
                base += 8
                if base >= size:
                    break
                mask = _special_bytes(middle, first_word, last_word, head, base)
            if mask == 0:
                row_stop, next_position = size, size
                break
            index = base + _lowest_byte(mask)
            mask &= mask - ONE
            byte = data[np.uint64(index)]  # an unsigned index: no wraparound test
            if byte == COMMA:
                if field < columns:
                    starts[field] = field_start if quoted_stop < 0 else field_start + 1
                    stops[field] = index if quoted_stop < 0 else quoted_stop
                field += 1
                field_start, quoted_stop = index + 1, -1
            elif byte == LF:
                row_stop, next_position = index, index + 1
                line += 1
                break
            elif byte == CR:
                if index + 1 < size and data[index + 1] == LF:
                    row_stop, next_position = index, index + 2
                    line += 1
                    base, mask = _resume(middle, first_word, last_word, head, index + 2)
                    break
                if index + 1 == size:
                    row_stop, next_position = index, size
                    break
                deferred = True  # a lone CR: the exact path quarantines its row alone
            elif byte == QUOTE:
                if index == field_start:  # a quoted field: simple only if it closes right before a separator
                    close = index + 1
                    while close < size and data[close] != QUOTE and data[close] != LF and data[close] != CR:
                        close += 1
                    following = data[close + 1] if close + 1 < size else LF
                    if close < size and data[close] == QUOTE and (following == COMMA or following == LF
                                                                  or following == CR):
                        quoted_stop = close
                        base, mask = _resume(middle, first_word, last_word, head, close + 1)
                    else:
                        deferred = True
                        index = _skip_quoted(data, index)  # the row's end by the grammar's quoting
                        if index >= size:
                            row_stop, next_position = size, size
                            break
                        line += _line_feeds(data, field_start, index)
                        base, mask = _resume(middle, first_word, last_word, head, index)
                else:
                    deferred = True  # a literal quote inside an unquoted field
            elif byte >= 0x80:
                wide = True
        if field < columns:
            starts[field] = field_start if quoted_stop < 0 else field_start + 1
            stops[field] = row_stop if quoted_stop < 0 else quoted_stop
        field += 1
        position = next_position
        if row_stop == row_start and not deferred:
            continue  # a blank line, or a CR alone: no row
        lines[rows], row_starts[rows], row_stops[rows] = row_line, row_start, row_stop
        if deferred or (wide and not _utf8_valid(data, row_start, row_stop)):
            verdicts[rows] = DEFERRED
        elif field != columns:
            verdicts[rows], reasons[rows], found_fields[rows] = REJECTED, FIELD_COUNT, field
        else:
            verdict, reason, wall, price, quantity = REJECTED, 0, 0, 0, 0
            if stops[at_id] == starts[at_id]:
                reason = R_ORDER_ID
            elif stops[at_security] == starts[at_security]:
                reason = R_SECURITY
            elif stops[at_participant] == starts[at_participant]:
                reason = R_PARTICIPANT
            elif stops[at_side] == starts[at_side]:
                reason = R_SIDE_MISSING
            elif stops[at_type] == starts[at_type]:
                reason = R_ORDER_TYPE
            elif stops[at_time] == starts[at_time]:
                reason = R_TS_MISSING
            else:
                wall_verdict, wall = _wall_micros(data, starts[at_time], stops[at_time], dates, gaps)
                if wall_verdict == -2:
                    verdict = DEFERRED
                elif wall_verdict == -1:
                    reason = R_TS_BAD
                elif stops[at_price] == starts[at_price]:
                    reason = R_PRICE_MISSING
                else:
                    price, price_verdict = _price(data, starts[at_price], stops[at_price])
                    if price_verdict == 1:
                        reason = R_PRICE_BAD
                    elif price_verdict == 2:
                        reason = R_PRICE_NEGATIVE
                    elif stops[at_quantity] == starts[at_quantity]:
                        reason = R_QUANTITY_MISSING
                    else:
                        quantity, quantity_verdict = _quantity(data, starts[at_quantity], stops[at_quantity])
                        if quantity_verdict != 0:
                            reason = R_QUANTITY_BAD
                        elif quantity <= 0:
                            reason = R_QUANTITY_NOT_POSITIVE
                        elif stops[at_side] - starts[at_side] != 1 or (data[starts[at_side]] != 66
                                                                        and data[starts[at_side]] != 83):
                            reason = R_SIDE_BAD
                        else:
                            kind = _filter_type(data, starts[at_type], stops[at_type], types, type_offsets)
                            if kind == NOT_A_FILTER_TYPE:
                                verdict = FILTERED_TYPE
                                type_starts[rows], type_stops[rows] = starts[at_type], stops[at_type]
                            else:
                                if kind >= 0:
                                    filter_type_rows[kind] += 1
                                time_of_day = wall % MICROS_PER_DAY
                                if time_of_day < session_start or time_of_day >= session_end:
                                    verdict = FILTERED_SESSION
                                else:
                                    verdict = KEPT
            verdicts[rows], reasons[rows] = verdict, reason
            if verdict <= LAST_VALID:
                valid_walls[rows], valid_prices[rows], valid_quantities[rows] = wall, price, quantity
                security_starts[rows], security_stops[rows] = starts[at_security], stops[at_security]
                type_starts[rows], type_stops[rows] = starts[at_type], stops[at_type]
            if verdict == KEPT:
                for column in range(columns):
                    kept_starts[column, kept], kept_stops[column, kept] = starts[column], stops[column]
                kept_walls[kept], kept_prices[kept], kept_quantities[kept] = wall, price, quantity
                kept += 1
        rows += 1
    return rows, kept


@numba.njit(cache=True, nogil=True, inline="always")
def _skip_quoted(data, index):
    """From a quote that opens a field, the position just past the field's closing quote and the
    literal characters after it up to the field's end (a comma or a line end outside quotes), by
    the grammar csv_rows.py states; len(data) when it never closes."""
    size = data.size
    index += 1
    while index < size:
        if data[index] == QUOTE:
            if index + 1 < size and data[index + 1] == QUOTE:
                index += 2
                continue
            index += 1
            while index < size and data[index] != COMMA and data[index] != LF and data[index] != CR:
                index += 1
            return index
        index += 1
    return size


@numba.njit(cache=True, nogil=True, inline="always")
def _line_feeds(data, start, stop):
    count = 0
    for index in range(start, stop):
        if data[index] == LF:
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def gather_text(data, starts, stops, count):
    """The fields [starts[i], stops[i]) of the first `count` rows as an Arrow string column's
    offsets (int32) and bytes."""
    offsets = np.zeros(count + 1, dtype=np.int32)
    total = 0
    for row in range(count):
        total += stops[row] - starts[row]
        offsets[row + 1] = total
    values = np.empty(total, dtype=np.uint8)
    at = 0
    for row in range(count):
        for index in range(starts[row], stops[row]):
            values[at] = data[index]
            at += 1
    return offsets, values
