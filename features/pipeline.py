"""The scikit-learn feature pipeline: validated records in, model features out (pandas, named).

Every step has ``get_feature_names_out`` and the whole pipeline emits pandas, so each model feature
maps back to the input field it came from (:func:`field_of_feature`); explanations and importance
tables are grouped back to clinical fields with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import Tags
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from features import schema
from features.derive import BASELINE_DERIVED_COLUMNS, add_baseline_indices

FeatureSet = Literal["clinical", "histology", "both"]
FEATURE_SETS: tuple[str, ...] = ("clinical", "histology", "both")
MISSING_PREFIX = "missingindicator_"

# Derived baseline indices the model sees. The dichotomised `*_active` flags are left out: they
# are a threshold of the index beside them and would only add a redundant, step-shaped feature.
DERIVED_MODEL_FEATURES: tuple[str, ...] = (
    "escsg_activity_index",
    "eustar_activity_index",
    "acr_eular_2013_score",
)
DERIVED_UNITS: dict[str, str] = {name: "points" for name in DERIVED_MODEL_FEATURES}


def _model_input_fields(feature_set: str) -> list[str]:
    """Baseline fields a feature set uses (never the ID; the total stands for the 17 sites)."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set must be one of {FEATURE_SETS}, got {feature_set!r}")
    chosen = []
    for name in schema.baseline_fields():
        if name in schema.MRSS_SITE_FIELDS:
            continue
        is_histology = schema.fields()[name].group == "histology"
        if feature_set == "both" or (feature_set == "histology") == is_histology:
            chosen.append(name)
    return chosen


def categorical_fields(feature_set: str) -> list[str]:
    """Category fields of a feature set (one-hot encoded)."""
    return [n for n in _model_input_fields(feature_set) if schema.fields()[n].type == "category"]


def numeric_fields(feature_set: str) -> list[str]:
    """Numeric and boolean fields of a feature set, derived indices included for clinical sets."""
    plain = [n for n in _model_input_fields(feature_set) if schema.fields()[n].type != "category"]
    derived = list(DERIVED_MODEL_FEATURES) if feature_set != "histology" else []
    return plain + derived


def field_units() -> dict[str, str]:
    """Unit of every field a model can see, for explanations in clinical units."""
    units = {name: field.unit for name, field in schema.fields().items()}
    units.update(DERIVED_UNITS)
    return units


def as_model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Reindex validated records to every baseline field so optional columns may be absent."""
    return frame.reindex(columns=schema.baseline_fields())


Groups = dict[Any, tuple[list[int], list[int]]]


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
    """``frame[names]`` as one float64 array (NaN where missing or absent), one conversion per
    dtype; booleans as 1/0."""
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


def _is_textual(name: object, dtype: Any) -> bool:
    field = schema.fields().get(str(name))
    in_dictionary = field is not None and field.type in ("category", "string")
    return in_dictionary or isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)


def _to_model_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable pandas dtypes -> float64 / object with NaN, which every sklearn step accepts.

    Category and string fields of the dictionary become object even when the column is all
    missing (float64 after :func:`as_model_frame`), so the categorical imputer never sees them as
    numbers. Converted one dtype group at a time (column by column cost ~13 ms per call).
    """
    names = list(frame.columns)
    textual = [_is_textual(n, d) for n, d in zip(names, frame.dtypes, strict=True)]
    numeric = [n for n, text in zip(names, textual, strict=True) if not text]
    texts = [n for n, text in zip(names, textual, strict=True) if text]
    converted: dict[object, Any] = dict(zip(numeric, numeric_block(frame, numeric).T, strict=True))
    for name, values in zip(texts, text_block(frame, texts).T, strict=True):
        # A Series keeps object dtype (pandas would infer its string dtype from a bare array).
        converted[name] = pd.Series(values, index=frame.index, dtype=object)
    return pd.DataFrame({name: converted[name] for name in names}, index=frame.index)


class ClinicalIndices(TransformerMixin, BaseEstimator):
    """Add the derived clinical indices (EScSG, revised EUSTAR, ACR/EULAR 2013) to the records.

    Also fills ``mrss_total`` from the 17 site scores and ``hypocomplementemia`` from C3/C4 where
    they are missing, and converts nullable pandas dtypes to float64/object for later steps.
    Stateless apart from the input feature names.

    A DataFrame (the intended input: validated records with dictionary column names) comes back
    as a DataFrame with the input columns, then those of
    :data:`features.derive.BASELINE_DERIVED_COLUMNS` it lacked. A numeric array is accepted too
    (its columns are named ``x0``, ``x1``... and so match no clinical field: the indices are
    then computed from absent items) and comes back as a float array.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`; only set when ``X`` had string column names.
    """

    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> ClinicalIndices:
        """Record the number and names of the input columns; nothing else is learned."""
        self._validate(X, reset=True)
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
        """The records with the derived indices added (a new object; ``X`` is not modified)."""
        check_is_fitted(self, "n_features_in_")
        frame = self._validate(X, reset=False)
        derived = _to_model_dtypes(add_baseline_indices(frame))
        derived = derived[list(self.get_feature_names_out())]
        # Plain arrays in, plain arrays out: keeps the transformer usable outside pandas pipelines.
        return derived if isinstance(X, pd.DataFrame) else derived.to_numpy(dtype=float)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Input column names, then the derived columns the input lacked."""
        check_is_fitted(self, "n_features_in_")
        names = list(_check_feature_names_in(self, input_features))
        added = [c for c in BASELINE_DERIVED_COLUMNS if c not in names]
        return np.asarray(names + added, dtype=object)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN / <NA> is how a record says "not measured"
        return tags

    def _validate(self, X: pd.DataFrame | np.ndarray, reset: bool) -> pd.DataFrame:
        """Check the number and names of columns; X as a frame with string column names."""
        if isinstance(X, pd.DataFrame):
            # Mixed nullable dtypes must reach the indices as they are: only names are checked.
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype="numeric")
        names = _check_feature_names_in(self, None)
        return pd.DataFrame(array, columns=list(names))


def build_preprocessor(feature_set: str = "both", scale: bool = False) -> Pipeline:
    """Indices, median imputation with missingness indicators, one-hot encoding, optional scaling.

    ``scale=True`` standardises numeric columns for penalised linear models, whose penalty
    otherwise depends on each field's unit.
    """
    numeric_steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical = Pipeline(
        [
            # Kept even when all missing in training, like the numeric fields: a fitted
            # pipeline's output columns then depend on the feature set only, not on the cohort.
            (
                "impute",
                SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True),
            ),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    encode = ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), numeric_fields(feature_set)),
            ("categorical", categorical, categorical_fields(feature_set)),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    preprocessor = Pipeline([("indices", ClinicalIndices()), ("encode", encode)])
    return preprocessor.set_output(transform="pandas")


def numeric_feature_names(preprocessor: Pipeline) -> list[str]:
    """Output columns of a fitted preprocessor's numeric block: values, then missing indicators.

    The columns ``build_preprocessor(scale=True)`` standardises (one-hot columns are not).
    """
    numeric = preprocessor.named_steps["encode"].named_transformers_["numeric"]
    return [str(name) for name in numeric.get_feature_names_out()]


def field_of_feature(feature: str, categorical: Sequence[str] | None = None) -> str:
    """The input field a model feature comes from (``sex_M`` -> ``sex``)."""
    if feature.startswith(MISSING_PREFIX):
        return feature[len(MISSING_PREFIX) :]
    known = categorical_fields("both") if categorical is None else categorical
    for field in sorted(known, key=len, reverse=True):
        if feature.startswith(field + "_"):
            return field
    return feature
