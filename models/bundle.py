"""The served model: recalibrated classifier, ΔmRSS model, intervals, explainer, training ranges.

One :class:`ResponseModel` answers for a batch of validated patient records at once. Every number
comes from the fitted scikit-learn objects themselves, called once per batch: the feature
pipeline's ``indices`` step runs once, its encoding once, and then the classifier, the
probability interval's members, the ΔmRSS model, its CV+ fold estimators and the explainer all
read that one imputed, encoded feature matrix (an estimator that needs standardised inputs
standardises inside itself). There is no second implementation of any of them, so a new
estimator family needs no serving code of its own.

:meth:`ResponseModel.predict` is a short sequence of named steps (transform, probability,
probability interval, ΔmRSS, ΔmRSS interval, explanation, warnings); each step
is one method that calls the fitted object it names, so changing what a step holds (a calibrated
classifier, another interval method) means editing that one method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.pipeline import Pipeline

from ssc_response.features.imputation import ChainedImputer
from ssc_response.features.pipeline import (
    FeatureSpec,
    as_model_frame,
    field_of_feature,
    field_units,
)
from ssc_response.models.conformal import ConformalDelta
from ssc_response.models.explain import GroupedExplainer
from ssc_response.models.explanation_notes import annotate, shown_values, uncertainty_words
from ssc_response.models.input_checks import InputChecks
from ssc_response.models.missing_range import MissingRange, missing_ranges
from ssc_response.models.probability_interval import ProbabilityInterval
from ssc_response.models.summary import TrainingSummary

INDEX_COLUMNS: tuple[str, ...] = (
    "mrss_total",
    "escsg_activity_index",
    "escsg_active",
    "eustar_activity_index",
    "eustar_active",
    "acr_eular_2013_score",
    "hypocomplementemia",
)
MRSS_MAX = 51.0  # 17 sites x 3 points

__all__ = ["INDEX_COLUMNS", "ResponseModel", "TrainingSummary"]

Interval = tuple[np.ndarray, np.ndarray]


@dataclass
class ResponseModel:
    """Everything needed to answer for a patient; serialised by :mod:`models.serialization`.

    Attributes
    ----------
    classifier : Pipeline
        ``preprocess`` (:func:`features.pipeline.build_preprocessor`) then ``estimator``, the
        champion wrapped in its out-of-fold recalibration
        (:class:`models.calibration.RecalibratedClassifier`).
    delta_model : Pipeline or None
        ``preprocess`` (the classifier's own, fitted once) then a
        :class:`models.delta.DeltaMrssClassifier`: the model behind ``predicted_delta_mrss``,
        which reads the champion's features. ``None`` when the champion itself is the ΔmRSS
        model: then one fitted model gives both the probability and the change.
    probability_members : ProbabilityInterval
        Bootstrap refits of the champion's whole procedure, on the champion's features: the
        standard error of the log-odds.
    delta_cv_plus : ConformalDelta
        The ΔmRSS model's fold estimators (fitted on the same features, which they read too)
        and their held-out conformity scores: the CV+ interval.
    background : DataFrame
        Model features of up to 100 training patients (the explainer's background).
    summary : TrainingSummary
        Per-field aggregates of the training cohort (warnings, parity probes).
    metadata : dict
        Experiment, family, interval levels, data provenance.
    probes : dict or None
        Synthetic records and the outputs the validated model gave them (:mod:`models.parity`).
    missing_draws : ChainedImputer or None
        The champion's imputation refitted with ``sample_posterior=True`` on the training
        cohort: stochastic draws of a patient's blank fields (:mod:`models.missing_range`).
    """

    classifier: Pipeline
    delta_model: Pipeline | None
    probability_members: ProbabilityInterval
    delta_cv_plus: ConformalDelta
    background: pd.DataFrame
    summary: TrainingSummary
    metadata: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, Any] | None = None
    missing_draws: ChainedImputer | None = None

    @property
    def probability_level(self) -> float:
        return float(self.metadata.get("probability_interval_level", 0.95))

    @property
    def delta_level(self) -> float:
        return float(self.metadata.get("delta_interval_level", 0.90))

    @property
    def preprocessor(self) -> Pipeline:
        """The fitted feature pipeline: clinical indices, then the encoding."""
        return self.classifier.named_steps["preprocess"]

    @property
    def estimator(self) -> Any:
        """The fitted classifier behind ``probability_response``."""
        return self.classifier.named_steps["estimator"]

    def field_of(self, feature: str) -> str:
        """The input field a model feature comes from."""
        return field_of_feature(feature, self._categorical)

    @cached_property
    def _categorical(self) -> list[str]:
        return FeatureSpec.listed(self.metadata["feature_fields"]).categorical

    @property
    def delta_estimator(self) -> Any:
        """The fitted :class:`models.delta.DeltaMrssClassifier` behind the predicted change."""
        if self.delta_model is None:
            return self.estimator.estimator_  # the champion itself, inside its recalibration
        return self.delta_model.named_steps["estimator"]

    @cached_property
    def explainer(self) -> GroupedExplainer:
        """Built on first use (server start-up), never serialised: shap objects are not data."""
        return GroupedExplainer(self.estimator, self.background, field_of=self.field_of,
                                units=field_units())

    @cached_property
    def _checks(self) -> InputChecks:
        return InputChecks.from_summary(self.summary)

    def warm(self) -> None:
        """Build now what is otherwise built on first use, so no request pays for it."""
        for part in ("explainer", "_checks"):
            getattr(self, part)

    # --- the steps of a prediction, each calling the fitted object it names ---------------------

    def transform(self, records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Validated records -> (their fields with the derived indices, model features)."""
        encoded = self.encode(records)
        return encoded.with_indices, encoded.features

    def encode(self, records: pd.DataFrame) -> Encoded:
        """The fitted feature pipeline step by step, once per batch: the ``indices`` step's
        output (what the explanation shows, the reported indices), the encoding's columns
        before imputation (NaN where blank), and after imputation: the model features every
        estimator of the bundle reads."""
        with_indices = self.preprocessor.named_steps["indices"].transform(as_model_frame(records))
        encode = self.preprocessor.named_steps["encode"]
        columns = encode.named_steps["columns"].transform(with_indices)
        imputed = encode.named_steps["impute"].transform(columns)
        return Encoded(with_indices, columns, imputed)

    def missing_ranges(self, encoded: Encoded) -> list[MissingRange | None]:
        """Per row, the probability's range over draws of its blank fields (``None`` when the
        model's fields are all recorded, or the bundle has no stochastic imputer)."""
        if self.missing_draws is None:
            return [None] * len(encoded.columns)
        return missing_ranges(encoded.columns, encoded.imputed, self.missing_draws,
                              int(self.metadata.get("missing_draws", 20)), self.field_of,
                              self.logit)

    def logit(self, features: pd.DataFrame) -> np.ndarray:
        """Recalibrated log-odds of skin response per row."""
        return np.asarray(self.estimator.decision_function(features), dtype=float)

    def probability_interval(self, features: pd.DataFrame, logit: np.ndarray) -> Interval:
        """``expit(logit ± z·SE)``: SE from the bootstrap refits of the whole procedure."""
        return self.probability_members.interval(features, logit, level=self.probability_level)

    def delta_mrss(self, features: pd.DataFrame) -> np.ndarray:
        """Predicted change in mRSS (points; negative = improvement)."""
        return np.asarray(self.delta_estimator.predict_delta(features), dtype=float)

    def delta_interval(self, features: pd.DataFrame, with_indices: pd.DataFrame) -> Interval:
        """CV+ interval of the change, kept to what the baseline score allows."""
        baseline = with_indices["mrss_total"].to_numpy(dtype=float)
        return self.delta_cv_plus.interval(features, baseline, level=self.delta_level)

    def explanations(self, features: pd.DataFrame,
                     with_indices: pd.DataFrame) -> list[dict[str, Any]]:
        """Per row, the SHAP explanation grouped per input field (JSON-ready)."""
        return self.explainer.explain_dicts(features, with_indices)

    def warnings(self, records: pd.DataFrame) -> list[list[str]]:
        """Per record: fields the model had to impute, and values outside the training range."""
        return self._checks.messages(records)

    def predict(self, records: pd.DataFrame) -> list[dict[str, Any]]:
        """One prediction per validated record: probability, ΔmRSS, indices, explanation,
        warnings, the range the blank fields leave open (``records``: a frame of
        :func:`features.validation.validate_records`)."""
        encoded = self.encode(records)
        with_indices, features = encoded.with_indices, encoded.features
        logit = self.logit(features)
        probability = expit(logit)
        p_low, p_high = self.probability_interval(features, logit)
        delta = self.delta_mrss(features)  # the same features: one encoding per request
        d_low, d_high = self.delta_interval(features, with_indices)
        shown, imputed = shown_values(with_indices, features, self.feature_spec)
        explanations = annotate(self.explanations(features, shown), imputed, self.summary)
        ranges = self.missing_ranges(encoded)
        rows = zip(
            records["patient_id"],
            _intervals(probability, p_low, p_high, self.probability_level, "probability", 0, 1),
            _intervals(delta, d_low, d_high, self.delta_level, "points", -MRSS_MAX, MRSS_MAX),
            _index_values(with_indices), explanations, self.warnings(records), ranges,
            strict=True,
        )
        members = self.probability_members.n_members
        return [
            {"patient_id": str(pid), "probability_response": uncertainty_words(p, members),
             "predicted_delta_mrss": d, "indices": values, "explanation": explanation,
             "warnings": warnings, "missing_data": None if spread is None else spread.to_dict()}
            for pid, p, d, values, explanation, warnings, spread in rows
        ]

    @cached_property
    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec.listed(self.metadata["feature_fields"],
                                  bool(self.metadata.get("derived_indices", False)))


@dataclass(frozen=True)
class Encoded:
    """One batch through the feature pipeline (see :meth:`ResponseModel.encode`)."""

    with_indices: pd.DataFrame
    columns: pd.DataFrame
    imputed: pd.DataFrame

    @property
    def features(self) -> pd.DataFrame:
        """The model features: the imputed columns, which every estimator reads."""
        return self.imputed


def _intervals(estimate: np.ndarray, low: np.ndarray, high: np.ndarray, level: float,
               unit: str, floor: float, ceiling: float) -> list[dict[str, Any]]:
    """Per row: the estimate and an interval that contains it, clipped to [floor, ceiling].

    The probability interval is centred on the estimate; the CV+ interval of the change is built
    from the fold estimators, not the full-data model, so for a patient at the edge it can miss the
    reported estimate by a little: it is then widened to the estimate rather than shown beside a
    point it excludes (which can only raise its coverage).
    """
    def clip(values: np.ndarray) -> list[float]:
        return np.minimum(np.maximum(values, floor), ceiling).astype(float).tolist()

    rows = zip(clip(estimate), clip(np.minimum(low, estimate)), clip(np.maximum(high, estimate)),
               strict=True)
    return [{"estimate": e, "lower": lo, "upper": hi, "level": level, "unit": unit}
            for e, lo, hi in rows]


def _index_values(with_indices: pd.DataFrame) -> list[dict[str, Any]]:
    """Per row, the derived indices as JSON values (flags as bools, ``None`` where unknown)."""
    columns = []
    for name in INDEX_COLUMNS:
        flag = name.endswith("_active") or name == "hypocomplementemia"
        values = with_indices[name].to_numpy(dtype=float).tolist()
        columns.append([None if math.isnan(v) else (bool(v) if flag else v) for v in values])
    return [dict(zip(INDEX_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]
