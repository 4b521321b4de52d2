"""Fitting one estimator family with its hyper-parameter search nested inside.

``make_fit_predict`` returns the *whole* modelling procedure as one callable, so that
cross-validation and Harrell's bootstrap repeat the tuning in every resample; tuning outside the
resampling loop is the classic way small-cohort estimates become optimistic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from models.estimators import family, make_pipeline

# The continuous change in mRSS travels as a column of X through the resampling code, which only
# sees (X, binary y); ``make_fit_predict`` strips it before any model sees X.
DELTA_COLUMN = "_target_delta_mrss"

FitPredict = Callable[[pd.DataFrame, np.ndarray, Sequence[pd.DataFrame]], list[np.ndarray]]


@contextmanager
def one_thread_per_fit() -> Iterator[None]:
    """Limit native thread pools (OpenMP, BLAS) to one thread while models are fitted.

    At 30-300 patients every fit is tiny and threads spend more time synchronising than
    computing: one 150-iteration HistGradientBoosting fit on 200 patients took 16 s with two
    OpenMP threads on a busy 2-core machine and 0.2 s with one. Parallelism, where wanted, is
    better spent on whole resamples (``validation.n_jobs``). Results do not depend on it.
    """
    with threadpool_limits(limits=1):
        yield


@dataclass(frozen=True)
class FamilySpec:
    """One candidate model: family, search space, and the data it needs beyond X and y."""

    name: str
    space: dict[str, list[Any]]
    feature_set: str
    inner_splits: int
    seed: int
    criterion: dict[str, Any]


def _inner_splits(y: np.ndarray, wanted: int) -> int:
    """Fewer inner folds when the minority class is too small for the requested number."""
    minority = int(min(np.sum(y == 1), np.sum(y == 0)))
    return min(wanted, minority)


def fit_tuned(spec: FamilySpec, X: pd.DataFrame, y: np.ndarray, delta: np.ndarray) -> Pipeline:
    """Fit the family on (X, y), tuning its hyper-parameters by inner cross-validation."""
    pipeline = make_pipeline(spec.name, spec.feature_set, seed=spec.seed)
    if family(spec.name).target == "delta":
        pipeline.set_params(**{f"estimator__{k}": v for k, v in spec.criterion.items()})
        # The mRSS-change model learns from the continuous change; its ridge penalty is tuned
        # inside by generalised cross-validation, so there is no grid to search here.
        return pipeline.fit(X, np.asarray(delta, dtype=float))
    grid = list(ParameterGrid(spec.space))
    splits = _inner_splits(y, spec.inner_splits)
    if len(grid) > 1 and splits >= 2:
        folds = StratifiedKFold(n_splits=splits, shuffle=True, random_state=spec.seed)
        return pipeline.set_params(**best_parameters(pipeline, grid, X, y, folds)).fit(X, y)
    return pipeline.set_params(**grid[0]).fit(X, y)


def best_parameters(pipeline: Pipeline, grid: list[dict[str, Any]], X: pd.DataFrame,
                    y: np.ndarray, folds: StratifiedKFold) -> dict[str, Any]:
    """The grid point with the lowest mean inner-fold Brier score (ties: the first listed).

    The choice ``GridSearchCV(scoring="neg_brier_score")`` makes, with the preprocessing fitted
    once per fold instead of once per grid point: search spaces hold only ``estimator__``
    parameters, so every grid point would refit identical preprocessing, which cost more than
    the estimator fits themselves (tuning took about half the time this way).
    """
    losses = np.zeros(len(grid))
    for train, test in folds.split(X, y):
        preprocess = clone(pipeline.named_steps["preprocess"]).fit(X.iloc[train])
        X_train, X_test = preprocess.transform(X.iloc[train]), preprocess.transform(X.iloc[test])
        for j, params in enumerate(grid):
            estimator = clone(pipeline).set_params(**params).named_steps["estimator"]
            probability = estimator.fit(X_train, y[train]).predict_proba(X_test)[:, 1]
            losses[j] += brier_score_loss(y[test], probability)
    return grid[int(np.argmin(losses))]


def with_delta(X: pd.DataFrame, delta: np.ndarray) -> pd.DataFrame:
    """X plus the change in mRSS as a hidden column (see :data:`DELTA_COLUMN`)."""
    return X.assign(**{DELTA_COLUMN: np.asarray(delta, dtype=float)})


def make_fit_predict(spec: FamilySpec) -> FitPredict:
    """The modelling procedure as ``fit_predict(X_train, y_train, X_evals) -> predictions``.

    ``X_train`` carries :data:`DELTA_COLUMN` (see :func:`with_delta`).
    """

    def fit_predict(
        X_train: pd.DataFrame, y_train: np.ndarray, X_evals: Sequence[pd.DataFrame]
    ) -> list[np.ndarray]:
        delta = X_train[DELTA_COLUMN].to_numpy(dtype=float)
        model = fit_tuned(spec, X_train.drop(columns=DELTA_COLUMN), np.asarray(y_train), delta)
        return [
            model.predict_proba(X_eval.drop(columns=DELTA_COLUMN, errors="ignore"))[:, 1]
            for X_eval in X_evals
        ]

    return fit_predict
