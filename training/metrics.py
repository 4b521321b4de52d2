"""Performance measures for binary and continuous predictions.

Binary measures take observed 0/1 outcomes ``y`` and predicted probabilities ``p``;
continuous measures take observed values and point predictions. Definitions follow
Steyerberg, *Clinical Prediction Models* (2nd ed., 2019), ch. 15, and Van Calster et al.,
"Calibration: the Achilles heel of predictive analytics", BMC Med 2019;17:230.

Every measure returns a plain ``float``, so :mod:`training.assessment` can average and
summarise them over resamples.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit
from scipy.stats import rankdata

FloatArray = npt.NDArray[np.float64]

Metric = Callable[[FloatArray, FloatArray], float]
"""A performance measure ``metric(y, pred) -> float``."""

PROBABILITY_CLIP = 1e-6
_NEWTON_TOL = 1e-10
_NEWTON_MAX_ITER = 100


def _paired(y: npt.ArrayLike, pred: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    y_arr = np.asarray(y, dtype=float).ravel()
    pred_arr = np.asarray(pred, dtype=float).ravel()
    if y_arr.shape != pred_arr.shape:
        raise ValueError(f"y and predictions differ in length: {y_arr.size} vs {pred_arr.size}.")
    if not (np.all(np.isfinite(y_arr)) and np.all(np.isfinite(pred_arr))):
        raise ValueError("y and predictions must be finite (no NaN or inf).")
    return y_arr, pred_arr


def _binary(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    y_arr, p_arr = _paired(y, p)
    if not np.all((y_arr == 0) | (y_arr == 1)):
        raise ValueError(f"y must be 0/1; received values {np.unique(y_arr)[:5]}.")
    if np.any((p_arr < 0) | (p_arr > 1)):
        raise ValueError("predicted probabilities must lie in [0, 1].")
    if y_arr.min() == y_arr.max():
        raise ValueError(f"y contains a single class ({y_arr[0]:g}); the measure is undefined.")
    return y_arr, p_arr


def auroc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve (concordance statistic).

    Computed as the Mann-Whitney U statistic scaled to [0, 1], with ties in ``p``
    counting one half (Hanley & McNeil, Radiology 1982;143:29-36).
    """
    y_arr, p_arr = _binary(y, p)
    ranks = rankdata(p_arr)
    n_pos = y_arr.sum()
    n_neg = y_arr.size - n_pos
    u_stat = ranks[y_arr == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u_stat / (n_pos * n_neg))


def brier(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Brier score: mean squared difference between outcome and probability (Brier 1950)."""
    y_arr, p_arr = _binary(y, p)
    return float(np.mean((p_arr - y_arr) ** 2))


def _is_separated(x: FloatArray, y: FloatArray) -> bool:
    # With one covariate the logistic MLE exists iff the classes overlap on x
    # (Albert & Anderson, Biometrika 1984); ties at the boundary = quasi-separation.
    x0, x1 = x[y == 0], x[y == 1]
    return bool(x0.max() <= x1.min() or x1.max() <= x0.min())


def _logistic_newton(x: FloatArray, y: FloatArray) -> FloatArray:
    """Unpenalised ML fit of ``logit P(y=1) = a + b*x`` by Newton-Raphson with step halving."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)

    def loglik(b: FloatArray) -> float:
        eta = design @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    for _ in range(_NEWTON_MAX_ITER):
        mu = expit(design @ beta)
        hessian = design.T @ (design * (mu * (1 - mu))[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - mu))
        current = loglik(beta)
        while loglik(beta + step) < current and np.max(np.abs(step)) > _NEWTON_TOL:
            step = step / 2
        beta = beta + step
        if np.max(np.abs(step)) < _NEWTON_TOL:
            return beta
    raise RuntimeError("calibration slope: Newton-Raphson did not converge.")


def _calibration_in_the_large(y: FloatArray, offset: FloatArray) -> float:
    # Score equation of the intercept-only model with offset: sum(y - expit(a + offset)) = 0.
    # It is strictly decreasing in a, and offsets are bounded by the clip (|logit| < 14),
    # so [-50, 50] always brackets the root when both classes are present.
    def score(a: float) -> float:
        return float(np.sum(y - expit(a + offset)))

    return float(brentq(score, -50.0, 50.0, xtol=1e-12))


def _calibration(y: npt.ArrayLike, p: npt.ArrayLike, stacklevel: int) -> tuple[float, float]:
    y_arr, p_arr = _binary(y, p)
    x = logit(np.clip(p_arr, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP))
    intercept = _calibration_in_the_large(y_arr, x)
    if np.ptp(x) == 0 or _is_separated(x, y_arr):
        warnings.warn(
            "calibration slope undefined: predictions are constant or separate the outcomes "
            "perfectly; returning NaN.",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )
        return float("nan"), intercept
    return float(_logistic_newton(x, y_arr)[1]), intercept


def calibration_slope_intercept(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[float, float]:
    """Calibration slope and calibration-in-the-large intercept.

    Probabilities are clipped to ``[1e-6, 1 - 1e-6]`` and mapped to the logit scale.

    * slope: coefficient ``b`` of the unpenalised logistic regression
      ``logit P(y=1) = a + b * logit(p)`` (Cox, Biometrika 1958). ``b < 1`` means
      predictions are too extreme (overfitting), ``b > 1`` too modest.
    * intercept: ``a`` in ``logit P(y=1) = a + offset(logit(p))`` with the slope fixed
      at 1 (calibration-in-the-large; Steyerberg 2019, ch. 15). ``a > 0`` means risks
      are underestimated on average.

    Returns
    -------
    tuple of float
        ``(slope, intercept)``. The slope is NaN (with a ``RuntimeWarning``) when the
        predictions perfectly separate the outcomes or are all equal, because the
        maximum-likelihood estimate does not exist then; the intercept is always finite.
    """
    return _calibration(y, p, stacklevel=2)


def calibration_slope(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Calibration slope alone (see :func:`calibration_slope_intercept`)."""
    return _calibration(y, p, stacklevel=2)[0]


def calibration_intercept(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Calibration-in-the-large alone (see :func:`calibration_slope_intercept`)."""
    y_arr, p_arr = _binary(y, p)
    return _calibration_in_the_large(
        y_arr, logit(np.clip(p_arr, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP))
    )


def net_benefit(y: npt.ArrayLike, p: npt.ArrayLike, thresholds: npt.ArrayLike) -> pd.DataFrame:
    """Decision curve: net benefit of the model, treat-all and treat-none.

    ``NB(pt) = TP/n - FP/n * pt / (1 - pt)``, treating patients with ``p >= pt``
    (Vickers & Elkin, Med Decis Making 2006;26:565-574). Treat-all has
    ``NB = prevalence - (1 - prevalence) * pt / (1 - pt)``; treat-none has ``NB = 0``.

    Parameters
    ----------
    y, p : array-like
        Observed 0/1 outcomes and predicted probabilities.
    thresholds : array-like
        Threshold probabilities, each strictly between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``threshold``, ``model``, ``treat_all``, ``treat_none``; one row per threshold.
    """
    y_arr, p_arr = _binary(y, p)
    pt = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if np.any((pt <= 0) | (pt >= 1)) or not np.all(np.isfinite(pt)):
        raise ValueError("thresholds must lie strictly between 0 and 1.")
    odds = pt / (1 - pt)
    treated = p_arr[None, :] >= pt[:, None]
    n = y_arr.size
    tp = (treated & (y_arr == 1)).sum(axis=1) / n
    fp = (treated & (y_arr == 0)).sum(axis=1) / n
    prevalence = y_arr.mean()
    return pd.DataFrame(
        {
            "threshold": pt,
            "model": tp - fp * odds,
            "treat_all": prevalence - (1 - prevalence) * odds,
            "treat_none": np.zeros_like(pt),
        }
    )


def delong_placements(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """DeLong's placement values: per positive, the share of negatives ranked below it; per
    negative, the share of positives ranked above it (midranks, so ties count one half).

    Their means are the AUROC; their variances give its variance (DeLong, DeLong &
    Clarke-Pearson, Biometrics 1988;44:837-845).
    """
    y_arr, p_arr = _binary(y, p)
    positive, negative = p_arr[y_arr == 1], p_arr[y_arr == 0]
    m, n = positive.size, negative.size
    overall = rankdata(np.concatenate([positive, negative]))
    v10 = (overall[:m] - rankdata(positive)) / n
    v01 = 1.0 - (overall[m:] - rankdata(negative)) / m
    return v10, v01


def delong_variance(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """DeLong's variance of the AUROC of predictions ``p``."""
    v10, v01 = delong_placements(y, p)
    return float(np.var(v10, ddof=1) / v10.size + np.var(v01, ddof=1) / v01.size)


def brier_variance(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Variance of the Brier score as the mean of per-patient squared errors."""
    y_arr, p_arr = _binary(y, p)
    squared = (p_arr - y_arr) ** 2
    return float(np.var(squared, ddof=1) / squared.size)


def mae(y: npt.ArrayLike, pred: npt.ArrayLike) -> float:
    """Mean absolute error."""
    y_arr, pred_arr = _paired(y, pred)
    return float(np.mean(np.abs(y_arr - pred_arr)))


def r2(y: npt.ArrayLike, pred: npt.ArrayLike) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (can be negative out of sample)."""
    y_arr, pred_arr = _paired(y, pred)
    ss_tot = np.sum((y_arr - y_arr.mean()) ** 2)
    if ss_tot == 0:
        raise ValueError("r2 is undefined when y is constant.")
    return float(1 - np.sum((y_arr - pred_arr) ** 2) / ss_tot)


BINARY_METRICS: Mapping[str, Metric] = {
    "auroc": auroc,
    "brier": brier,
    "calibration_slope": calibration_slope,
    "calibration_intercept": calibration_intercept,
}
"""Default measures for a binary outcome (TRIPOD+AI item 12e: discrimination and calibration)."""

CONTINUOUS_METRICS: Mapping[str, Metric] = {"mae": mae, "r2": r2}
"""Default measures for a continuous outcome."""


def score_all(
    metrics: Mapping[str, Metric], y: FloatArray, pred: FloatArray, *, strict: bool
) -> dict[str, float]:
    """Evaluate every metric; when not ``strict``, an undefined value becomes NaN.

    Resampled sets can make a measure undefined (e.g. a single-class test fold);
    that is a property of the resample, not an error, so it is recorded as NaN and
    counted by the caller. ``strict=True`` is used on the original data, where such
    a failure means the inputs are wrong and must surface.
    """
    scores: dict[str, float] = {}
    for name, metric in metrics.items():
        if strict:
            scores[name] = float(metric(y, pred))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                scores[name] = float(metric(y, pred))
        except (ValueError, FloatingPointError, np.linalg.LinAlgError, RuntimeError):
            scores[name] = float("nan")
    return scores
