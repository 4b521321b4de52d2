"""A validated batch of records as plain arrays: what validation parsed, before any DataFrame.

:func:`features.validation.validate_record_columns` returns a :class:`ValidatedRecords`; the
inference path (:mod:`features.fast_transform`, :mod:`models.bundle`) reads its arrays directly.
Building the typed frame (Arrow strings, nullable integers and booleans) cost ~0.6 ms for a
handful of records, and reading it back into numpy as much again; :meth:`ValidatedRecords.to_frame`
builds it only for callers that want a frame (``validate_records``, training, reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.schema import Field, fields

__all__ = ["ValidatedRecords", "typed_column"]


@dataclass(frozen=True, eq=False)
class ValidatedRecords:
    """Records that passed the input contract, one array per field given in any record.

    Attributes
    ----------
    columns : mapping of str to ndarray
        In dictionary order. Float, integer and boolean fields are float64 with NaN for missing
        (integers whole, booleans 1.0/0.0); category and string fields are object arrays of
        Python ``str`` with ``None`` for missing. The arrays are shared, not copied: read them,
        never write to them.
    n_rows : int
        Number of records (rows), also when no field was given.
    """

    columns: Mapping[str, np.ndarray]
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, name: str) -> np.ndarray:
        """The parsed values of one field (KeyError when no record gave it)."""
        return self.columns[name]

    def replaced(self, name: str, values: np.ndarray) -> ValidatedRecords:
        """The same records with the column ``name`` (already present) set to ``values``."""
        if name not in self.columns:
            raise KeyError(name)
        if len(values) != self.n_rows:
            raise ValueError(f"{len(values)} values for {self.n_rows} rows of {name!r}")
        return ValidatedRecords({**self.columns, name: values}, self.n_rows)

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The typed frame of ``validate_records`` (docs/ARCHITECTURE.md lists the dtypes).

        Built in one go; ``index`` defaults to a ``RangeIndex``.
        """
        index = pd.RangeIndex(self.n_rows) if index is None else index
        typed = {name: typed_column(fields()[name], values)
                 for name, values in self.columns.items()}
        return pd.DataFrame(typed, index)


def typed_column(field: Field, values: np.ndarray) -> object:
    """A parsed column as an array of the field's documented dtype."""
    if field.type == "float":
        return values
    if field.type in ("category", "string"):
        return pd.array(values, dtype=pd.StringDtype())
    absent = np.isnan(values)
    if field.type == "boolean":
        return pd.arrays.BooleanArray(values == 1, absent)
    return pd.arrays.IntegerArray(np.where(absent, 0, values).astype(np.int64), absent)
