"""The contract's numeric columns: prices (decimal128(18, 4)) and quantities (int64, or decimal
with the run's quantity_decimals), as text from a CSV or already typed from Parquet or a layout.

Apart from the timestamps because money has its own hazards: a price with more than 4 places
is refused, never rounded silently, whether it comes as text, decimal or binary float, and a
quantity too large for its type is flagged on every path rather than wrapped. Prices are only checked here; `decimal_prices` converts them
after the filter, so work is spent on kept rows only. A digit test costs ~20 ms per million rows
in Arrow 26 where a regex costs ~90 ms, so whole quantities try it first.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orders_assets.core import schema
from orders_assets.core.read.arrays import all_false, as_array, present_but, with_columns

PRICE_PATTERN = r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$"
"""decimal128(18, 4): at most 14 digits before the point and 4 after (a larger price is an error)."""
PRICE_INTEGER_DIGITS = 14
PRICE_LIMIT = 10 ** PRICE_INTEGER_DIGITS
"""Prices must be below this (14 digits before the point)."""
QUANTITY_PATTERN = r"^\+?0*[0-9]{1,18}$"
"""A whole quantity: an optional `+`, any leading zeros, at most 18 significant digits (int64)."""
MAX_QUANTITY = 10 ** 18
"""The smallest whole quantity QUANTITY_PATTERN refuses: every path keeps exactly those below it."""
NEGATIVE_ZERO_PATTERN = r"^-[0.]+$"


def check_prices(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(present but not a decimal with at most 4 places, negative) for each price."""
    if pa.types.is_decimal(column.type) or pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        # Zero in the column's own type: a bare 0 against decimal(38, s) asks Arrow for precision 38 + 1
        # (a vendor price_scale of 1e8 and more gives s = 20 and more).
        zero = pa.scalar(0, column.type) if pa.types.is_decimal(column.type) else 0
        negative = pc.fill_null(pc.less(column, zero), False)
        too_fine = all_false(len(column))
        if pa.types.is_floating(column.type):
            too_fine = _unfit_float_prices(column)
        if pa.types.is_decimal(column.type):
            if column.type.precision - column.type.scale > PRICE_INTEGER_DIGITS:
                too_fine = pc.fill_null(pc.greater_equal(pc.abs(column), pa.scalar(PRICE_LIMIT, column.type)), False)
            if column.type.scale > schema.PRICE_SCALE:
                rounded = pc.cast(pc.round(column, schema.PRICE_SCALE), column.type)
                too_fine = pc.or_(too_fine, pc.fill_null(pc.not_equal(rounded, column), False))
        return too_fine, negative
    text = pc.cast(column, pa.string())
    well_formed = pc.match_substring_regex(text, PRICE_PATTERN)
    starts_negative = pc.fill_null(pc.starts_with(text, "-"), False)
    negative = starts_negative
    if pc.any(starts_negative).as_py():  # -0.00 is not negative: the pattern runs on the few rows with a sign
        negative_mask = as_array(starts_negative).to_numpy(zero_copy_only=False).copy()
        signed = np.flatnonzero(negative_mask)
        zero = pc.fill_null(pc.match_substring_regex(as_array(text).take(pa.array(signed)), NEGATIVE_ZERO_PATTERN), False)
        negative_mask[signed[zero.to_numpy(zero_copy_only=False)]] = False
        negative = pa.array(negative_mask)
    return present_but(text, well_formed), pc.and_(negative, pc.fill_null(well_formed, False))


FLOAT_PRICE_TOLERANCE = 1e-6
"""Distance (1% of the 4th place) within which a binary float is taken as the 4-place decimal it
was written as. From 2^33 (about 8.6e9) a float's own spacing exceeds it, so only whole prices pass there."""
FLOAT_PRICE_FINE_LIMIT = float(2 ** 33)


def _unfit_float_prices(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Binary-float prices that no decimal(18, 4) price holds: inf, NaN, 10^14 or more, or more than
    4 places (12.34567: rounding it would change the money silently; the same text in a CSV is
    quarantined). A float within FLOAT_PRICE_TOLERANCE of 4 places (12.34, stored as
    12.339999...) is that decimal."""
    values = pc.cast(column, pa.float64())
    finite = pc.fill_null(pc.is_finite(values), True)
    safe = pc.if_else(finite, values, 0.0)
    rounded = pc.round(safe, schema.PRICE_SCALE)
    off = pc.greater(pc.abs(pc.subtract(safe, rounded)), FLOAT_PRICE_TOLERANCE)
    too_large = pc.greater_equal(pc.abs(safe), float(PRICE_LIMIT))
    too_coarse = pc.and_(pc.greater_equal(pc.abs(safe), FLOAT_PRICE_FINE_LIMIT), pc.not_equal(safe, pc.floor(safe)))
    return pc.fill_null(pc.or_(pc.or_(pc.invert(finite), off), pc.or_(too_large, too_coarse)), False)


def decimal_prices(rows: pa.Table) -> pa.Table:
    """Convert the (already checked) price column to exact decimal128(18, 4)."""
    column = rows[schema.PRICE]
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        column = pc.round(pc.cast(column, pa.float64()), schema.PRICE_SCALE)
    return with_columns(rows, {schema.PRICE: pc.cast(column, schema.PRICE_TYPE)})


def parse_quantities(column: pa.ChunkedArray, decimals: int = 0) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Quantities as schema.quantity_type(decimals); a second array flags present values that do not fit.

    Whole numbers by default; a run that allows `decimals` places takes up to that many. Binary
    floats (Parquet) cannot hold a decimal exactly, so they are rounded to those places.
    """
    if decimals == 0 and pa.types.is_integer(column.type):
        try:
            return pc.cast(column, schema.QUANTITY_TYPE), all_false(len(column))
        except pa.ArrowInvalid:  # uint64 values from 2^63: flagged one by one below
            return _typed_quantities(column, decimals)
    if pa.types.is_integer(column.type) or pa.types.is_decimal(column.type) or pa.types.is_floating(column.type):
        return _typed_quantities(column, decimals)
    text = pc.cast(column, pa.string())
    if decimals:
        return _decimal_quantities(text, decimals)
    digits = pc.utf8_is_digit(text)
    empty = pc.equal(pc.binary_length(text), 0)
    if pc.all(pc.fill_null(pc.or_(digits, empty), True)).as_py():
        try:
            whole = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), text), schema.QUANTITY_TYPE)
        except pa.ArrowInvalid:
            whole = None
        # The cast takes 19 digits up to 2^63; the pattern below, at most 18 significant ones.
        if whole is not None and (pc.max(whole).as_py() or 0) < MAX_QUANTITY:
            return whole, all_false(len(column))
    return _screened_quantities(as_array(text), digits)


def _screened_quantities(text: pa.Array, digits: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A column with some value that is not plain digits (a bad row, a `+`): values of 1-18 ASCII
    digits take the one cast, only the others the pattern, so a bad row costs one row, not a block."""
    simple = pc.and_(pc.and_(pc.fill_null(as_array(digits), False), pc.string_is_ascii(text)),
                     pc.less_equal(pc.binary_length(text), 18))  # utf8_is_digit also takes '５' (U+FF15)
    simple = simple.to_numpy(zero_copy_only=False)
    if simple.all() or not simple.any():
        return _pattern_quantities(text)
    other = np.flatnonzero(~simple)
    values, bad = _pattern_quantities(text.take(pa.array(other)))
    fast = pc.cast(pc.if_else(pa.array(simple), text, pa.scalar(None, pa.string())), schema.QUANTITY_TYPE)
    mask = pa.array(~simple)
    return (pc.replace_with_mask(fast, mask, as_array(values)),
            pc.replace_with_mask(all_false(len(text)), mask, as_array(bad)))


def _pattern_quantities(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    well_formed = pc.match_substring_regex(text, QUANTITY_PATTERN)
    # Arrow's integer cast takes neither a leading + nor more than 19 characters of leading zeros.
    usable = pc.replace_substring_regex(pc.if_else(well_formed, text, pa.scalar(None, pa.string())), r"^\+?0*(.)", r"\1")
    return pc.cast(usable, schema.QUANTITY_TYPE), present_but(text, well_formed)


def quantity_problem(decimals: int) -> str:
    if decimals == 0:
        return "quantity: not a whole number"
    return f"quantity: not a number with at most {decimals} decimal places (the run's quantity_decimals)"


def _decimal_quantities(text: pa.ChunkedArray, decimals: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    pattern = rf"^\+?[0-9]{{1,{19 - decimals}}}(\.[0-9]{{1,{decimals}}})?$"
    well_formed = pc.match_substring_regex(text, pattern)
    usable = pc.if_else(well_formed, pc.replace_substring(text, "+", ""), pa.scalar(None, pa.string()))
    return pc.cast(usable, schema.quantity_type(decimals)), present_but(text, well_formed)


def _typed_quantities(column: pa.ChunkedArray, decimals: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Numbers already typed (Parquet, or a layout's rescaled decimals): those that fit, and a flag for the rest."""
    limit = 2 ** 63 if decimals == 0 else 10 ** (19 - decimals)  # int64, or decimal(19, d)
    if pa.types.is_floating(column.type):
        rounded = pc.round(column, decimals)
        fits = pc.less(pc.abs(rounded), float(limit))
        if decimals == 0:
            fits = pc.and_(fits, pc.equal(rounded, column))
        column = rounded
    else:
        if pa.types.is_integer(column.type):
            column = pc.cast(column, pa.decimal128(38, 0))
        rounded = pc.round(column, decimals)
        fits = pc.equal(pc.cast(rounded, column.type), column)
        if column.type.precision - column.type.scale >= len(str(limit)):  # else no value reaches the limit
            fits = pc.and_(fits, pc.less(pc.abs(column), pa.scalar(limit, column.type)))
        column = rounded
    fits = pc.fill_null(fits, False)
    usable = pc.if_else(fits, column, pa.scalar(None, column.type))
    target = schema.quantity_type(decimals)
    return pc.cast(usable, target), pc.and_(pc.is_valid(column), pc.invert(fits))

