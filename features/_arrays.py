"""Array plumbing of the clinical calculators (:mod:`features.index_formulas`,
:mod:`features.outcomes`): any accepted input to float64 arrays, results back in the input's
shape, and index items that may be missing (present / possibly present) summed into ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

# A scalar, sequence, numpy array or pandas Series (pandas has no type stubs here).
ArrayInput: TypeAlias = Any
FloatResult: TypeAlias = Any  # float | np.ndarray | pd.Series
BoolResult: TypeAlias = Any  # bool | pd.NA | pd.arrays.BooleanArray | pd.Series

# Object arrays holding only these kinds of values convert to float without surprises.
_NUMERIC_INFERRED = frozenset(
    {"boolean", "integer", "floating", "mixed-integer-float", "decimal", "empty", "mixed"}
)


@dataclass(frozen=True)
class _Shape:
    """Where a result goes: a scalar, a plain array, or a Series on ``index``."""

    scalar: bool
    index: pd.Index | None


def _shape_of(*values: ArrayInput) -> _Shape:
    """The output shape of a calculator called with ``values`` (Series must share one index)."""
    series = [v for v in values if isinstance(v, pd.Series)]
    index = series[0].index if series else None
    for other in series[1:]:
        # Positional numpy arithmetic would silently misalign differently indexed Series.
        if other.index is not index and not other.index.equals(index):
            raise ValueError("Series inputs must share one index; align them before calling")
    return _Shape(scalar=all(np.ndim(v) == 0 for v in values), index=index)


def _refuse_text(dtype: Any) -> None:
    if isinstance(dtype, pd.StringDtype) or getattr(dtype, "kind", "") in "USM":
        raise TypeError(f"expected numbers or booleans, received values of dtype {dtype}")


def _object_to_float(array: np.ndarray) -> np.ndarray:
    """Object array (None / pd.NA / numbers / bools) -> float64 with NaN for missing."""
    missing = pd.isna(array)
    present = array[~missing]
    kind = pd.api.types.infer_dtype(present.ravel(), skipna=True)
    if kind not in _NUMERIC_INFERRED or any(isinstance(v, str | bytes) for v in present.flat):
        raise TypeError(f"expected numbers or booleans, received values inferred as {kind!r}")
    out = np.full(array.shape, np.nan)
    out[~missing] = present.astype("float64")
    return out


def _as_float(value: ArrayInput) -> np.ndarray:
    """Float64 values of any accepted input, NaN wherever a value is missing."""
    if value is None or value is pd.NA:
        return np.array(np.nan)
    if isinstance(value, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        _refuse_text(value.dtype)
        if value.dtype != object:
            return value.to_numpy(dtype="float64", na_value=np.nan)
    array = np.asarray(value)
    _refuse_text(array.dtype)
    if array.dtype == object:
        return _object_to_float(array)
    return array.astype("float64", copy=False)


def _as_flag(value: ArrayInput) -> np.ndarray:
    """Boolean values with a missing value as False (CRISS's organ event, features.outcomes)."""
    values = _as_float(value)
    return np.where(np.isnan(values), False, values != 0)


@dataclass(frozen=True)
class _Item:
    """One index item over patients: known present, and present or missing (could be present)."""

    present: np.ndarray
    possible: np.ndarray


def _flag_item(value: ArrayInput) -> _Item:
    """A yes/no item; a missing answer could be either."""
    values = _as_float(value)
    present = ~np.isnan(values) & (values != 0)
    return _Item(present, present | np.isnan(values))


def _above_item(value: ArrayInput, cutoff: float) -> _Item:
    """``value > cutoff`` (strict); a missing measurement could be either side."""
    values = _as_float(value)
    return _Item(values > cutoff, (values > cutoff) | np.isnan(values))


def _below_item(value: ArrayInput, cutoff: float) -> _Item:
    """``value < cutoff`` (strict); a missing measurement could be either side."""
    values = _as_float(value)
    return _Item(values < cutoff, (values < cutoff) | np.isnan(values))


def _any_item(*items: _Item) -> _Item:
    """An "A and/or B" item: present if any part is; possible if any part could be."""
    return _Item(reduce(np.logical_or, [i.present for i in items]),
                 reduce(np.logical_or, [i.possible for i in items]))


@dataclass(frozen=True)
class ScoreRange:
    """The scores an index can take, given its missing items (points).

    ``low``: every missing item absent (the points of the items recorded present); ``high``:
    every missing item present. Equal when nothing the index reads is missing. Same shapes as
    the calculators' float results.
    """

    low: FloatResult
    high: FloatResult


def _range_of(items: Mapping[str, _Item], weights: Mapping[str, float],
              shape: _Shape) -> ScoreRange:
    low = _weighted_sum({n: i.present for n, i in items.items()}, weights)
    high = _weighted_sum({n: i.possible for n, i in items.items()}, weights)
    return ScoreRange(_float_result(low, shape), _float_result(high, shape))


def _decided_score(scores: ScoreRange, threshold: float, inclusive: bool,
                   shape: _Shape) -> FloatResult:
    """The range's low end where low and high fall on one side of the threshold, else NaN."""
    low, high = _as_float(scores.low), _as_float(scores.high)
    above_low = low >= threshold if inclusive else low > threshold
    above_high = high >= threshold if inclusive else high > threshold
    return _float_result(np.where(above_low == above_high, low, np.nan), shape)


def _float_result(values: np.ndarray, shape: _Shape) -> FloatResult:
    if shape.scalar:
        return float(values)
    values = np.asarray(values, dtype="float64")
    if shape.index is not None:
        return pd.Series(values, index=shape.index, dtype="float64")
    return values


def _bool_result(values: np.ndarray, missing: np.ndarray, shape: _Shape) -> BoolResult:
    """True/False where known, ``<NA>`` where ``missing``."""
    values, missing = np.broadcast_arrays(np.asarray(values, bool), np.asarray(missing, bool))
    if shape.scalar:
        return pd.NA if bool(missing) else bool(values)
    # numpy has no missing boolean, so array input gets pandas' nullable BooleanArray.
    array = pd.arrays.BooleanArray(values & ~missing, missing.copy())
    if shape.index is not None:
        return pd.Series(array, index=shape.index)
    return array


def _at_least(values: ArrayInput, threshold: float, *, inclusive: bool) -> BoolResult:
    """``values >= threshold`` (or ``>`` when not inclusive); ``<NA>`` where values are missing."""
    shape = _shape_of(values)
    numbers = _as_float(values)
    passed = numbers >= threshold if inclusive else numbers > threshold
    return _bool_result(passed, np.isnan(numbers), shape)


def _weighted_sum(items: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    return np.asarray(sum(weights[name] * items[name] for name in weights), dtype="float64")
