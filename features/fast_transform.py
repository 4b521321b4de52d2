"""A fitted preprocessor applied with numpy: the same matrix as sklearn, without its per-step cost.

:func:`compile_preprocessor` reads the fitted parameters out of a preprocessor built by
:func:`features.pipeline.build_preprocessor` (imputation medians, missingness indicators, scaler
mean and scale, one-hot categories, output order). :meth:`CompiledPreprocessor.transform` then
computes the model features with a handful of array operations, from inputs read (with the
derived indices) by :mod:`features.inputs`. The sklearn pipeline stays the reference (training,
persistence, MLflow); ``tests/features/test_fast_transform.py`` holds the two equal.
A pandas/sklearn round trip per step cost ~28 ms for one patient; this path costs well under 1 ms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from features import schema
from features.derive import BASELINE_DERIVED_COLUMNS
from features.inputs import (
    INDEX_NUMBERS,
    INDEX_TEXTS,
    Inputs,
    Layout,
    is_text_field,
    read_inputs,
)
from features.pipeline import MISSING_PREFIX
from features.validated import ValidatedRecords

__all__ = ["CompiledPreprocessor", "Inputs", "compile_preprocessor"]

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
    numbers += [*INDEX_NUMBERS, *(n for n in extra if not is_text_field(n))]
    texts = [*categorical, *INDEX_TEXTS, *(n for n in extra if is_text_field(n))]
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
