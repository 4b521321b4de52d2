"""A fitted preprocessor applied with numpy: the same matrix as sklearn, without its per-step cost.

:func:`compile_preprocessor` reads the fitted parameters out of a preprocessor built by
:func:`features.pipeline.build_preprocessor` (imputation medians, missingness indicators, scaler
mean and scale, one-hot categories, output order). :meth:`CompiledPreprocessor.transform` then
computes the model features with a handful of array operations, the derived indices with the
calculators of :mod:`features.indices` on arrays. The sklearn pipeline stays the reference
(training, persistence, MLflow); ``tests/features/test_fast_transform.py`` holds the two equal.
A pandas/sklearn round trip per step cost ~28 ms for one patient; this path costs well under 1 ms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from features import indices, schema
from features.derive import (
    BASELINE_DERIVED_COLUMNS,
    SSC_NVC_PATTERNS,
    acr_eular_from,
    escsg_from,
    eustar_from,
)
from features.pipeline import MISSING_PREFIX, numeric_block, text_block
from features.validated import ValidatedRecords

__all__ = ["CompiledPreprocessor", "Inputs", "compile_preprocessor"]

TEXT_TYPES = ("category", "string")
# Inputs of the derived indices (features.derive.add_baseline_indices), beside the model fields.
_INDEX_NUMBERS: tuple[str, ...] = (
    *schema.MRSS_SITE_FIELDS, "mrss_total", "c3_g_l", "c4_g_l", "hypocomplementemia",
    "scleredema", "delta_skin", "digital_ulcers_active", "delta_vascular", "arthritis",
    "dlco_pct_pred", "delta_cardiopulmonary", "esr_mm_h", "tendon_friction_rubs", "crp_mg_l",
    "skin_thickening_proximal_mcp", "puffy_fingers", "sclerodactyly", "digital_pitting_scars",
    "telangiectasia", "pah", "ild_on_hrct", "raynaud_phenomenon", "anti_centromere", "anti_topo1",
    "anti_rnap3",
)
_INDEX_TEXTS: tuple[str, ...] = ("nvc_pattern",)
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


# --- the compiled preprocessor -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledPreprocessor:
    """The fitted parameters of a :func:`build_preprocessor` pipeline, applied with numpy.

    Attributes
    ----------
    numeric : tuple of str
        Inputs of the numeric block, in order (derived indices included).
    medians : ndarray
        Imputation value of each numeric input.
    indicator : ndarray of int
        Positions (in ``numeric``) of the inputs with a missingness indicator.
    mean, scale : ndarray or None
        Standardisation of the numeric block (values then indicators); None when not scaled.
    categorical : tuple of str
        One-hot encoded fields, in order.
    fill : ndarray
        Imputation value of each categorical field (``"missing"``).
    categories : tuple of ndarray
        Levels of each categorical field, in output order; unseen levels encode as all zeros.
    feature_names : tuple of str
        Output columns, identical to the pipeline's ``get_feature_names_out()``.
    layout : Layout
        Every field read from the records (model inputs, index inputs and ``also_read``).
    frame_columns : tuple of str
        Columns of :meth:`frame`: the model's fields and the derived indices, in the order of
        the pipeline's ``indices`` step.
    """

    numeric: tuple[str, ...]
    medians: np.ndarray
    indicator: np.ndarray
    mean: np.ndarray | None
    scale: np.ndarray | None
    categorical: tuple[str, ...]
    fill: np.ndarray
    categories: tuple[np.ndarray, ...]
    feature_names: tuple[str, ...]
    layout: Layout
    frame_columns: tuple[str, ...]
    source: np.ndarray  # position in ``layout.numbers`` of each numeric input (derived: any)
    derived: tuple[tuple[int, str], ...]  # (position in ``numeric``, name) of derived inputs

    @property
    def fields(self) -> tuple[str, ...]:
        """Input fields the model reads: numeric inputs, then categorical ones."""
        return self.numeric + self.categorical

    def inputs(self, records: pd.DataFrame | ValidatedRecords) -> Inputs:
        """Read validated records (any subset of the dictionary's fields; a typed frame or the
        arrays of ``validate_record_columns``) into arrays."""
        return read_inputs(records, self.layout)

    def encode(self, inputs: Inputs) -> np.ndarray:
        """Model features (rows x ``feature_names``) of inputs read by :meth:`inputs`."""
        values = inputs.numbers[:, self._source(inputs.layout)]
        for position, name in self.derived:
            values[:, position] = inputs.derived[name]
        if np.isinf(values).any():
            raise ValueError("Input X contains infinity; the model accepts finite values or NaN.")
        missing = np.isnan(values)
        numeric = np.hstack([np.where(missing, self.medians, values), missing[:, self.indicator]])
        if self.mean is not None:
            numeric -= self.mean
        if self.scale is not None:
            numeric /= self.scale
        return np.hstack([numeric, *self._one_hot(inputs)])

    def _source(self, layout: Layout) -> np.ndarray:
        """Positions of the numeric inputs in ``layout`` (inputs read for another model)."""
        if layout is self.layout:
            return self.source
        return np.asarray([0 if name in BASELINE_DERIVED_COLUMNS else layout.number_position(name)
                           for name in self.numeric], dtype=int)

    def _one_hot(self, inputs: Inputs) -> list[np.ndarray]:
        blocks = []
        for name, fill, levels in zip(self.categorical, self.fill, self.categories, strict=True):
            values = inputs.column(name)
            values = np.where(pd.isna(values), fill, values)
            blocks.append((values[:, None] == levels[None, :]).astype("float64"))
        return blocks

    def transform(self, records: pd.DataFrame | ValidatedRecords) -> np.ndarray:
        """Records -> model features, as the fitted pipeline's ``transform`` (as an array)."""
        return self.encode(self.inputs(records))

    def frame(self, inputs: Inputs) -> pd.DataFrame:
        """Fields and derived indices as the pipeline's ``indices`` step emits them (a subset)."""
        columns = {name: inputs.column(name) for name in self.frame_columns}
        for name in self.categorical:  # object, as sklearn saw them (pandas would infer "str")
            columns[name] = pd.Series(columns[name], index=inputs.index, dtype=object, copy=False)
        return pd.DataFrame(columns, index=inputs.index)


def _unsupported(what: str) -> TypeError:
    return TypeError(
        "compile_preprocessor reads pipelines built by features.pipeline.build_preprocessor; "
        + what
    )


def _steps(preprocessor: Pipeline) -> dict[str, tuple[Any, list[str]]]:
    """The fitted ``encode`` step's transformers with their columns, refused if not ours."""
    encode = getattr(preprocessor, "named_steps", {}).get("encode")
    if encode is None or not hasattr(encode, "transformers_"):
        raise _unsupported("it needs a fitted 'encode' ColumnTransformer step")
    parts = {name: (step, list(columns)) for name, step, columns in encode.transformers_}
    remainder = parts.get("remainder", ("drop", []))[0]
    if set(parts) - {"numeric", "categorical", "remainder"} or remainder != "drop":
        raise _unsupported(f"got transformers {sorted(parts)} (remainder must be dropped)")
    return parts


def _numeric_parameters(step: Any) -> dict[str, Any]:
    impute, scale = step.named_steps["impute"], step.named_steps.get("scale")
    medians = np.asarray(impute.statistics_, dtype="float64")
    missing_values = impute.missing_values
    if not (isinstance(missing_values, float) and np.isnan(missing_values)):
        raise _unsupported(f"the numeric imputer must treat NaN as missing, not {missing_values!r}")
    if np.isnan(medians).any() and not impute.keep_empty_features:
        raise _unsupported("an all-missing numeric column would be dropped (keep_empty_features)")
    indicator = impute.indicator_.features_ if impute.add_indicator else np.array([], dtype=int)
    return {"medians": medians, "indicator": np.asarray(indicator, dtype=int),
            "mean": None if scale is None else scale.mean_,
            "scale": None if scale is None else scale.scale_}


def _categorical_parameters(step: Any, fields: list[str]) -> dict[str, Any]:
    if not fields:
        return {"fill": np.array([], dtype=object), "categories": ()}
    impute, onehot = step.named_steps["impute"], step.named_steps["onehot"]
    if onehot.handle_unknown != "ignore" or onehot.drop_idx_ is not None:
        raise _unsupported("the one-hot encoder must ignore unknown levels and drop none")
    return {"fill": np.asarray(impute.statistics_, dtype=object),
            "categories": tuple(np.asarray(c, dtype=object) for c in onehot.categories_)}


def _layout(numeric: list[str], categorical: list[str], also_read: Iterable[str]) -> Layout:
    extra = list(also_read)
    numbers = [n for n in numeric if n not in BASELINE_DERIVED_COLUMNS]
    numbers += [*_INDEX_NUMBERS, *(n for n in extra if not is_text_field(n))]
    texts = [*categorical, *_INDEX_TEXTS, *(n for n in extra if is_text_field(n))]
    return Layout(tuple(dict.fromkeys(numbers)), tuple(dict.fromkeys(texts)))


def _frame_columns(fields: Sequence[str]) -> tuple[str, ...]:
    """The ``indices`` step's output order (baseline fields, then derived), kept to ``fields``."""
    order = [*schema.baseline_fields(), *BASELINE_DERIVED_COLUMNS, *fields]
    wanted = set(fields) | set(BASELINE_DERIVED_COLUMNS)
    return tuple(name for name in dict.fromkeys(order) if name in wanted)


def compile_preprocessor(
    preprocessor: Pipeline, also_read: Iterable[str] = ()
) -> CompiledPreprocessor:
    """The parameters of a fitted :func:`features.pipeline.build_preprocessor` pipeline as arrays.

    Parameters
    ----------
    preprocessor : fitted Pipeline
        ``ClinicalIndices`` then the ``encode`` ColumnTransformer, as ``build_preprocessor``
        makes it (scaled or not, any feature set).
    also_read : iterable of str
        Further fields :meth:`CompiledPreprocessor.inputs` should read (e.g. for input warnings).

    Raises
    ------
    TypeError
        When the pipeline has another structure, or the compiled output names differ from the
        pipeline's ``get_feature_names_out()``.
    """
    parts = _steps(preprocessor)
    numeric_step, numeric = parts["numeric"]
    categorical_step, categorical = parts.get("categorical", (None, []))
    numbers = _numeric_parameters(numeric_step)
    levels = _categorical_parameters(categorical_step, categorical)
    names = [*numeric, *(MISSING_PREFIX + numeric[i] for i in numbers["indicator"])]
    names += [f"{field}_{level}" for field, found in zip(categorical, levels["categories"],
                                                         strict=True) for level in found]
    expected = [str(n) for n in preprocessor.get_feature_names_out()]
    if names != expected:
        raise _unsupported(f"compiled features {names} differ from the pipeline's {expected}")
    layout = _layout(numeric, categorical, also_read)
    derived = tuple((j, n) for j, n in enumerate(numeric) if n in BASELINE_DERIVED_COLUMNS)
    source = [0 if n in BASELINE_DERIVED_COLUMNS else layout.number_position(n) for n in numeric]
    return CompiledPreprocessor(
        numeric=tuple(numeric), categorical=tuple(categorical), feature_names=tuple(names),
        layout=layout, frame_columns=_frame_columns([*numeric, *categorical]),
        source=np.asarray(source, dtype=int), derived=derived, **numbers, **levels,
    )
