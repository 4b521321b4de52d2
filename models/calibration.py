"""Logistic recalibration: any family's score mapped to a probability that means what it says.

Small cohorts make every learner miscalibrated in its own way: penalised regressions are too
timid or too bold depending on the penalty, forests squeeze probabilities towards the middle
(a calibration slope of 1.7 on fresh patients was seen), and the ΔmRSS model inherits the
error of its residual distribution. The modelling procedure (``training.procedure``) therefore
fits, for whichever family it selects, a logistic recalibration on that family's
**out-of-fold** scores (Platt 1999; Steyerberg 2019 ch. 15):

    logit P(response) = intercept + slope * raw(x)

where ``raw`` is the family's decision function when it has one (log-odds for logistic
regression, boosting and the ΔmRSS model) and its probability otherwise (forests), the
convention of scikit-learn's sigmoid calibration. Being affine in the raw score keeps the
explanation exact: the raw score's SHAP values times ``slope`` are SHAP values of the
calibrated log-odds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ssc_response.models.logistic_fit import fit_intercept_slope

# A very weak ridge on the slope (1e-4, scikit-learn's C = 1e4) keeps the two-parameter fit
# finite should the out-of-fold scores separate the classes perfectly; it changes nothing
# otherwise.
_RECALIBRATION_SLOPE_PENALTY = 1e-4


def raw_score(estimator: Any, X: Any) -> np.ndarray:
    """The score recalibration reads: ``decision_function`` if any, else P(class 1)."""
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(X), dtype=float).reshape(-1)
    return np.asarray(estimator.predict_proba(X), dtype=float)[:, 1]


def raw_space(estimator: Any) -> str:
    """``"logit"`` when the raw score is a decision function, else ``"probability"``."""
    return "logit" if hasattr(estimator, "decision_function") else "probability"


def fit_recalibration(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the logistic regression of ``y`` on out-of-fold ``scores``, with
    the slope constrained to be non-negative.

    A negative slope would mean the out-of-fold scores rank patients inversely. In small cohorts
    without much signal, cross-validated scores are often anti-correlated with the outcome (each
    left-out patient's fold leans the other way), and flipping the model then serves an
    inverted model: seen in the simulation study as a reported slope of 0.9 and a slope of -13
    on fresh patients. The log-likelihood is concave, so when the unconstrained slope is
    negative the constrained fit is slope 0 with the base rate's log-odds: the candidate then
    predicts the base rate for everyone and has to win on that.

    The fit is :func:`models.logistic_fit.fit_intercept_slope`, the one used to measure the
    calibration slope (:mod:`models.performance`).
    """
    scores = np.asarray(scores, dtype=float).ravel()
    if np.ptp(scores) == 0:  # an uninformative score: predict the base rate
        return _base_rate(y)
    intercept, slope = fit_intercept_slope(scores, y, _RECALIBRATION_SLOPE_PENALTY).coefficients
    if slope <= 0:
        return _base_rate(y)
    return float(intercept), float(slope)


def _base_rate(y: np.ndarray) -> tuple[float, float]:
    """Intercept-only recalibration: the log-odds of the base rate, slope 0."""
    rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
    return float(np.log(rate / (1 - rate))), 0.0


class RecalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose raw score is recalibrated: ``logit P = intercept + slope * raw``.

    The recalibration parameters are given, not learned here: the modelling procedure learns
    them from out-of-fold scores, which an in-sample fit cannot provide. ``fit`` fits a clone
    of ``estimator`` (its target may be the responder flag, or ΔmRSS for the ΔmRSS model).

    Parameters
    ----------
    estimator : unfitted estimator with ``decision_function`` or ``predict_proba``
    intercept, slope : float
        The logistic recalibration of :func:`raw_score`.
    """

    def __init__(self, estimator: Any = None, intercept: float = 0.0, slope: float = 1.0) -> None:
        self.estimator = estimator
        self.intercept = intercept
        self.slope = slope

    def fit(self, X: Any, y: Any) -> RecalibratedClassifier:
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Recalibrated log-odds of response."""
        check_is_fitted(self, "estimator_")
        return self.recalibrated(raw_score(self.estimator_, X))

    def recalibrated(self, raw: np.ndarray) -> np.ndarray:
        """``intercept + slope * raw``: the log-odds of raw scores computed elsewhere (e.g.
        several members' linear scores in one matrix product)."""
        return np.asarray(self.intercept + self.slope * raw, dtype=float)

    def predict_proba(self, X: Any) -> np.ndarray:
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(int)
