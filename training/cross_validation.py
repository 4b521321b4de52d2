"""Repeated (stratified) k-fold cross-validation of a whole modelling procedure.

Tuning happens inside ``fit_predict`` on each training part, so the outer folds give an
honest (nested) estimate; the out-of-fold predictions double as calibration-set scores.

References
----------
Steyerberg EW. Clinical Prediction Models, 2nd ed. Springer 2019, ch. 17.
Varma S, Simon R. Bias in error estimation when using cross-validation for model
selection. BMC Bioinformatics 2006;7:91 (why tuning must be nested).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold
from sklearn.utils.parallel import Parallel, delayed

from training._resampling import (
    FitPredict,
    FloatArray,
    IntArray,
    checked_predictions,
    is_binary,
    n_rows,
    outcome_array,
    take_rows,
)
from training.metrics import Metric, score_all


@dataclass(frozen=True)
class CVResult:
    """Outcome of :func:`repeated_cv_predictions`.

    Attributes
    ----------
    oof_predictions : array of shape (n_repeats, n); row r holds each patient's prediction
        from the model that did not see them in repeat r.
    fold_metrics : one row per (repeat, fold) with ``n_test`` and one column per metric
        (NaN where undefined on that fold, e.g. a single-class fold).
    pooled_metrics : one row per repeat, metrics computed on that repeat's full
        out-of-fold vector. Pooling mixes models of different folds, which slightly
        penalises calibration, but is far more stable than per-fold values at small n.
    n_splits : folds actually used (may be fewer than requested, see the function).
    """

    oof_predictions: FloatArray
    fold_metrics: pd.DataFrame
    pooled_metrics: pd.DataFrame
    n_splits: int
    n_repeats: int
    seed: int
    stratified: bool

    def mean_oof(self) -> FloatArray:
        """Out-of-fold predictions averaged over repeats, shape (n,)."""
        return np.asarray(self.oof_predictions.mean(axis=0), dtype=float)

    def summary(self) -> pd.DataFrame:
        """Per metric: mean and SD across folds, and across repeats of pooled values."""
        folds = self.fold_metrics.drop(columns=["repeat", "fold", "n_test"])
        return pd.DataFrame(
            {
                "fold_mean": folds.mean(),
                "fold_sd": folds.std(ddof=1),
                "pooled_mean": self.pooled_metrics.mean(),
                "pooled_sd": self.pooled_metrics.std(ddof=1),
            }
        )


def _effective_splits(y: FloatArray, n_splits: int, stratify: bool) -> int:
    """Reduce ``n_splits`` so every stratified fold can hold a patient of each class."""
    if n_splits < 2:
        raise ValueError(f"n_splits must be >= 2; received {n_splits}.")
    if not stratify:
        if n_splits > y.size:
            raise ValueError(f"n_splits={n_splits} exceeds the {y.size} patients.")
        return n_splits
    minority = int(min(y.sum(), y.size - y.sum()))
    if minority < 2:
        raise ValueError(
            f"the minority class has {minority} patient(s); need >= 2 to cross-validate."
        )
    if minority < n_splits:
        warnings.warn(
            f"minority class has only {minority} patients; using n_splits={minority} "
            f"instead of {n_splits} so that every test fold contains both classes.",
            UserWarning,
            stacklevel=3,
        )
        return minority
    return n_splits


def _splits(
    y: FloatArray, n_splits: int, n_repeats: int, seed: int, stratify: bool
) -> Iterator[tuple[IntArray, IntArray]]:
    cls = RepeatedStratifiedKFold if stratify else RepeatedKFold
    splitter = cls(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return splitter.split(np.zeros((y.size, 1)), y)


def _fold(
    fit_predict: FitPredict, x: Any, y_raw: Any, train: IntArray, test: IntArray
) -> FloatArray:
    x_train, y_train = take_rows(x, train), take_rows(y_raw, train)
    return checked_predictions(fit_predict, x_train, y_train, [take_rows(x, test)])[0]


def repeated_cv_predictions(
    fit_predict: FitPredict,
    X: Any,
    y: Any,
    n_splits: int = 5,
    n_repeats: int = 10,
    seed: int = 0,
    stratify: bool = True,
    metrics: Mapping[str, Metric] | None = None,
    n_jobs: int | None = 1,
) -> CVResult:
    """Out-of-fold predictions and fold metrics from repeated k-fold cross-validation.

    Parameters
    ----------
    fit_predict : callable
        ``fit_predict(X_train, y_train, [X_test]) -> [predictions]``; it must contain all
        tuning (nested CV) so that the outer test folds stay unseen.
    X, y : data; ``y`` keeps its type when passed to ``fit_predict``.
    n_splits, n_repeats : int
        Folds per repeat and number of repeats with different random partitions.
    seed : int
        Seeds the fold assignment; results are identical for any ``n_jobs``.
    stratify : bool, default True
        Stratify folds on a binary outcome. With fewer minority-class patients than
        ``n_splits``, ``n_splits`` is reduced to that count with a ``UserWarning``.
        Ignored (plain k-fold) for a continuous outcome.
    metrics : mapping of name to ``metric(y, pred)``, optional
        Evaluated on every test fold and on each repeat's pooled out-of-fold vector.
    n_jobs : int or None, default 1

    Returns
    -------
    CVResult
    """
    y_arr = outcome_array(y)
    if n_rows(X) != y_arr.size:
        raise ValueError(f"X has {n_rows(X)} rows but y has {y_arr.size}.")
    stratified = stratify and is_binary(y_arr)
    k = _effective_splits(y_arr, n_splits, stratified)
    folds = list(_splits(y_arr, k, n_repeats, seed, stratified))
    preds = Parallel(n_jobs=n_jobs)(
        delayed(_fold)(fit_predict, X, y, train, test) for train, test in folds
    )
    oof = np.full((n_repeats, y_arr.size), np.nan)
    rows = []
    for i, ((_, test), pred) in enumerate(zip(folds, preds, strict=True)):
        oof[i // k, test] = pred
        scores = score_all(metrics or {}, y_arr[test], pred, strict=False)
        rows.append({"repeat": i // k, "fold": i % k, "n_test": test.size, **scores})
    pooled = [score_all(metrics or {}, y_arr, oof[r], strict=False) for r in range(n_repeats)]
    return CVResult(
        oof_predictions=oof,
        fold_metrics=pd.DataFrame(rows),
        pooled_metrics=pd.DataFrame(pooled, columns=list(metrics or {})),
        n_splits=k,
        n_repeats=n_repeats,
        seed=seed,
        stratified=stratified,
    )
