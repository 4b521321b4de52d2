"""The served model: classifier, mRSS-change regressor, intervals, explainer and training ranges.

One :class:`ResponseModel` answers for a batch of validated patient records at once: every step
(feature pipeline, estimators, bootstrap interval, SHAP) is called once per batch, not per patient.
The fitted sklearn preprocessing and the ΔmRSS ridge are applied through numpy twins compiled on
first use (:mod:`features.fast_transform`, :func:`models.estimators.compile_delta_regressor`):
the same numbers, without ~60 ms of pandas/sklearn overhead per one-patient request. Given the
arrays of :func:`features.validation.validate_record_columns` (the service's path), ``predict``
builds no DataFrame at all unless an estimator checks column names (tree classifiers, members
scored through sklearn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from features.fast_transform import CompiledPreprocessor, compile_preprocessor
from features.inputs import Inputs
from features.pipeline import categorical_fields, field_of_feature, field_units
from features.validated import ValidatedRecords
from models import tree_eval
from models.delta import DeltaMrssClassifier
from models.estimators import LinearDelta, compile_delta_regressor
from models.explain import GroupedExplainer
from models.input_checks import InputChecks
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

    def warm(self) -> None:
        """Build now what is otherwise built on first use, so no request pays for it (~5 ms; a
        random-forest model also compiles its 30 bootstrap forests, ~120 ms)."""
        for part in ("explainer", "_compiled", "_checks", "_ensemble_reads_arrays",
                     "_classifier_reads_arrays", "_shown_fields"):
            getattr(self, part)
        # Compiles what is built on first call (a forest's trees: ~4 ms per forest, x 30).
        _probability(self.classifier.named_steps["estimator"], self.background.iloc[:1])
        self.probability_ensemble.predictions(self.background.iloc[:1])

    @cached_property
    def _delta(self) -> LinearDelta:
        """The ΔmRSS regressor as arrays: built on first use, never serialised."""
        return compile_delta_regressor(self.regressor)

    @cached_property
    def _compiled(self) -> CompiledPreprocessor:
        """The classifier's fitted preprocessing as arrays: built on first use, never serialised.

        It also reads the fields the input warnings check and an older bundle's regressor needs.
        """
        also = [*self.summary.missing_share, *self._delta.fields]
        return compile_preprocessor(self.classifier.named_steps["preprocess"], also_read=also)

    @cached_property
    def _checks(self) -> InputChecks:
        return InputChecks.from_summary(self.summary)

    @cached_property
    def _ensemble_reads_arrays(self) -> bool:
        """Whether the bootstrap members can be scored on the bare matrix, with the same numbers.

        mRSS-change members read it as it is (a frame cost ~30 µs per member to convert);
        linear and tree members are scored by the ensemble's own array formulas, which read a
        frame as its matrix anyway. Other sklearn members check the column names: they get the
        frame.
        """
        ensemble = self.probability_ensemble
        if getattr(ensemble, "coef_", None) is not None or ensemble.tree_members:
            return True
        return all(isinstance(member, DeltaMrssClassifier) for member in ensemble.estimators_)

    @cached_property
    def _classifier_reads_arrays(self) -> bool:
        """Whether :func:`_probability` can take the bare matrix: a binary logistic regression
        (its formula), a binary tree ensemble (its compiled trees) or the mRSS-change classifier
        (arrays in, same numbers); other sklearn models check the column names they were fitted
        with, so they get the frame."""
        estimator = self.classifier.named_steps["estimator"]
        return (_is_binary_logistic(estimator) or tree_eval.supports(estimator)
                or isinstance(estimator, DeltaMrssClassifier))

    @cached_property
    def _shown_fields(self) -> tuple[str, ...]:
        """The explained fields that have a shown value: those of the ``indices`` step's output
        (:meth:`CompiledPreprocessor.frame`); any other is shown as ``None``."""
        available = set(self._compiled.frame_columns)
        return tuple(name for name in self.explainer.fields if name in available)

    def transform(
        self, records: pd.DataFrame | ValidatedRecords
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Records -> (the model's fields with derived indices, model features).

        The numbers of the fitted sklearn preprocessor (its ``indices`` step's output, kept to
        the columns the model reads, and its ``encode`` step's output).
        """
        inputs = self._compiled.inputs(records)
        return self._compiled.frame(inputs), self._features(inputs)

    def _features(self, inputs: Inputs) -> pd.DataFrame:
        """Model features, wrapped once: the estimators and the explainer check column names."""
        names = list(self._compiled.feature_names)
        return pd.DataFrame(self._compiled.encode(inputs), index=inputs.index, columns=names,
                            copy=False)

    def predict(self, records: pd.DataFrame | ValidatedRecords) -> list[dict[str, Any]]:
        """One prediction per record: probability, ΔmRSS, indices, explanation, warnings.

        ``records`` is a validated frame or the arrays of ``validate_record_columns``; both give
        the same predictions; from the arrays, a frame is built only for an estimator that
        checks column names (:class:`_Features`).
        """
        inputs = self._compiled.inputs(records)
        features = _Features(self._compiled.encode(inputs), self._compiled.feature_names,
                             inputs.index)
        matrix = features.matrix
        probability = _probability(self.classifier.named_steps["estimator"],
                                   features.input(self._classifier_reads_arrays))
        p_low, p_high = self.probability_ensemble.interval(
            features.input(self._ensemble_reads_arrays), level=self.probability_level)
        delta = self._delta.predict(inputs, matrix)
        baseline = inputs.derived["mrss_total"]
        d_low, d_high = self.delta_conformal.interval(
            delta, level=self.delta_level, lower=-baseline, upper=51.0 - baseline
        )
        shown = {name: inputs.column(name) for name in self._shown_fields}
        explanations = self.explainer.explain_dicts(matrix, shown)
        rows = zip(
            records["patient_id"],
            _intervals(probability, p_low, p_high, self.probability_level, "probability", 0, 1),
            _intervals(delta, d_low, d_high, self.delta_level, "points", -51, 51),
            _index_values(inputs), explanations, self._checks.messages(inputs), strict=True,
        )
        return [
            {"patient_id": str(pid), "probability_response": p, "predicted_delta_mrss": d,
             "indices": values, "explanation": explanation, "warnings": warnings}
            for pid, p, d, values, explanation, warnings in rows
        ]

    def warnings(self, records: pd.DataFrame | ValidatedRecords) -> list[list[str]]:
        """Per record: fields the model had to impute, and values outside the training range."""
        return self._checks.messages(self._compiled.inputs(records))


@dataclass(frozen=True, eq=False)
class _Features:
    """A batch's model features: the matrix, and a frame of it only if an estimator needs one.

    sklearn estimators fitted on a frame check the column names of what they score; the
    compiled preprocessing already guarantees them, so the frame (~0.1 ms) is built only for
    an estimator that would otherwise warn, once per batch.
    """

    matrix: np.ndarray
    names: Sequence[str]
    index: pd.Index

    @cached_property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.matrix, index=self.index, columns=list(self.names), copy=False)

    def input(self, reads_arrays: bool) -> np.ndarray | pd.DataFrame:
        """What to hand an estimator: the matrix if it reads arrays, else the frame."""
        return self.matrix if reads_arrays else self.frame


def _is_binary_logistic(estimator: Any) -> bool:
    return isinstance(estimator, LogisticRegression) and len(estimator.classes_) == 2


def _probability(estimator: Any, features: pd.DataFrame | np.ndarray) -> np.ndarray:
    """P(class 1): ``predict_proba(features)[:, 1]``; for a binary logistic regression, its
    formula without sklearn's input checks (~0.5 ms a call; the feature names were checked when
    the preprocessing was compiled), for a forest or boosted trees their compiled trees (a forest
    cost ~10 ms a call with sklearn's per-tree checks and dispatch). Pass a frame to an estimator
    that checks names."""
    if _is_binary_logistic(estimator):
        decision = np.asarray(features) @ estimator.coef_.T + estimator.intercept_
        return np.asarray(expit(decision), dtype=float).reshape(-1)
    if tree_eval.supports(estimator):
        return tree_eval.tree_output(estimator, np.asarray(features))
    return np.asarray(estimator.predict_proba(features), dtype=float)[:, 1]


def _intervals(estimate: np.ndarray, low: np.ndarray, high: np.ndarray, level: float,
               unit: str, floor: float, ceiling: float) -> list[dict[str, Any]]:
    """Per row: the estimate and an interval that contains it, clipped to [floor, ceiling].

    The bootstrap interval comes from refits on resamples, not from the full-data model, so for
    a patient at the edge its percentiles can miss the reported estimate by a little; the
    interval is widened to the estimate rather than shown beside a point it excludes.
    """
    def clip(values: np.ndarray) -> list[float]:
        return np.minimum(np.maximum(values, floor), ceiling).astype(float).tolist()

    rows = zip(clip(estimate), clip(np.minimum(low, estimate)), clip(np.maximum(high, estimate)),
               strict=True)
    return [{"estimate": e, "lower": lo, "upper": hi, "level": level, "unit": unit}
            for e, lo, hi in rows]


def _index_values(inputs: Inputs) -> list[dict[str, Any]]:
    """Per row, the derived indices as JSON values (flags as bools, ``None`` where unknown)."""
    columns = []
    for name in INDEX_COLUMNS:
        flag = name.endswith("_active") or name == "hypocomplementemia"
        values = inputs.derived[name].tolist()
        columns.append([None if math.isnan(v) else (bool(v) if flag else v) for v in values])
    return [dict(zip(INDEX_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]
