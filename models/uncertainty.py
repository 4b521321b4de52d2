"""Per-patient uncertainty intervals: a bootstrap ensemble and a conformal interval.

Both objects hold only numpy arrays, plain Python values and fitted sklearn estimators (no
lambdas, no closures), so they serialise with skops alongside the model pipeline.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from models import tree_eval
from models.attribution import LINEAR_REGRESSORS

MAX_RESAMPLE_ATTEMPTS = 100


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1; got {level!r}.")


def _rows(x: Any, index: np.ndarray) -> Any:
    return x.iloc[index] if isinstance(x, pd.DataFrame | pd.Series) else np.asarray(x)[index]


def _column_names(x: Any) -> list[str] | None:
    return [str(c) for c in x.columns] if isinstance(x, pd.DataFrame) else None


def _bootstrap_index(y: np.ndarray, need_two_classes: bool, rng: np.random.Generator) -> np.ndarray:
    """Rows drawn with replacement; redrawn while a classification resample has one class."""
    for _ in range(MAX_RESAMPLE_ATTEMPTS):
        index = rng.integers(0, len(y), len(y))
        if not need_two_classes or len(np.unique(y[index])) > 1:
            return index
    raise ValueError(f"No resample with two classes in {MAX_RESAMPLE_ATTEMPTS} draws.")


def _linear_link(members: list[Any]) -> str | None:
    """``"logistic"`` / ``"identity"`` when every member is a linear model of that kind."""
    if all(isinstance(m, LogisticRegression) and len(m.classes_) == 2 for m in members):
        return "logistic"
    if all(isinstance(m, LINEAR_REGRESSORS) and np.ndim(m.coef_) == 1 for m in members):
        return "identity"
    return None


class BootstrapEnsemble:
    """Percentile intervals from refits of the estimator on bootstrap resamples.

    The estimator is refitted on the *transformed* matrix: preprocessing (imputation medians,
    scaling, category levels) is fitted once on all data and held fixed, so its own sampling
    variability is ignored. This is a known limitation that narrows the intervals slightly.
    The interval reflects how much the fitted model would move with another cohort of the same
    size (estimation uncertainty), not the spread of patient outcomes.

    Attributes
    ----------
    estimators_ : list of fitted estimators
        One clone per resample.
    feature_names_ : list of str or None
        Columns seen in ``fit`` (when fitted on a DataFrame).
    probability_ : bool
        True when members are scored with ``predict_proba[:, 1]``, else with ``predict``.
    link_ : str or None
        ``"logistic"`` or ``"identity"`` when all members are linear; enables the matmul path.
    coef_ : ndarray of shape (n_models, n_features) or None
        Stacked member coefficients (fast path).
    intercept_ : ndarray of shape (n_models,) or None
        Stacked member intercepts (fast path).
    """

    def fit(
        self, estimator: Any, X_transformed: Any, y: Any, n_models: int = 30, seed: int = 0
    ) -> BootstrapEnsemble:
        """Fit ``n_models`` clones of ``estimator`` on bootstrap resamples of the rows.

        Parameters
        ----------
        estimator : unfitted or fitted estimator
            Cloned, never modified. Members with a ``random_state`` get one drawn from ``seed``.
        X_transformed : pandas.DataFrame or ndarray
            Model features (the fitted preprocessor's output).
        y : array-like
            Target the estimator is fitted on (label, or ΔmRSS for regressors).
        n_models : int, default=30
        seed : int, default=0
        """
        if n_models < 2:
            raise ValueError(f"n_models must be at least 2; got {n_models}.")
        self.probability_ = hasattr(estimator, "predict_proba")
        self.feature_names_ = _column_names(X_transformed)
        target = pd.Series(y).to_numpy()
        rng = np.random.default_rng(seed)
        self.estimators_ = [
            self._fit_member(estimator, X_transformed, target, rng) for _ in range(n_models)
        ]
        self._stack_linear()
        return self

    def _fit_member(self, estimator: Any, x: Any, y: np.ndarray, rng: np.random.Generator) -> Any:
        index = _bootstrap_index(y, self.probability_, rng)
        member = clone(estimator)
        # Seeded members make the whole ensemble reproducible from one seed.
        if "random_state" in member.get_params(deep=False):
            member.set_params(random_state=int(rng.integers(2**31 - 1)))
        return member.fit(_rows(x, index), y[index])

    def _stack_linear(self) -> None:
        """Stack linear members so one matmul scores all of them (single-row requests)."""
        self.link_ = _linear_link(self.estimators_)
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None
        if self.link_ is not None:
            self.coef_ = np.vstack([np.ravel(m.coef_) for m in self.estimators_])
            self.intercept_ = np.array([np.ravel(m.intercept_ + 0.0)[0] for m in self.estimators_])

    def predictions(self, X_transformed: Any) -> np.ndarray:
        """Every member's prediction for every row, shape (n_rows, n_models).

        Probabilities of class 1 for classifiers, ``predict`` for regressors.
        """
        # The fast paths bypass sklearn's input checks, which would catch a column mix-up.
        self._check_columns(X_transformed)
        if self.coef_ is not None and self.intercept_ is not None:
            linear = np.asarray(X_transformed, dtype=float) @ self.coef_.T + self.intercept_
            return expit(linear) if self.link_ == "logistic" else linear
        if self.tree_members:  # all trees of a member in one compiled call (models/tree_eval.py)
            matrix = np.asarray(X_transformed, dtype=float)
            return np.column_stack([tree_eval.tree_output(m, matrix) for m in self.estimators_])
        return np.column_stack([self._member_output(m, X_transformed) for m in self.estimators_])

    @property
    def tree_members(self) -> bool:
        """Whether every member is a tree model :mod:`models.tree_eval` scores (on arrays)."""
        return all(tree_eval.supports(member) for member in self.estimators_)

    def _check_columns(self, x: Any) -> None:
        received = _column_names(x)
        if None not in (received, self.feature_names_) and received != self.feature_names_:
            raise ValueError(f"Expected columns {self.feature_names_}; received {received}.")

    def _member_output(self, member: Any, x: Any) -> np.ndarray:
        if self.probability_:
            return np.asarray(member.predict_proba(x))[:, 1]
        return np.asarray(member.predict(x), dtype=float)

    def interval(self, X_transformed: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Central percentile interval of the members' predictions, per row.

        Parameters
        ----------
        X_transformed : pandas.DataFrame or ndarray
            Model features for the batch.
        level : float, default=0.95
            Nominal coverage of the ensemble distribution (e.g. 0.95 -> 2.5th, 97.5th percentiles).

        Returns
        -------
        low, high : ndarray of shape (n_rows,)
        """
        _check_level(level)
        tail = (1.0 - level) / 2.0
        low, high = np.quantile(self.predictions(X_transformed), [tail, 1.0 - tail], axis=1)
        return low, high


class ConformalInterval:
    """Symmetric conformal interval around a regression prediction (e.g. ΔmRSS, points).

    Calibrated on absolute out-of-fold residuals ``|y - ŷ_oof|`` from cross-validation. With
    residuals from a held-out calibration set this is split conformal, which guarantees
    marginal coverage >= ``level`` for exchangeable patients. With cross-validated residuals
    around the full-data model (the "CV" variant, cheaper than CV+) coverage is close to nominal
    in practice; the formal CV+ guarantee is only ``1 - 2 * (1 - level)``.

    Attributes
    ----------
    residuals_ : ndarray of shape (n_calibration,)
        Sorted absolute residuals.
    """

    def fit(self, oof_residuals: Any) -> ConformalInterval:
        """Store the sorted absolute out-of-fold residuals."""
        residuals = np.abs(np.asarray(oof_residuals, dtype=float).ravel())
        if residuals.size == 0 or not np.isfinite(residuals).all():
            raise ValueError("oof_residuals must be a non-empty array of finite numbers.")
        self.residuals_ = np.sort(residuals)
        return self

    def quantile(self, level: float = 0.9) -> float:
        """Half-width: the ceil((n + 1) * level)-th smallest residual, inf if that exceeds n."""
        _check_level(level)
        n = self.residuals_.size
        # The tolerance keeps e.g. (9 + 1) * 0.9 = 9.000000000000002 from rounding up to 10.
        rank = math.ceil((n + 1) * level - 1e-9)
        return math.inf if rank > n else float(self.residuals_[rank - 1])

    def interval(
        self,
        predictions: Any,
        level: float = 0.9,
        lower: float | np.ndarray | None = None,
        upper: float | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``prediction ± quantile(level)``, optionally clipped to per-row bounds.

        Parameters
        ----------
        predictions : array-like of shape (n_rows,)
        level : float, default=0.9
        lower, upper : float or array-like of shape (n_rows,), optional
            Physically possible range, e.g. ΔmRSS in [-mRSS0, 51 - mRSS0]. Too few calibration
            residuals give an infinite half-width, which the bounds then cap.

        Returns
        -------
        low, high : ndarray of shape (n_rows,)
        """
        centre = np.asarray(predictions, dtype=float)
        half_width = self.quantile(level)
        low, high = centre - half_width, centre + half_width
        if lower is not None:
            low, high = np.maximum(low, lower), np.maximum(high, lower)
        if upper is not None:
            low, high = np.minimum(low, upper), np.minimum(high, upper)
        return low, high
