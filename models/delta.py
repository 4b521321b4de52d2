"""A classifier of skin response derived from a regression of the continuous change in mRSS.

Dichotomising the outcome before modelling throws information away, which matters at 30-300
patients (Royston, Altman & Sauerbrei 2006). This estimator regresses the change in mRSS and
turns the prediction into P(response) with the empirical distribution of its out-of-fold
residuals: P = share of residuals r for which baseline + (prediction + r) meets the EUSTAR
response rule (decrease > 5 points and >= 25 %; thresholds are parameters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted


class DeltaMrssClassifier(ClassifierMixin, BaseEstimator):
    """Fit on the change in mRSS (follow-up minus baseline); predict P(skin response).

    Parameters
    ----------
    alphas : tuple of float
        Ridge penalties searched by generalised cross-validation.
    abs_threshold, rel_threshold, strict : float, float, bool
        The response rule: decrease > ``abs_threshold`` points (>= when not strict) and a
        relative decrease >= ``rel_threshold`` of baseline (EUSTAR, Dobrota 2016).
    baseline_feature : str
        The input column holding baseline mRSS (unscaled, in points).
    cv : int
        Folds for the out-of-fold residuals.
    random_state : int
        Seed of the fold split.
    """

    def __init__(
        self, alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0), abs_threshold: float = 5.0,
        rel_threshold: float = 0.25, strict: bool = True, baseline_feature: str = "mrss_total",
        cv: int = 5, random_state: int = 0,
    ) -> None:
        self.alphas = alphas
        self.abs_threshold = abs_threshold
        self.rel_threshold = rel_threshold
        self.strict = strict
        self.baseline_feature = baseline_feature
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> DeltaMrssClassifier:
        delta = np.asarray(y, dtype=float)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.baseline_index_ = self._baseline_index()
        self.regressor_ = self._make_regressor().fit(X.to_numpy(dtype=float), delta)
        folds = KFold(n_splits=min(self.cv, len(delta)), shuffle=True,
                      random_state=self.random_state)
        out_of_fold = cross_val_predict(
            self._make_regressor(), X.to_numpy(dtype=float), delta, cv=folds
        )
        self.residuals_ = delta - out_of_fold
        self.classes_ = np.array([0, 1])
        return self

    def predict_delta(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predicted change in mRSS (points; negative = improvement)."""
        check_is_fitted(self)
        return np.asarray(self.regressor_.predict(np.asarray(X, dtype=float)))

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        array = np.asarray(X, dtype=float)
        predicted = self.predict_delta(array)
        baseline = array[:, self.baseline_index_]
        # Decrease for every (patient, residual) pair: rows = patients, columns = residuals.
        decrease = -(predicted[:, None] + self.residuals_[None, :])
        absolute = decrease > self.abs_threshold if self.strict else (
            decrease >= self.abs_threshold
        )
        relative = decrease >= self.rel_threshold * baseline[:, None]
        positive = (absolute & relative & (baseline[:, None] > 0)).mean(axis=1)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _make_regressor(self) -> Pipeline:
        return make_pipeline(StandardScaler(), RidgeCV(alphas=self.alphas))

    def _baseline_index(self) -> int:
        names = list(self.feature_names_in_)
        if self.baseline_feature not in names:
            raise ValueError(
                f"baseline_feature {self.baseline_feature!r} is not among the model inputs"
            )
        return names.index(self.baseline_feature)
