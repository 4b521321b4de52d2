"""A classifier of skin response derived from a regression of the change in mRSS.

Dichotomising the outcome before modelling throws information away, which matters at 30-300
patients (Royston, Altman & Sauerbrei 2006). This estimator regresses the change in mRSS
(ridge on standardised inputs, penalty ``alpha`` tuned by the caller's grouped cross-validation)
and turns the prediction into P(response) under the experiment's response rule.

Three facts about mRSS shape that step:

* **Whole points.** mRSS is a sum of whole-point site scores, so the rule is a cut on the
  integer grid: a patient with baseline ``b`` responds when the decrease is at least
  ``m(b) = features.outcomes.minimal_responder_decrease(b, ...)`` (the same function the labels
  are checked against). The latent change is rounded to whole points, so the cut on it sits
  half a point above: ``Δ <= -m(b)`` on the grid is ``Δ* < -m(b) + 0.5``.
* **Spread grows with baseline.** The residual SD is modelled as ``σ(b) = c0 + c1 * b`` (least
  squares of the absolute in-sample residuals on baseline, inflated by ``sqrt(n / (n - df))``
  for the ridge's effective degrees of freedom), floored at a quarter of the overall SD.
* **A floor.** Follow-up mRSS cannot fall below 0, so a decrease cannot exceed the baseline:
  where ``m(b) > b`` a response is impossible and the log-odds are set to
  :data:`IMPOSSIBLE_LOGIT`.

``P(response) = F((0.5 - m(b) - μ(x)) / σ(b))`` with ``F`` the logistic distribution of SD 1.
Its log-odds are what :meth:`decision_function` returns; :meth:`logit_attribution` splits them
exactly over the inputs for explanations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from ssc_response.features.outcomes import minimal_responder_decrease

# The logistic distribution with scale s has SD s * pi / sqrt(3).
LOGIT_PER_SD = np.pi / np.sqrt(3.0)
IMPOSSIBLE_LOGIT = -30.0  # P ~ 1e-13: the rule asks for a larger decrease than the baseline
_MIN_SD_SHARE = 0.25  # σ(b) never falls below this share of the overall residual SD


class DeltaMrssClassifier(ClassifierMixin, BaseEstimator):
    """Fit on the change in mRSS (follow-up minus baseline); predict P(skin response).

    Parameters
    ----------
    alpha : float
        Ridge penalty on standardised inputs.
    abs_threshold, rel_threshold, strict : float, float, bool
        The response rule, as in :func:`features.outcomes.skin_responder` (EUSTAR: decrease
        > 5 points and >= 25 % of baseline). The MCID rule is ``rel_threshold=0, strict=False``.
    baseline_feature : str
        The input column holding baseline mRSS (unscaled, in points).

    Attributes
    ----------
    coef_, intercept_ : the regression in raw input units (points of ΔmRSS).
    sd_intercept_, sd_slope_, sd_floor_ : the residual SD model ``max(floor, c0 + c1 * b)``.
    """

    def __init__(self, alpha: float = 10.0, abs_threshold: float = 5.0,
                 rel_threshold: float = 0.25, strict: bool = True,
                 baseline_feature: str = "mrss_total") -> None:
        self.alpha = alpha
        self.abs_threshold = abs_threshold
        self.rel_threshold = rel_threshold
        self.strict = strict
        self.baseline_feature = baseline_feature

    def fit(self, X: pd.DataFrame | np.ndarray, y: np.ndarray) -> DeltaMrssClassifier:
        """Fit the ridge on ΔmRSS ``y`` (points), then the residual SD as a function of baseline."""
        delta = np.asarray(y, dtype=float)
        array = np.asarray(X, dtype=float)
        names = X.columns if isinstance(X, pd.DataFrame) else [f"x{i}" for i in range(X.shape[1])]
        self.feature_names_in_ = np.asarray([str(n) for n in names], dtype=object)
        self.n_features_in_ = array.shape[1]
        self.baseline_index_ = self._baseline_index()
        self.classes_ = np.array([0, 1])
        mean, scale = array.mean(axis=0), array.std(axis=0)
        scale[scale == 0] = 1.0
        standardised = (array - mean) / scale
        ridge = Ridge(alpha=self.alpha).fit(standardised, delta)
        # Folded back into raw units, so a prediction is one dot product.
        self.coef_ = np.asarray(ridge.coef_, dtype=float) / scale
        self.intercept_ = float(ridge.intercept_ - self.coef_ @ mean)
        residuals = delta - self.predict_delta(array)
        inflation = np.sqrt(len(delta) / max(len(delta) - _ridge_df(standardised, self.alpha), 1))
        self._fit_sd(np.abs(residuals) * inflation, array[:, self.baseline_index_])
        return self

    def _fit_sd(self, absolute_residuals: np.ndarray, baseline: np.ndarray) -> None:
        """SD(b) = sqrt(pi / 2) * E|r| for a symmetric error, E|r| linear in baseline."""
        design = np.column_stack([np.ones_like(baseline), baseline])
        (c0, c1), *_ = np.linalg.lstsq(design, absolute_residuals, rcond=None)
        to_sd = np.sqrt(np.pi / 2.0)
        self.sd_intercept_, self.sd_slope_ = float(c0 * to_sd), float(c1 * to_sd)
        overall = float(np.sqrt(np.mean(absolute_residuals**2)))
        self.sd_floor_ = max(_MIN_SD_SHARE * overall, 1e-6)

    def predict_delta(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predicted change in mRSS (points; negative = improvement)."""
        check_is_fitted(self, "coef_")
        return np.asarray(self._inputs(X) @ self.coef_ + self.intercept_, dtype=float)

    def residual_sd(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The residual SD at each patient's baseline mRSS (points)."""
        check_is_fitted(self, "sd_floor_")
        baseline = self._inputs(X)[:, self.baseline_index_]
        return np.maximum(self.sd_intercept_ + self.sd_slope_ * baseline, self.sd_floor_)

    def minimal_decrease(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Per patient, the smallest whole-point decrease the response rule counts."""
        baseline = self._inputs(X)[:, self.baseline_index_]
        return np.asarray(minimal_responder_decrease(
            baseline, self.abs_threshold, self.rel_threshold, self.strict), dtype=float)

    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Log-odds of response: ``(0.5 - m(b) - μ(x)) / σ(b)`` on the logistic scale."""
        check_is_fitted(self, "sd_floor_")
        array = self._inputs(X)
        needed = self.minimal_decrease(array)
        z = (0.5 - needed - self.predict_delta(array)) / self.residual_sd(array)
        possible = needed <= array[:, self.baseline_index_]
        return np.where(possible, np.maximum(z * LOGIT_PER_SD, IMPOSSIBLE_LOGIT), IMPOSSIBLE_LOGIT)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def logit_attribution(self, X: pd.DataFrame | np.ndarray,
                          background: np.ndarray) -> tuple[float, np.ndarray]:
        """Split each patient's log-odds over the inputs, exactly: ``base + values.sum(1)``.

        ``base`` is the mean log-odds over ``background``. Every input but baseline mRSS gets
        its shift of the predicted change from the background mean, in this patient's log-odds
        units (``-coef_j (x_j - mean_j) / σ(b) * LOGIT_PER_SD``): what that finding does to this
        patient's chance. Baseline mRSS gets the rest: its own effect on the predicted change,
        on the threshold the rule asks for, and on the spread. (The log-odds are not additive
        across inputs, because σ depends on baseline; this split is exact and keeps every other
        input's share equal to its effect on the predicted change.)
        """
        array = self._inputs(X)
        reference = np.asarray(background, dtype=float)
        base = float(np.mean(self.decision_function(reference)))
        per_sd = LOGIT_PER_SD / self.residual_sd(array)
        values = -(array - reference.mean(axis=0)) * self.coef_ * per_sd[:, None]
        b = self.baseline_index_
        values[:, b] = 0.0
        values[:, b] = self.decision_function(array) - base - values.sum(axis=1)
        return base, values

    def _inputs(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``X`` as a float array; a frame must have the columns of ``fit``, in their order
        (the coefficients are positional: another order would silently mis-predict)."""
        if isinstance(X, pd.DataFrame):
            columns = X.columns.tolist()
            if columns != self.feature_names_in_.tolist():
                raise ValueError(
                    "the columns of X are not those the model was fitted on, in that order: "
                    f"expected {self.feature_names_in_.tolist()}, got {columns}")
            return X.to_numpy(dtype=float)
        return np.asarray(X, dtype=float)

    def _baseline_index(self) -> int:
        names = list(self.feature_names_in_)
        if self.baseline_feature not in names:
            raise ValueError(
                f"baseline_feature {self.baseline_feature!r} is not among the model inputs"
            )
        return names.index(self.baseline_feature)


def _ridge_df(standardised: np.ndarray, alpha: float) -> float:
    """Effective degrees of freedom of a ridge fit with an intercept: 1 + Σ d² / (d² + alpha)."""
    centred = standardised - standardised.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    return 1.0 + float(np.sum(singular**2 / (singular**2 + alpha)))
