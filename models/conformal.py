"""The ΔmRSS interval: locally weighted CV+ (Barber, Candès, Ramdas & Tibshirani 2021).

Each of the K inner folds of the modelling procedure left some patients out of one ΔmRSS fit.
Their held-out errors, divided by that fit's residual SD at their baseline mRSS, are the
conformity scores ``R_i = |Δ_i - μ_k(i)(x_i)| / σ_k(i)(x_i)``. For a new patient ``x``:

    lower = the ⌊α(n+1)⌋-th smallest of  μ_k(i)(x) - R_i σ_k(i)(x)
    upper = the ⌈(1-α)(n+1)⌉-th smallest of  μ_k(i)(x) + R_i σ_k(i)(x)

with ``α = 1 - level``. Guarantee (Barber et al. 2021, Theorem 4, K-fold CV+; dividing by a
scale fitted within the fold keeps the argument): for exchangeable patients the coverage is at
least ``1 - 2α - min{2(1 - 1/K)/(n/K + 1), (1 - K/n)/(K + 1)}``; in practice it is close to
``1 - α`` (the simulation study measures it). The interval is wider where the fold estimators
disagree and where baseline mRSS, and with it the spread of change, is larger. It is finally
clipped to what mRSS allows: ``-baseline <= Δ <= 51 - baseline``.

**The fold estimators read the served preprocessing.** Every fold estimator is fitted on the
output of the served model's one fitted preprocessing (imputation, category levels; the ΔmRSS
estimator standardises inside its own fit, on its fold), not on an encoding fitted within its
fold, so that a prediction encodes a patient once and the champion, the ΔmRSS model and every
fold estimator read that one feature matrix. That preprocessing was fitted on all
calibration patients: it is label-free (it never sees an outcome, so a held-out patient's change
cannot leak into the fold estimator that scores them), but it has seen the held-out patients'
inputs. The patients are then no longer exactly exchangeable with a new patient as the theorem
assumes, so :meth:`ConformalDelta.guaranteed_coverage` states the bound of the paper for the
procedure it analyses, a close approximation here rather than a proof; the coverage is measured
by the simulation study (``ssc-response study``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

MRSS_MAX = 51.0


class ConformalDelta:
    """CV+ interval for ΔmRSS from K fold estimators and their held-out conformity scores.

    Attributes
    ----------
    fold_estimators_ : list of DeltaMrssClassifier
        One :class:`models.delta.DeltaMrssClassifier` per fold, each fitted without that fold's
        patients, on the ΔmRSS model's features (its fitted preprocessing's output, see the
        module docstring): they are given those features, not records.
    fold_of_ : ndarray of int, shape (n,)
        The fold each calibration patient was held out in.
    scores_ : ndarray, shape (n,)
        Their conformity scores (absolute error over the fold estimator's residual SD).
    """

    def __init__(self, fold_estimators: Sequence[Any], fold_of: np.ndarray,
                 scores: np.ndarray) -> None:
        self.fold_estimators_ = list(fold_estimators)
        self.fold_of_ = np.asarray(fold_of, dtype=int)
        self.scores_ = np.asarray(scores, dtype=float)

    @classmethod
    def from_folds(cls, fold_estimators: Sequence[Any],
                   folds: Sequence[tuple[np.ndarray, np.ndarray]], features: pd.DataFrame,
                   delta: np.ndarray) -> ConformalDelta:
        """Score every patient with the estimator of the fold that held them out
        (``features``: every patient's ΔmRSS features, the fold estimators' inputs)."""
        fold_of = np.full(len(delta), -1, dtype=int)
        scores = np.full(len(delta), np.nan)
        for k, ((_, test), estimator) in enumerate(zip(folds, fold_estimators, strict=True)):
            centre, spread = _centre_and_spread(estimator, features.iloc[test])
            scores[test] = np.abs(np.asarray(delta, dtype=float)[test] - centre) / spread
            fold_of[test] = k
        if (fold_of < 0).any():
            raise ValueError("the folds must hold out every patient exactly once")
        return cls(fold_estimators, fold_of, scores)

    @property
    def n_folds(self) -> int:
        return len(self.fold_estimators_)

    def interval(self, features: pd.DataFrame, baseline: np.ndarray,
                 level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Per patient (a row of ``features``, the ΔmRSS model's features): the CV+ interval
        at ``level``, clipped to what mRSS allows for the patient's ``baseline`` mRSS."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be strictly between 0 and 1; got {level!r}")
        centres, spreads = zip(*(_centre_and_spread(e, features)
                                 for e in self.fold_estimators_), strict=True)
        centre = np.column_stack(centres)[:, self.fold_of_]  # (patients, calibration points)
        spread = np.column_stack(spreads)[:, self.fold_of_] * self.scores_
        n = len(self.scores_)
        # The tolerance keeps e.g. (9 + 1) * 0.9 = 9.000000000000002 from rounding up.
        low = _order_statistic(centre - spread, math.floor((1 - level) * (n + 1) + 1e-9))
        high = _order_statistic(centre + spread, math.ceil(level * (n + 1) - 1e-9))
        baseline = np.asarray(baseline, dtype=float)
        return (np.clip(low, -baseline, MRSS_MAX - baseline),
                np.clip(high, -baseline, MRSS_MAX - baseline))

    def guaranteed_coverage(self, level: float) -> float:
        """The finite-sample lower bound on coverage of Barber et al. (2021) for K-fold CV+.

        Caveat: the theorem assumes each fold's whole fit excludes its held-out patients; here
        the shared preprocessing saw their inputs (never their outcomes), so this is the bound
        of the procedure the paper analyses, not a proof for this one (module docstring).
        """
        n, k = len(self.scores_), self.n_folds
        slack = min(2 * (1 - 1 / k) / (n / k + 1), (1 - k / n) / (k + 1))
        return max(0.0, 1 - 2 * (1 - level) - slack)


def _centre_and_spread(estimator: Any,
                       features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A fold estimator's predicted ΔmRSS and residual SD for the patients of ``features``."""
    return (np.asarray(estimator.predict_delta(features), dtype=float),
            np.asarray(estimator.residual_sd(features), dtype=float))


def _order_statistic(values: np.ndarray, rank: int) -> np.ndarray:
    """Per row, the ``rank``-th smallest value (1-based); ±inf beyond the sample."""
    n = values.shape[1]
    if rank < 1:
        return np.full(values.shape[0], -np.inf)
    if rank > n:
        return np.full(values.shape[0], np.inf)
    return np.partition(values, rank - 1, axis=1)[:, rank - 1]
