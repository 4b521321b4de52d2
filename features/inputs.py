"""Validated records read into arrays, with the derived clinical indices: the model's inputs.

:func:`read_inputs` takes a validated frame or :class:`~features.validated.ValidatedRecords` and
returns :class:`Inputs`: the raw numeric and text fields a compiled preprocessor reads (before
imputation) and the derived indices, computed with :mod:`features.indices` on arrays exactly as
:func:`features.derive.add_baseline_indices` computes them on frames
(``tests/features/test_fast_transform.py`` holds the two equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features import indices, schema
from features.derive import (
    SSC_NVC_PATTERNS,
    acr_eular_from,
    escsg_from,
    eustar_from,
)
from features.pipeline import numeric_block, text_block
from features.validated import ValidatedRecords

__all__ = ["FEW_ROWS", "INDEX_NUMBERS", "INDEX_TEXTS", "Inputs", "Layout", "baseline_indices",
           "is_text_field", "read_inputs"]

TEXT_TYPES = ("category", "string")
# Inputs of the derived indices (features.derive.add_baseline_indices), beside the model fields.
INDEX_NUMBERS: tuple[str, ...] = (
    *schema.MRSS_SITE_FIELDS, "mrss_total", "c3_g_l", "c4_g_l", "hypocomplementemia",
    "scleredema", "delta_skin", "digital_ulcers_active", "delta_vascular", "arthritis",
    "dlco_pct_pred", "delta_cardiopulmonary", "esr_mm_h", "tendon_friction_rubs", "crp_mg_l",
    "skin_thickening_proximal_mcp", "puffy_fingers", "sclerodactyly", "digital_pitting_scars",
    "telangiectasia", "pah", "ild_on_hrct", "raynaud_phenomenon", "anti_centromere", "anti_topo1",
    "anti_rnap3",
)
INDEX_TEXTS: tuple[str, ...] = ("nvc_pattern",)
FEW_ROWS = 50  # up to this many records, read them with one object conversion (see _read_few)


def is_text_field(name: str) -> bool:
    """Category and string fields of the dictionary (read as text, never as numbers)."""
    field = schema.fields().get(name)
    return field is not None and field.type in TEXT_TYPES


class Layout:
    """Which fields a compiled preprocessor reads, as numbers and as text, in block order."""

    def __init__(self, numbers: Sequence[str], texts: Sequence[str]) -> None:
        self.numbers, self.texts = tuple(numbers), tuple(texts)
        self._numbers_at = {name: j for j, name in enumerate(self.numbers)}
        self._texts_at = {name: j for j, name in enumerate(self.texts)}

    def number_position(self, name: str) -> int:
        """Column of a numeric field in :attr:`Inputs.numbers` (KeyError if not read)."""
        return self._numbers_at[name]

    def text_position(self, name: str) -> int | None:
        """Column of a text field in :attr:`Inputs.texts`; None if not read as text."""
        return self._texts_at.get(name)


@dataclass(frozen=True, eq=False)
class Inputs:
    """A batch of records as arrays: raw fields (before imputation) and the derived indices.

    ``numbers`` is float64 with NaN for missing (booleans 1/0); ``texts`` holds Python strings
    with NaN for missing; ``derived`` holds :data:`features.derive.BASELINE_DERIVED_COLUMNS` as
    float64, ``mrss_total`` and ``hypocomplementemia`` filled as ``ClinicalIndices`` fills them.
    """

    index: pd.Index
    numbers: np.ndarray
    texts: np.ndarray
    derived: dict[str, np.ndarray]
    layout: Layout

    def __len__(self) -> int:
        return len(self.index)

    def number(self, name: str) -> np.ndarray:
        """A raw numeric field (as given: ``mrss_total`` is not filled from the sites here)."""
        return self.numbers[:, self.layout.number_position(name)]

    def column(self, name: str) -> np.ndarray:
        """A column as :class:`ClinicalIndices` emits it: derived where derived, else as given."""
        if name in self.derived:
            return self.derived[name]
        position = self.layout.text_position(name)
        return self.number(name) if position is None else self.texts[:, position]


def read_inputs(records: pd.DataFrame | ValidatedRecords, layout: Layout) -> Inputs:
    """Read the fields of ``layout`` from validated records (absent fields count as missing).

    ``records`` is a validated frame or the arrays of ``validate_record_columns``; both give the
    same :class:`Inputs` (the arrays with a ``RangeIndex``, as ``validate_records`` numbers rows).
    """
    if isinstance(records, ValidatedRecords):
        return _read_validated(records, layout)
    blocks = _read_few(records, layout) if len(records) <= FEW_ROWS else None
    if blocks is None:
        blocks = numeric_block(records, layout.numbers), text_block(records, layout.texts)
    return _with_indices(records.index, *blocks, layout)


def _with_indices(index: pd.Index, numbers: np.ndarray, texts: np.ndarray,
                  layout: Layout) -> Inputs:
    """The inputs of the raw fields, completed with the derived indices they determine."""
    partial = Inputs(index, numbers, texts, {}, layout)
    return Inputs(index, numbers, texts, baseline_indices(partial), layout)


def _read_validated(records: ValidatedRecords, layout: Layout) -> Inputs:
    """Both blocks copied out of the parsed arrays: no pandas on the way (~0.05 ms for a few
    rows, against ~0.2 ms to read a typed frame and ~0.6 ms to build it).

    The parsed numbers are already float64 (booleans 1/0, NaN missing); text gets NaN for a
    missing value (``None`` there), as the frame path gives it. A field read as a number but
    parsed as text (an object array) cannot come from the dictionary's types; it takes the frame
    path, whose answer (coerced or refused) it then shares.
    """
    columns, n_rows = records.columns, len(records)
    numbers = [(j, columns[name]) for j, name in enumerate(layout.numbers) if name in columns]
    if any(values.dtype.kind == "O" for _, values in numbers):
        return read_inputs(records.to_frame(), layout)
    out_numbers = np.full((n_rows, len(layout.numbers)), np.nan)
    if numbers:
        targets, arrays = zip(*numbers, strict=True)
        out_numbers[:, list(targets)] = np.column_stack(arrays)
    out_texts = np.full((n_rows, len(layout.texts)), np.nan, dtype=object)
    for j, name in enumerate(layout.texts):
        if name in columns:
            out_texts[:, j] = columns[name]
    out_texts[out_texts == None] = np.nan  # noqa: E711 - elementwise, on an object array
    return _with_indices(pd.RangeIndex(n_rows), out_numbers, out_texts, layout)


def _read_few(frame: pd.DataFrame, layout: Layout) -> tuple[np.ndarray, np.ndarray] | None:
    """Both blocks from one object conversion of the whole frame: for a few rows, cheaper than
    one conversion per dtype (~0.2 ms against ~1 ms). The values are the same Python scalars
    either way; ``None`` when a numeric field has a non-numeric dtype (the general path's job).
    """
    position: dict[object, int] = {}
    for i, name in enumerate(frame.columns):
        position.setdefault(name, i)
    dtypes = list(frame.dtypes)
    numbers = [(position[n], j) for j, n in enumerate(layout.numbers) if n in position]
    if not all(_is_numeric_dtype(dtypes[i]) for i, _ in numbers):
        return None
    texts = [(position[n], j) for j, n in enumerate(layout.texts) if n in position]
    values = frame.to_numpy(dtype=object, na_value=np.nan)
    out_numbers = np.full((len(frame), len(layout.numbers)), np.nan)
    out_texts = np.full((len(frame), len(layout.texts)), np.nan, dtype=object)
    for out, pairs in ((out_numbers, numbers), (out_texts, texts)):
        if pairs:
            source, target = (list(p) for p in zip(*pairs, strict=True))
            out[:, target] = values[:, source]  # object -> float64 where ``out`` is float
    return out_numbers, out_texts


def _is_numeric_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


# --- derived indices: features.derive.add_baseline_indices on arrays -----------------------------


def _floats(result: Any) -> np.ndarray:
    """A calculator's array or nullable boolean result as float64 (1/0, NaN for <NA>)."""
    if isinstance(result, pd.api.extensions.ExtensionArray):
        return np.asarray(result.to_numpy(dtype="float64", na_value=np.nan))
    return np.asarray(result, dtype="float64")


def _filled(given: np.ndarray, computed: np.ndarray) -> np.ndarray:
    """Given values, computed ones where missing (derive._fill)."""
    return np.where(np.isnan(given), computed, given)


def baseline_indices(inputs: Inputs) -> dict[str, np.ndarray]:
    """The columns :func:`features.derive.add_baseline_indices` adds, from the same calculators.

    The field-to-item mapping is :mod:`features.derive`'s own (``escsg_from``, ``eustar_from``,
    ``acr_eular_from``); ``tests/features/test_fast_transform.py`` checks the two paths agree.
    """
    col = inputs.number
    mrss = col("mrss_total").copy()
    if np.isnan(mrss).any():  # the site sum only fills missing totals: skipped when none is
        mrss = _filled(mrss, _site_total(inputs))
    complement = indices.hypocomplementemia_from_complement(col("c3_g_l"), col("c4_g_l"))
    hypo = _filled(col("hypocomplementemia"), _floats(complement))
    escsg = _floats(escsg_from(col, mrss, hypo))
    eustar = _floats(eustar_from(col, mrss))
    return {
        "mrss_total": mrss,
        "hypocomplementemia": hypo,
        "escsg_activity_index": escsg,
        "escsg_active": _floats(indices.escsg_active(escsg)),
        "eustar_activity_index": eustar,
        "eustar_active": _floats(indices.eustar_active(eustar)),
        "acr_eular_2013_score": _acr_eular(inputs),
    }


def _site_total(inputs: Inputs) -> np.ndarray:
    sites = [inputs.layout.number_position(name) for name in schema.MRSS_SITE_FIELDS]
    frame = pd.DataFrame(inputs.numbers[:, sites], columns=list(schema.MRSS_SITE_FIELDS))
    return np.asarray(indices.mrss_total_from_sites(frame).to_numpy(), dtype="float64")


def _acr_eular(inputs: Inputs) -> np.ndarray:
    pattern = inputs.column("nvc_pattern")
    abnormal = np.fromiter((v in SSC_NVC_PATTERNS for v in pattern), bool, len(pattern))
    return _floats(acr_eular_from(inputs.number, abnormal))
