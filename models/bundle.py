"""The served model: classifier, mRSS-change regressor, intervals, explainer and training ranges.

One :class:`ResponseModel` answers for a batch of validated patient records at once: every step
(feature pipeline, estimators, bootstrap interval, SHAP) is called once per batch, not per patient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from features.pipeline import as_model_frame, categorical_fields, field_of_feature, field_units
from models.explain import Explanation, GroupedExplainer
from models.uncertainty import BootstrapEnsemble, ConformalInterval

INDEX_COLUMNS: tuple[str, ...] = (
    "mrss_total",
    "escsg_activity_index",
    "escsg_active",
    "eustar_activity_index",
    "eustar_active",
    "acr_eular_2013_score",
    "hypocomplementemia",
)


@dataclass
class TrainingSummary:
    """What the training data looked like, to flag inputs the model has not seen."""

    n_patients: int
    numeric_ranges: dict[str, tuple[float, float]]
    medians: dict[str, float]
    categories: dict[str, list[str]]
    missing_share: dict[str, float]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, used_fields: list[str]) -> TrainingSummary:
        numeric, medians, categories, missing = {}, {}, {}, {}
        for name in used_fields:
            column = frame[name]
            missing[name] = float(column.isna().mean())
            if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
                categories[name] = sorted(str(v) for v in column.dropna().unique())
                continue
            values = pd.to_numeric(column.astype("Float64"), errors="coerce").dropna()
            if len(values):
                numeric[name] = (float(values.min()), float(values.max()))
                medians[name] = float(values.median())
        return cls(len(frame), numeric, medians, categories, missing)


@dataclass
class ResponseModel:
    """Everything needed to answer for a patient; serialised by :mod:`models.serialization`."""

    classifier: Pipeline
    regressor: Pipeline
    probability_ensemble: BootstrapEnsemble
    delta_conformal: ConformalInterval
    background: pd.DataFrame
    summary: TrainingSummary
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def probability_level(self) -> float:
        return float(self.metadata.get("probability_interval_level", 0.95))

    @property
    def delta_level(self) -> float:
        return float(self.metadata.get("delta_interval_level", 0.90))

    def field_of(self, feature: str) -> str:
        """The input field a model feature comes from."""
        return field_of_feature(feature, self._categorical)

    @cached_property
    def _categorical(self) -> list[str]:
        return categorical_fields(self.metadata.get("feature_set", "both"))

    @cached_property
    def explainer(self) -> GroupedExplainer:
        """Built on first use (server start-up), never serialised: shap objects are not data."""
        return GroupedExplainer(
            self.classifier.named_steps["estimator"],
            self.background,
            field_of=self.field_of,
            units=field_units(),
        )

    def transform(self, records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Records -> (records with derived indices, model features)."""
        preprocess = self.classifier.named_steps["preprocess"]
        with_indices = preprocess.named_steps["indices"].transform(as_model_frame(records))
        return with_indices, preprocess.named_steps["encode"].transform(with_indices)

    def predict(self, records: pd.DataFrame) -> list[dict[str, Any]]:
        """One prediction per record: probability, ΔmRSS, indices, explanation, warnings."""
        with_indices, features = self.transform(records)
        estimator = self.classifier.named_steps["estimator"]
        probability = estimator.predict_proba(features)[:, 1]
        p_low, p_high = self.probability_ensemble.interval(features, level=self.probability_level)
        delta = self.regressor.predict(as_model_frame(records))
        baseline = with_indices["mrss_total"].to_numpy(dtype=float)
        d_low, d_high = self.delta_conformal.interval(
            delta, level=self.delta_level, lower=-baseline, upper=51.0 - baseline
        )
        explanations = self.explainer.explain(features, with_indices)
        warnings = self.warnings(records)
        return [
            {
                "patient_id": str(pid),
                "probability_response": _interval(probability[i], p_low[i], p_high[i],
                                                  self.probability_level, "probability", 0, 1),
                "predicted_delta_mrss": _interval(delta[i], d_low[i], d_high[i],
                                                  self.delta_level, "points", -51, 51),
                "indices": _indices(with_indices.iloc[i]),
                "explanation": _explanation_dict(explanations[i]),
                "warnings": warnings[i],
            }
            for i, pid in enumerate(records["patient_id"])
        ]

    def warnings(self, records: pd.DataFrame) -> list[list[str]]:
        """Per record: fields the model had to impute, and values outside the training range."""
        frame = as_model_frame(records)
        messages: list[list[str]] = [[] for _ in range(len(frame))]
        units = field_units()
        used = set(self.summary.missing_share)
        for name in sorted(used):
            column = frame[name]
            for i in np.flatnonzero(column.isna().to_numpy()):
                messages[i].append(self._imputed_message(name, units.get(name, "")))
            if name in self.summary.numeric_ranges:
                self._range_messages(name, column, units.get(name, ""), messages)
            elif name in self.summary.categories:
                self._category_messages(name, column, messages)
        return messages

    def _imputed_message(self, name: str, unit: str) -> str:
        if name in self.summary.medians:
            return (f"{name} missing: imputed with the training median "
                    f"{_fmt(self.summary.medians[name])} {unit}".rstrip())
        return f"{name} missing: treated as an unknown category"

    def _range_messages(self, name: str, column: pd.Series, unit: str,
                        messages: list[list[str]]) -> None:
        low, high = self.summary.numeric_ranges[name]
        values = pd.to_numeric(column.astype("Float64"), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        for i in np.flatnonzero((values < low) | (values > high)):
            messages[i].append(
                f"{name} = {_fmt(values[i])} {unit} is outside the training range "
                f"{_fmt(low)}-{_fmt(high)} {unit}; the prediction extrapolates".replace("  ", " ")
            )

    def _category_messages(self, name: str, column: pd.Series,
                           messages: list[list[str]]) -> None:
        seen = set(self.summary.categories[name])
        for i, value in enumerate(column):
            if not pd.isna(value) and str(value) not in seen:
                messages[i].append(f"{name} = {value!r} was not seen in training")


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _interval(estimate: float, low: float, high: float, level: float, unit: str,
              floor: float, ceiling: float) -> dict[str, Any]:
    clip = lambda v: float(min(max(v, floor), ceiling))  # noqa: E731
    return {"estimate": clip(estimate), "lower": clip(min(low, estimate)),
            "upper": clip(max(high, estimate)), "level": level, "unit": unit}


def _indices(row: pd.Series) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in INDEX_COLUMNS:
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values[name] = None
        elif name.endswith("_active") or name == "hypocomplementemia":
            values[name] = bool(value)
        else:
            values[name] = float(value)
    return values


def _explanation_dict(explanation: Explanation) -> dict[str, Any]:
    return explanation.to_dict()
