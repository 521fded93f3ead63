"""The market's totals of one block's valid rows, compiled: rows grouped by (day, security, order
type) in an open-addressing hash table, their quantities and exact values summed in integer words.

Arrow's decimal multiply, decimal256 casts and group-by cost about half the ingest's time per block
(docs/performance.md, "Issue 46"); here a row costs a hash of its two short fields, a probe and a few
integer operations. Exact: a price x 10^4 and a quantity are below 2^60 each (the kernel's checks),
so a product is below 2^120 and is taken as two 64-bit words; a group's values are summed in three
words (2^192) and its quantities in two, whatever the number of rows, then turned into Python
integers for the block's small table. `group_rows.py_func` is the plain-Python reference the tests
run beside it.
"""
from __future__ import annotations

import numba
import numpy as np

from orders_assets.core.read.row_kernel import MICROS_PER_DAY, equal_bytes

FULL = -1
"""group_rows' answer when the table is too small for the block's groups: the caller doubles it."""
M32 = np.uint64(0xFFFFFFFF)
SHIFT = np.uint64(32)
ZERO, ONE = np.uint64(0), np.uint64(1)
FNV_OFFSET, FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


KEY_WORDS = 3
"""Words (8 bytes each) of a group's security and of its order type kept beside its sums: a field of
up to 24 bytes is compared as words; a longer one with its first row's bytes in the block."""


def shifted_words(data: np.ndarray) -> np.ndarray:
    """The block's bytes as 64-bit words at every byte offset: [k, i] holds the eight bytes from
    k + 8 i (little-endian; x86 and ARM load a word at any byte). Only words that end inside the
    block are there; _pack reads a field's last few bytes past them one by one."""
    columns = max(0, data.size // 8 - 1)
    return np.ndarray((8, columns), dtype=np.uint64, buffer=data, strides=(1, 8))


@numba.njit(cache=True, nogil=True, inline="always")
def _pack(words, data, start, stop, packed, at):
    """The field's first KEY_WORDS x 8 bytes as words into packed[at:at + KEY_WORDS] (zero past its
    end), and a hash of them and its length. A word a load (shifted_words): hashing a byte a shift
    cost twice as much (0.042 against 0.018 s for 920,000 rows)."""
    length = stop - start
    value = FNV_OFFSET
    for word_index in range(KEY_WORDS):
        left = length - 8 * word_index
        word = ZERO
        if left > 0:
            position = start + 8 * word_index
            if (position >> 3) < words.shape[1]:
                word = words[position & 7, position >> 3]
            else:
                for offset in range(min(left, 8) - 1, -1, -1):
                    word = (word << np.uint64(8)) | np.uint64(data[position + offset])
            if left < 8:
                word &= (ONE << np.uint64(8 * left)) - ONE
        packed[at + word_index] = word
        value = (value ^ word) * FNV_PRIME
    return (value ^ np.uint64(length)) * FNV_PRIME


@numba.njit(cache=True, nogil=True)
def group_rows(data, words, valid, walls, prices, quantities, security_starts, security_stops, type_starts, type_stops,
               capacity, representatives, days, orders, quantity_words, value_words):
    """Group the rows whose `valid` is true (the inputs hold an entry a row, read only where valid)
    by (day of the wall time, security bytes, order type bytes) and sum them (`words`: data's
    shifted_words): orders, quantity (two
    words, low first), price x quantity (three words, low first); the group's day in `days`. Returns the number of groups, each with its
    first row in `representatives`, or FULL when they pass capacity / 2 (`capacity` a power of two;
    the group arrays hold capacity / 2)."""
    slots = np.full(capacity, -1, dtype=np.int64)
    hashes = np.empty(capacity // 2, dtype=np.uint64)
    keys = np.empty((capacity // 2, 2 * KEY_WORDS), dtype=np.uint64)  # each group's fields as words: in cache
    lengths = np.empty((capacity // 2, 2), dtype=np.int64)
    packed = np.empty(2 * KEY_WORDS, dtype=np.uint64)
    mask = capacity - 1
    groups = 0
    for row in range(valid.size):
        if not valid[row]:
            continue
        day = walls[row] // MICROS_PER_DAY
        security_length = security_stops[row] - security_starts[row]
        type_length = type_stops[row] - type_starts[row]
        hashed = _pack(words, data, security_starts[row], security_stops[row], packed, 0)
        hashed = (hashed ^ _pack(words, data, type_starts[row], type_stops[row], packed, KEY_WORDS)) * FNV_PRIME
        hashed = (hashed ^ np.uint64(day)) * FNV_PRIME
        slot = np.int64(hashed & np.uint64(mask))
        while True:
            group = slots[slot]
            if group < 0:
                if groups * 2 >= capacity:
                    return FULL
                group = groups
                groups += 1
                slots[slot] = group
                hashes[group] = hashed
                representatives[group] = row
                days[group] = day
                lengths[group, 0], lengths[group, 1] = security_length, type_length
                for word in range(2 * KEY_WORDS):
                    keys[group, word] = packed[word]
                orders[group] = 0
                break
            if hashes[group] == hashed and lengths[group, 0] == security_length and lengths[group, 1] == type_length:
                same = True
                for word in range(2 * KEY_WORDS):
                    same = same and keys[group, word] == packed[word]
                first = representatives[group]
                if same and days[group] == day and (security_length <= 8 * KEY_WORDS or equal_bytes(
                        data, security_starts[row], security_stops[row], data, security_starts[first], security_stops[first])) \
                        and (type_length <= 8 * KEY_WORDS or equal_bytes(data, type_starts[row], type_stops[row], data,
                                                                     type_starts[first], type_stops[first])):
                    break
            slot = (slot + 1) & mask
        orders[group] += 1
        quantity = np.uint64(quantities[row])
        low = quantity_words[group, 0] + quantity
        quantity_words[group, 1] += ONE if low < quantity else ZERO
        quantity_words[group, 0] = low
        product_low, product_high = _product(np.uint64(prices[row]), quantity)
        _add_three(value_words, group, product_low, product_high)
    return groups


@numba.njit(cache=True, nogil=True, inline="always")
def _product(left, right):
    """left x right (each below 2^64) as (low word, high word)."""
    left_low, left_high = left & M32, left >> SHIFT
    right_low, right_high = right & M32, right >> SHIFT
    low_low = left_low * right_low
    low_high = left_low * right_high
    high_low = left_high * right_low
    middle = (low_low >> SHIFT) + (low_high & M32) + (high_low & M32)
    low = (low_low & M32) | (middle << SHIFT)
    high = left_high * right_high + (low_high >> SHIFT) + (high_low >> SHIFT) + (middle >> SHIFT)
    return low, high


@numba.njit(cache=True, nogil=True, inline="always")
def _add_three(words, group, low, high):
    """words[group] (three words, low first) += high x 2^64 + low."""
    first = words[group, 0] + low
    carry = ONE if first < low else ZERO
    words[group, 0] = first
    partial = words[group, 1] + high
    carry_high = ONE if partial < high else ZERO
    second = partial + carry
    carry_high += ONE if second < partial else ZERO
    words[group, 1] = second
    words[group, 2] += carry_high


def grouped(data: np.ndarray, valid: np.ndarray, walls: np.ndarray, prices: np.ndarray, quantities: np.ndarray,
            security_starts: np.ndarray, security_stops: np.ndarray, type_starts: np.ndarray,
            type_stops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Over the rows whose `valid` is true: each group's first row, day, orders, and its quantity and
    price x quantity sums as decimal256 words (four little-endian 64-bit words a value, the form
    Arrow's decimal256 holds, so the sums become Arrow arrays without a conversion)."""
    capacity = 1 << 12
    words = shifted_words(data)
    while True:
        half = capacity // 2
        representatives = np.empty(half, dtype=np.int64)
        days = np.empty(half, dtype=np.int64)
        orders = np.empty(half, dtype=np.int64)
        quantity_words = np.zeros((half, 4), dtype=np.uint64)
        value_words = np.zeros((half, 4), dtype=np.uint64)
        groups = group_rows(data, words, valid, walls, prices, quantities, security_starts, security_stops, type_starts,
                            type_stops, capacity, representatives, days, orders, quantity_words, value_words)
        if groups != FULL:
            return representatives[:groups], days[:groups], orders[:groups], quantity_words[:groups], \
                value_words[:groups]
        capacity *= 4
