"""Columns of a validated frame as plain numpy arrays: float64 numbers, object text.

What every numeric step reads (the clinical indices, the encoding, the input checks): numbers and
booleans as float64 (booleans 1/0), category and string fields as object arrays of Python
strings, NaN wherever a value is missing. Converted one dtype group at a time, because pandas
costs about the same per call whatever the number of rows (column by column cost ~13 ms per
call for the 70 fields of a record).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features import schema

Groups = dict[Any, tuple[list[int], list[int]]]


def is_textual(name: object, dtype: Any) -> bool:
    """Read as text? The dictionary's type decides (an all-missing numeric column may arrive as
    object); a column outside the dictionary goes by its dtype."""
    field = schema.fields().get(str(name))
    if field is not None:
        return field.type in ("category", "string")
    return isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)


def _dtype_groups(frame: pd.DataFrame, names: Sequence[str]) -> Groups:
    """dtype -> (positions in ``frame``, positions in ``names``) of the columns ``frame`` has."""
    position: dict[object, int] = {}
    for i, name in enumerate(frame.columns):
        position.setdefault(name, i)  # a repeated column: its first copy
    dtypes = list(frame.dtypes)
    groups: Groups = {}
    for j, name in enumerate(names):
        found = position.get(name)
        if found is not None:
            source, target = groups.setdefault(dtypes[found], ([], []))
            source.append(found)
            target.append(j)
    return groups


def _as_numbers(block: pd.DataFrame, dtype: Any) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return block.to_numpy(dtype="float64", na_value=np.nan)  # float, Int64, boolean...
    return np.column_stack([
        pd.to_numeric(column.astype("Float64"), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan)
        for _, column in block.items()
    ])


def numeric_block(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """``frame[names]`` as one float64 array (NaN where missing or absent); booleans as 1/0."""
    out = np.full((len(frame), len(names)), np.nan)
    for dtype, (source, target) in _dtype_groups(frame, names).items():
        out[:, target] = _as_numbers(frame.iloc[:, source], dtype)
    return out


def text_block(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """``frame[names]`` as one object array of Python values, NaN where missing or absent."""
    out = np.full((len(frame), len(names)), np.nan, dtype=object)
    for source, target in _dtype_groups(frame, names).values():
        block = frame.iloc[:, source].to_numpy(dtype=object, copy=True)
        block[pd.isna(block)] = np.nan  # <NA> and None too
        out[:, target] = block
    return out


def model_columns(frame: pd.DataFrame) -> dict[Any, np.ndarray]:
    """Every column of ``frame`` by name: float64, or object for text (see the module)."""
    names = list(frame.columns)
    textual = [is_textual(n, d) for n, d in zip(names, frame.dtypes, strict=True)]
    numeric = [n for n, text in zip(names, textual, strict=True) if not text]
    texts = [n for n, text in zip(names, textual, strict=True) if text]
    columns = dict(zip(numeric, numeric_block(frame, numeric).T, strict=True))
    columns.update(zip(texts, text_block(frame, texts).T, strict=True))
    return columns
