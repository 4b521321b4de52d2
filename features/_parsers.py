"""Reading raw column values into typed arrays: the type rules of the data dictionary.

A column arrives as a pandas Series (a frame column) or a numpy object array (API records). A
column that holds only numbers stays numeric and is checked with numpy; anything else is read
value by value (numbers kept as numbers where the field wants one, everything else as stripped
text). Every parser returns ``(parsed, invalid)``: parsed numbers as float64 (booleans as 1.0/0.0,
NaN when missing or invalid) or text as an object array (``None`` when missing), and a mask of the
values that break the type rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_complex_dtype, is_numeric_dtype

from ssc_response.features.schema import Field

BOOLEAN_TOKENS: dict[str, bool] = {
    **dict.fromkeys(("true", "yes", "1"), True),
    **dict.fromkeys(("false", "no", "0"), False),
}
_FLAGS = {token: float(flag) for token, flag in BOOLEAN_TOKENS.items()}
_NUMBERS = (int, float, np.integer, np.floating)  # bool is an int: excluded where used
_NUMBER_KINDS = frozenset({"floating", "integer", "mixed-integer-float"})

Raw: TypeAlias = pd.Series | np.ndarray  # a column as given: rows by position
Parsed: TypeAlias = tuple[np.ndarray, np.ndarray]


def prepare(raw: Raw, keep_numbers: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(values, missing)``, one entry per row.

    Numbers stay numbers (float64) if wanted; anything else becomes stripped text, blanks None.
    """
    if keep_numbers and (numbers := _as_numbers(raw)) is not None:
        return numbers, np.isnan(numbers)
    given = np.asarray(raw, dtype=object)
    absent = pd.isna(given)
    cleaned = (None if gone else _clean(value, keep_numbers)
               for value, gone in zip(given, absent, strict=True))
    # fromiter never unpacks a value that is itself a sequence (np.array would).
    values = np.fromiter(cleaned, dtype=object, count=len(given))
    return values, pd.isna(values)


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
