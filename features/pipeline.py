"""The scikit-learn feature pipeline: validated records in, model features out (pandas, named).

Every step has ``get_feature_names_out`` and the whole pipeline emits pandas, so each model feature
maps back to the input field it came from (:func:`field_of_feature`); explanations and importance
tables are grouped back to clinical fields with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from features import schema
from features.derive import add_baseline_indices

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


def _to_model_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable pandas dtypes -> float64 / object with NaN, which every sklearn step accepts."""
    converted = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
            converted[name] = column.astype(object).where(column.notna(), np.nan)
        else:
            converted[name] = pd.to_numeric(column.astype("Float64"), errors="coerce").astype(
                "float64"
            )
    return pd.DataFrame(converted, index=frame.index)


class ClinicalIndices(TransformerMixin, BaseEstimator):
    """Add the derived clinical indices (EScSG, revised EUSTAR, ACR/EULAR 2013) to the records.

    Also fills ``mrss_total`` from the 17 site scores and ``hypocomplementemia`` from C3/C4 where
    they are missing, and converts nullable pandas dtypes to float64/object for later steps.
    Stateless apart from the input feature names.
    """

    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> ClinicalIndices:
        frame = self._as_frame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
        check_is_fitted(self)
        frame = self._as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but ClinicalIndices was fitted with "
                f"{self.n_features_in_} features"
            )
        derived = _to_model_dtypes(add_baseline_indices(frame))
        derived = derived[list(self.get_feature_names_out())]
        # Plain arrays in, plain arrays out: keeps the transformer usable outside pandas pipelines.
        return derived if isinstance(X, pd.DataFrame) else derived.to_numpy(dtype=float)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        check_is_fitted(self)
        names = list(self.feature_names_in_)
        added = [c for c in _DERIVED_OUTPUT if c not in names]
        return np.asarray(names + added, dtype=object)

    @staticmethod
    def _as_frame(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        array = np.asarray(X, dtype=float)
        if array.ndim != 2:
            raise ValueError(f"Expected 2D input, got an array of shape {array.shape}")
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


_DERIVED_OUTPUT: tuple[str, ...] = (
    "mrss_total",
    "hypocomplementemia",
    "escsg_activity_index",
    "escsg_active",
    "eustar_activity_index",
    "eustar_active",
    "acr_eular_2013_score",
)


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
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
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


def field_of_feature(feature: str, categorical: Sequence[str] | None = None) -> str:
    """The input field a model feature comes from (``sex_M`` -> ``sex``)."""
    if feature.startswith(MISSING_PREFIX):
        return feature[len(MISSING_PREFIX) :]
    for field in sorted(categorical or categorical_fields("both"), key=len, reverse=True):
        if feature.startswith(field + "_"):
            return field
    return feature
