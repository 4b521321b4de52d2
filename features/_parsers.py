"""Reading raw column values into typed arrays: the type rules of the data dictionary.

A column arrives as a pandas Series (a frame column) or a numpy object array (API records). Two
ways through, with the same rules: a column that holds only numbers stays numeric and is checked
with numpy; anything else is read value by value - each *distinct* value once, because text
parsing is the slow part of a large file and clinical columns repeat values a lot. Either way the
work is plain numpy and Python on arrays: no pandas Series operations, whose fixed cost per call
would dominate for the one-record inputs of the API.

Every parser returns ``(parsed, invalid)``: parsed numbers as float64 (booleans as 1.0/0.0, NaN
when missing or invalid) or text as an object array (``None`` when missing), and a mask of the
values that break the type rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_complex_dtype, is_numeric_dtype

from features.schema import Field

BOOLEAN_TOKENS: dict[str, bool] = {
    **dict.fromkeys(("true", "yes", "1"), True),
    **dict.fromkeys(("false", "no", "0"), False),
}
_FLAGS = {token: float(flag) for token, flag in BOOLEAN_TOKENS.items()}
_NUMBERS = (int, float, np.integer, np.floating)  # bool is an int: excluded where used
_NUMBER_KINDS = frozenset({"floating", "integer", "mixed-integer-float"})
# infer_dtype kinds whose equal values also read the same as text, so each distinct value can be
# read once; 1, 1.0 and True are equal Python objects but not the same text.
_DISTINCT_SAFE_KINDS = frozenset({"string", "boolean", "integer", "empty"})
_FEW_ROWS = 16  # below this, finding the distinct values costs more than it saves

Raw: TypeAlias = pd.Series | np.ndarray  # a column as given: rows by position
Parsed: TypeAlias = tuple[np.ndarray, np.ndarray]


def prepare(raw: Raw, keep_numbers: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(values, missing, codes)``: ``values[codes]`` are the rows (``codes`` None: one to one).

    Numbers stay numbers (float64) if wanted; anything else becomes stripped text, blanks None.
    """
    if keep_numbers and (numbers := _as_numbers(raw)) is not None:
        return numbers, np.isnan(numbers), None
    codes, distinct = _distinct(raw)
    values = _cleaned(distinct, keep_numbers)
    return values, pd.isna(values), codes


def _as_numbers(raw: Raw) -> np.ndarray | None:
    """The column as float64 (NaN = missing) when it holds only numbers, else None."""
    if raw.dtype.kind == "O":
        if infer_dtype(raw, skipna=True) not in _NUMBER_KINDS:
            return None
        objects: np.ndarray = np.asarray(raw)
        try:
            return objects.astype("float64")  # None becomes NaN
        except OverflowError:  # an int beyond float64: infinite, so refused as not finite
            return np.fromiter(map(_float_or_infinite, objects), "float64", len(objects))
        except (TypeError, ValueError):  # pd.NA
            return np.asarray(pd.to_numeric(objects, errors="coerce"), dtype="float64")
    if not is_numeric_dtype(raw.dtype) or is_bool_dtype(raw.dtype) or is_complex_dtype(raw.dtype):
        return None
    if isinstance(raw, np.ndarray):
        return raw.astype("float64")
    return raw.to_numpy(dtype="float64", na_value=np.nan)


def _float_or_infinite(value: object) -> float:
    """``float(value)``; NaN for a missing value, ±inf for an int too large for float64."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]  # only number kinds reach here
    except OverflowError:
        return math.inf if value > 0 else -math.inf  # type: ignore[operator]


def _distinct(raw: Raw) -> tuple[np.ndarray | None, np.ndarray]:
    """``(codes, distinct values)``; missing values get the code of a final None."""
    if len(raw) <= _FEW_ROWS or (
        raw.dtype.kind == "O" and infer_dtype(raw, skipna=True) not in _DISTINCT_SAFE_KINDS
    ):
        return None, np.asarray(raw, dtype=object)
    codes, uniques = pd.factorize(raw)
    return codes, np.concatenate([np.asarray(uniques, dtype=object), [None]])  # code -1: None


def _cleaned(distinct: np.ndarray, keep_numbers: bool) -> np.ndarray:
    """Each value cleaned by ``_clean``; missing values (None, NaN, pd.NA) as None."""
    absent = pd.isna(distinct)
    if len(distinct) > _FEW_ROWS and infer_dtype(distinct, skipna=True) == "string":
        # Only text (a CSV column): the same cleaning, inlined, as it is most of a file's cost.
        texts = zip(distinct, absent, strict=True)
        return np.array([None if gone else v.strip() or None for v, gone in texts], dtype=object)
    values = zip(distinct, absent, strict=True)
    cleaned = [None if gone else _clean(v, keep_numbers) for v, gone in values]
    return np.array(cleaned, dtype=object)


def _clean(value: object, keep_numbers: bool) -> object:
    """A number as given (if numbers are kept) or stripped text; None for a blank."""
    if keep_numbers and isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return value
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return text.strip() or None


# --- parsers: (values, missing, field) -> (parsed values, invalid mask) --------------------------


def parse_float(values: np.ndarray, missing: np.ndarray, field: Field) -> Parsed:
    """Numbers; 'inf', 'nan' and other non-finite text are refused, not taken as missing."""
    number = values
    if values.dtype != np.float64:
        number = np.asarray(pd.to_numeric(values, errors="coerce"), dtype="float64")
    return number, ~missing & ~np.isfinite(number)


def parse_integer(values: np.ndarray, missing: np.ndarray, field: Field) -> Parsed:
    """Whole numbers written as 3, 3.0 or "3"; kept as float64 until the final cast to Int64."""
    number, invalid = parse_float(values, missing, field)
    return number, invalid | (~missing & (np.floor(number) != number))


def parse_boolean(values: np.ndarray, missing: np.ndarray, field: Field) -> Parsed:
    """Real booleans, numbers 1/0 and the case-insensitive words of ``BOOLEAN_TOKENS``."""
    if values.dtype == np.float64:
        flags = np.where(values == 1, 1.0, np.where(values == 0, 0.0, np.nan))
    else:
        flags = np.array([_flag(v) for v in values], dtype="float64")
    return flags, ~missing & np.isnan(flags)


def _flag(value: object) -> float:
    """1.0 for true, 0.0 for false, NaN for anything else (including missing)."""
    if isinstance(value, str):
        return _FLAGS.get(value.lower(), np.nan)
    if isinstance(value, _NUMBERS) and value in (0, 1):
        return float(value)
    return np.nan


def parse_category(values: np.ndarray, missing: np.ndarray, field: Field) -> Parsed:
    """Exact (case-sensitive) allowed values."""
    invalid = [v is not None and v not in field.allowed for v in values]
    return values, np.array(invalid, dtype=bool)


def parse_string(values: np.ndarray, missing: np.ndarray, field: Field) -> Parsed:
    """Any text; field-specific rules (patient_id) are checked separately."""
    return values, np.zeros(len(values), dtype=bool)


PARSERS: dict[str, Callable[[np.ndarray, np.ndarray, Field], Parsed]] = {
    "float": parse_float,
    "integer": parse_integer,
    "boolean": parse_boolean,
    "category": parse_category,
    "string": parse_string,
}


def blank_out(parsed: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """Invalid values become missing: a value of the wrong type gets no further checks."""
    if not invalid.any():
        return parsed
    cleaned = parsed.copy()
    cleaned[invalid] = np.nan if parsed.dtype == np.float64 else None
    return cleaned
