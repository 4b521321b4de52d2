"""Performance measures for binary and continuous predictions.

Binary measures take observed 0/1 outcomes ``y`` and predicted probabilities ``p``;
continuous measures take observed values and point predictions. Definitions follow
Steyerberg, *Clinical Prediction Models* (2nd ed., 2019), ch. 15, and Van Calster et al.,
"Calibration: the Achilles heel of predictive analytics", BMC Med 2019;17:230.

The binary measures live in :mod:`models.performance` (serving reuses them for prospective
validation); they are re-exported here under their historical names. Every measure returns a
plain ``float``, so :mod:`training.assessment` can average and
summarise them over resamples.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

from ssc_response.models.logistic_fit import SeparationError, fit_intercept_slope
from ssc_response.models.performance import (
    PROBABILITY_CLIP,
    auroc,
    brier,
    brier_variance,
    calibration_in_the_large,
    delong_placements,
    delong_variance,
    finite_pair,
    net_benefit,
)
from ssc_response.models.performance import calibration_slope as calibration_slope_interval

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "PROBABILITY_CLIP", "auroc", "brier",
    "brier_variance", "calibration_intercept", "calibration_slope",
    "calibration_slope_intercept", "delong_placements", "delong_variance", "mae",
    "net_benefit", "r2",
]


def _logistic_newton(x: FloatArray, y: FloatArray) -> FloatArray:
    """``[a, b]`` of the unpenalised ML fit of ``logit P(y=1) = a + b*x``
    (:func:`models.logistic_fit.fit_intercept_slope`, the one logistic fit)."""
    return fit_intercept_slope(x, y).coefficients


def _calibration(y: npt.ArrayLike, p: npt.ArrayLike, stacklevel: int) -> tuple[float, float]:
    intercept = calibration_in_the_large(y, p).value
    try:
        slope = calibration_slope_interval(y, p).value
    except SeparationError:
        warnings.warn(
            "calibration slope undefined: predictions are constant or separate the outcomes "
            "perfectly; returning NaN.",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )
        return float("nan"), intercept
    return slope, intercept


def calibration_slope_intercept(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[float, float]:
    """Calibration slope and calibration-in-the-large intercept (:mod:`models.performance`).

    * slope: ``b`` of the unpenalised logistic regression ``logit P(y=1) = a + b * logit(p)``
      (Cox, Biometrika 1958). ``b < 1`` means predictions are too extreme.
    * intercept: ``a`` in ``logit P(y=1) = a + offset(logit(p))`` (calibration-in-the-large;
      Steyerberg 2019, ch. 15). ``a > 0`` means risks are underestimated on average.

    Returns ``(slope, intercept)``. The slope is NaN (with a ``RuntimeWarning``) when the
    predictions perfectly separate the outcomes or are all equal, because the
    maximum-likelihood estimate does not exist then; the intercept is always finite.
    """
    return _calibration(y, p, stacklevel=2)


def calibration_slope(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Calibration slope alone (see :func:`calibration_slope_intercept`)."""
    return _calibration(y, p, stacklevel=2)[0]


def calibration_intercept(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Calibration-in-the-large alone (see :func:`calibration_slope_intercept`)."""
    return calibration_in_the_large(y, p).value


def mae(y: npt.ArrayLike, pred: npt.ArrayLike) -> float:
    """Mean absolute error."""
    y_arr, pred_arr = finite_pair(y, pred)
    return float(np.mean(np.abs(y_arr - pred_arr)))


def r2(y: npt.ArrayLike, pred: npt.ArrayLike) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (can be negative out of sample)."""
    y_arr, pred_arr = finite_pair(y, pred)
    ss_tot = np.sum((y_arr - y_arr.mean()) ** 2)
    if ss_tot == 0:
        raise ValueError("r2 is undefined when y is constant.")
    return float(1 - np.sum((y_arr - pred_arr) ** 2) / ss_tot)

