"""Performance of predicted probabilities against observed 0/1 outcomes, with intervals.

Shared by internal validation (:mod:`training.metrics`, :mod:`training.assessment`), external
validation at a new centre (:mod:`training.external_validation`) and, later, prospective
validation of served predictions (serving may import this module; it imports no training code).

Definitions (which of the two conventions in use is followed is said where they differ):

* **C statistic** (AUROC): Mann-Whitney U / (n1 n0), ties counting one half; 95 % CI from
  DeLong's variance, truncated to [0, 1] as ``pROC::ci.auc(method = "delong")`` does.
* **calibration-in-the-large**: ``a`` in ``logit P(y=1) = a + offset(logit p)``, the definition
  of ``CalibrationCurves::val.prob.ci.2`` and ``pmcalibration`` (Van Calster et al. 2016,
  2019). ``rms::val.prob``'s "Intercept" is the intercept of the slope model below instead;
  it is *not* what is reported here.
* **calibration slope**: ``b`` in ``logit P(y=1) = a + b logit(p)`` (Cox 1958; identical in
  ``rms::val.prob``, ``val.prob.ci.2`` and ``pmcalibration``), with a Wald CI from the Fisher
  information.
* **O/E**: observed over expected events, ``sum(y) / sum(p)``; CI ``exp(ln(O/E) +- z SE)`` with
  ``SE = sqrt((1 - o) / O)``, ``o`` the observed rate (Debray et al. BMJ 2017; Riley et al. 2021
  and ``pmvalsampsize`` use the same SE).
* **Brier** ``mean((p - y)^2)``; **scaled Brier** ``1 - Brier / (o (1 - o))`` (Steyerberg 2019,
  ch. 15: the Brier of a non-informative model predicting the observed rate).
* **net benefit** ``TP/n - FP/n * pt/(1-pt)`` (Vickers & Elkin 2006): the mean over patients of
  ``treated * (y - (1 - y) pt/(1-pt))``, so its Wald CI is that of a mean.

Probabilities are clipped to ``[1e-6, 1 - 1e-6]`` before the logit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import logit
from scipy.stats import norm, rankdata

from ssc_response.models.logistic_fit import (
    SeparationError,
    fit_intercept_slope,
    fit_intercept_with_offset,
)

FloatArray = npt.NDArray[np.float64]
PROBABILITY_CLIP = 1e-6


@dataclass(frozen=True)
class Interval:
    """An estimate and its confidence interval (NaN where the interval is undefined)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")


def _z(level: float) -> float:
    return float(norm.ppf(0.5 + level / 2))


def finite_pair(y: npt.ArrayLike, pred: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Check and return ``(y, pred)`` as flat floats: same length, finite."""
    y_arr = np.asarray(y, dtype=float).ravel()
    pred_arr = np.asarray(pred, dtype=float).ravel()
    if y_arr.shape != pred_arr.shape:
        raise ValueError(f"y and predictions differ in length: {y_arr.size} vs {pred_arr.size}.")
    if not (np.all(np.isfinite(y_arr)) and np.all(np.isfinite(pred_arr))):
        raise ValueError("y and predictions must be finite (no NaN or inf).")
    return y_arr, pred_arr


def binary_pair(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Check and return ``(y, p)`` as floats: same length, finite, y 0/1 with both classes,
    p in [0, 1]."""
    y_arr, p_arr = finite_pair(y, p)
    if not np.all((y_arr == 0) | (y_arr == 1)):
        raise ValueError(f"y must be 0/1; received values {np.unique(y_arr)[:5]}.")
    if np.any((p_arr < 0) | (p_arr > 1)):
        raise ValueError("predicted probabilities must lie in [0, 1].")
    if y_arr.min() == y_arr.max():
        raise ValueError(f"y contains a single class ({y_arr[0]:g}); the measure is undefined.")
    return y_arr, p_arr


def logit_of(p: npt.ArrayLike) -> FloatArray:
    """``logit(p)`` with ``p`` clipped to ``[1e-6, 1 - 1e-6]``."""
    clipped = np.clip(np.asarray(p, dtype=float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    return np.asarray(logit(clipped), dtype=float)


# --- discrimination ------------------------------------------------------------------------------

def auroc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve: Mann-Whitney U scaled to [0, 1], ties count one half
    (Hanley & McNeil, Radiology 1982;143:29-36)."""
    y_arr, p_arr = binary_pair(y, p)
    ranks = rankdata(p_arr)
    n_pos = y_arr.sum()
    n_neg = y_arr.size - n_pos
    return float((ranks[y_arr == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def delong_placements(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """DeLong's placement values: per positive, the share of negatives ranked below it; per
    negative, the share of positives ranked above it (midranks: ties count one half).

    Their means are the AUROC; their variances give its variance (DeLong, DeLong &
    Clarke-Pearson, Biometrics 1988;44:837-845).
    """
    y_arr, p_arr = binary_pair(y, p)
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


def truncated_auroc_interval(value: float, variance: float, level: float = 0.95) -> Interval:
    """``value +- z sqrt(variance)`` truncated to [0, 1], as ``pROC`` truncates its CI."""
    half = _z(level) * float(np.sqrt(variance))
    low, high = np.clip([value - half, value + half], 0.0, 1.0)  # NaN stays NaN
    return Interval(value, float(low), float(high))


def auroc_interval(y: npt.ArrayLike, p: npt.ArrayLike, level: float = 0.95) -> Interval:
    """AUROC with its DeLong CI, truncated to [0, 1] (``pROC::ci.auc``, method "delong")."""
    return truncated_auroc_interval(auroc(y, p), delong_variance(y, p), level)


# --- calibration ---------------------------------------------------------------------------------

def oe_ratio(y: npt.ArrayLike, p: npt.ArrayLike, level: float = 0.95) -> Interval:
    """Observed / expected events with its log-scale CI (module docstring)."""
    y_arr, p_arr = binary_pair(y, p)
    observed, expected = y_arr.sum(), p_arr.sum()
    ratio = float(observed / expected)
    se = float(np.sqrt((1 - observed / y_arr.size) / observed))
    return Interval(ratio, ratio * float(np.exp(-_z(level) * se)),
                    ratio * float(np.exp(_z(level) * se)))


def calibration_in_the_large(y: npt.ArrayLike, p: npt.ArrayLike,
                             level: float = 0.95) -> Interval:
    """``a`` in ``logit P = a + offset(logit p)`` with its Wald CI; > 0: risks underestimated."""
    y_arr, p_arr = binary_pair(y, p)
    fit = fit_intercept_with_offset(logit_of(p_arr), y_arr)
    value, se = float(fit.coefficients[0]), float(fit.standard_errors[0])
    return Interval(value, value - _z(level) * se, value + _z(level) * se)


def is_separated(x: FloatArray, y: FloatArray) -> bool:
    """With one covariate the logistic MLE exists iff the classes overlap on x (Albert &
    Anderson, Biometrika 1984); ties at the boundary are quasi-separation."""
    x0, x1 = x[y == 0], x[y == 1]
    return bool(x0.max() <= x1.min() or x1.max() <= x0.min())


def calibration_slope(y: npt.ArrayLike, p: npt.ArrayLike, level: float = 0.95) -> Interval:
    """``b`` in ``logit P = a + b logit(p)`` with its Wald CI; ``b < 1``: predictions too
    extreme. Raises :class:`models.logistic_fit.SeparationError` when the MLE does not exist
    (constant predictions, or predictions that separate the outcomes)."""
    y_arr, p_arr = binary_pair(y, p)
    x = logit_of(p_arr)
    if np.ptp(x) == 0 or is_separated(x, y_arr):
        raise SeparationError("calibration slope undefined: predictions are constant or "
                              "separate the outcomes perfectly")
    fit = fit_intercept_slope(x, y_arr)
    value, se = float(fit.coefficients[1]), float(fit.standard_errors[1])
    return Interval(value, value - _z(level) * se, value + _z(level) * se)


# --- overall and clinical usefulness -------------------------------------------------------------

def brier(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Brier score: mean squared difference between outcome and probability (Brier 1950)."""
    y_arr, p_arr = binary_pair(y, p)
    return float(np.mean((p_arr - y_arr) ** 2))


def scaled_brier(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """``1 - Brier / (o (1 - o))``: 1 is perfect, 0 no better than the observed rate."""
    y_arr, _ = binary_pair(y, p)
    rate = y_arr.mean()
    return float(1.0 - brier(y, p) / (rate * (1 - rate)))


def brier_variance(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Variance of the Brier score as the mean of per-patient squared errors."""
    y_arr, p_arr = binary_pair(y, p)
    squared = (p_arr - y_arr) ** 2
    return float(np.var(squared, ddof=1) / squared.size)


def _checked_thresholds(thresholds: npt.ArrayLike) -> FloatArray:
    pt = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if np.any((pt <= 0) | (pt >= 1)) or not np.all(np.isfinite(pt)):
        raise ValueError("thresholds must lie strictly between 0 and 1.")
    return pt


def net_benefit(y: npt.ArrayLike, p: npt.ArrayLike, thresholds: npt.ArrayLike) -> pd.DataFrame:
    """Decision curve: net benefit of the model, treat-all and treat-none per threshold,
    treating patients with ``p >= pt`` (Vickers & Elkin, Med Decis Making 2006;26:565-574).

    Columns ``threshold``, ``model``, ``treat_all``, ``treat_none``.
    """
    y_arr, p_arr = binary_pair(y, p)
    pt = _checked_thresholds(thresholds)
    odds = pt / (1 - pt)
    treated = p_arr[None, :] >= pt[:, None]
    n = y_arr.size
    tp = (treated & (y_arr == 1)).sum(axis=1) / n
    fp = (treated & (y_arr == 0)).sum(axis=1) / n
    prevalence = y_arr.mean()
    return pd.DataFrame({"threshold": pt, "model": tp - fp * odds,
                         "treat_all": prevalence - (1 - prevalence) * odds,
                         "treat_none": np.zeros_like(pt)})


def net_benefit_intervals(y: npt.ArrayLike, p: npt.ArrayLike, thresholds: npt.ArrayLike,
                          level: float = 0.95) -> pd.DataFrame:
    """:func:`net_benefit` with the model's Wald CI per threshold (``model_ci_low``/``_high``):
    net benefit is the mean of the per-patient ``treated * (y - (1 - y) odds)``."""
    y_arr, p_arr = binary_pair(y, p)
    pt = _checked_thresholds(thresholds)
    curve = net_benefit(y_arr, p_arr, pt)
    odds = pt / (1 - pt)
    treated = (p_arr[None, :] >= pt[:, None]).astype(float)
    per_patient = treated * (y_arr[None, :] - (1 - y_arr[None, :]) * odds[:, None])
    half = _z(level) * per_patient.std(axis=1, ddof=1) / np.sqrt(y_arr.size)
    return curve.assign(model_ci_low=curve["model"] - half, model_ci_high=curve["model"] + half)
