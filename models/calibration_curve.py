"""The flexible calibration curve and the calibration errors read from it (ICI, E50, E90, Emax).

The curve is a logistic regression of the outcome on a **restricted cubic spline** of
``logit(p)`` (``pmcalibration``'s ``smooth = "rcs"``; Harrell, Regression Modeling Strategies
2015, sec. 2.4.5): linear beyond the outer knots, so it does not flail at the sparse ends the way
an unrestricted smoother does in a small cohort. Knots sit at Harrell's default quantiles of
``logit(p)``: 3 knots (10, 50, 90 %) below 100 patients, 4 (5, 35, 65, 95 %) from 100 on. Its
95 % band is pointwise: ``expit(eta +- z se(eta))`` with ``se`` from the fit's covariance.

Calibration errors (Austin & Steyerberg, Stat Med 2019;38:4051-4065): per patient
``|p - p_calibrated|``, where ``p_calibrated`` is the curve at that patient's prediction;
ICI (= Eavg) is their mean, E50 their median, E90 their 90th percentile, Emax their maximum.
Austin & Steyerberg smooth with loess; ``pmcalibration`` allows either smoother, and the spline
is used here for the reason above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from ssc_response.models.logistic_fit import LogisticFit, fit_logistic
from ssc_response.models.performance import binary_pair, logit_of

FloatArray = npt.NDArray[np.float64]

KNOT_QUANTILES = {3: (0.10, 0.50, 0.90), 4: (0.05, 0.35, 0.65, 0.95)}
FOUR_KNOTS_FROM = 100  # patients


def rcs_basis(x: npt.ArrayLike, knots: npt.ArrayLike) -> FloatArray:
    """Harrell's restricted cubic spline basis: ``x`` and ``k - 2`` non-linear terms (no
    intercept; fewer than 3 knots: ``x`` alone), each divided by ``(t_k - t_1)^2`` as
    ``rms::rcspline.eval`` does."""
    values = np.asarray(x, dtype=float).ravel()
    t = np.asarray(knots, dtype=float)
    k = t.size
    if k < 3:  # no non-linear term: the line
        return values[:, None]
    scale = (t[-1] - t[0]) ** 2

    def cube(u: FloatArray) -> FloatArray:
        return np.asarray(np.maximum(u, 0.0) ** 3)

    columns = [values]
    for j in range(k - 2):
        term = (cube(values - t[j])
                - cube(values - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                + cube(values - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
        columns.append(term / scale)
    return np.column_stack(columns)


def default_knots(lp: FloatArray) -> FloatArray:
    """Harrell's knot quantiles of the linear predictor (3 or 4 knots by cohort size)."""
    quantiles = KNOT_QUANTILES[4 if lp.size >= FOUR_KNOTS_FROM else 3]
    return np.asarray(np.quantile(lp, quantiles), dtype=float)


@dataclass(frozen=True)
class CalibrationCurve:
    """A fitted flexible calibration curve."""

    knots: FloatArray
    fit: LogisticFit

    def observed(self, p: npt.ArrayLike) -> FloatArray:
        """The calibrated (observed) probability at each predicted probability."""
        return np.asarray(expit(self.fit.linear_predictor(_design(p, self.knots))), dtype=float)

    def band(self, p: npt.ArrayLike, level: float = 0.95) -> pd.DataFrame:
        """``predicted``, ``observed``, ``low``, ``high`` at each ``p`` (pointwise band)."""
        design = _design(p, self.knots)
        eta = self.fit.linear_predictor(design)
        se = np.sqrt(np.einsum("ij,jk,ik->i", design, self.fit.covariance, design))
        z = float(norm.ppf(0.5 + level / 2))
        return pd.DataFrame({"predicted": np.asarray(p, dtype=float), "observed": expit(eta),
                             "low": expit(eta - z * se), "high": expit(eta + z * se)})


def fit_calibration_curve(y: npt.ArrayLike, p: npt.ArrayLike,
                          knots: npt.ArrayLike | None = None) -> CalibrationCurve:
    """The restricted-cubic-spline calibration curve of predictions ``p`` (module docstring).

    With too few distinct predictions for distinct knots the curve is the logistic
    recalibration line. Raises :class:`models.logistic_fit.SeparationError` when the design
    separates the outcomes.
    """
    y_arr, p_arr = binary_pair(y, p)
    chosen = default_knots(logit_of(p_arr)) if knots is None else np.asarray(knots, dtype=float)
    if np.unique(chosen).size < chosen.size:
        chosen = np.asarray([], dtype=float)
    design = _design(p_arr, chosen)
    return CalibrationCurve(chosen, fit_logistic(design, y_arr))


def _design(p: npt.ArrayLike, knots: FloatArray) -> FloatArray:
    basis = rcs_basis(logit_of(p), knots)
    return np.column_stack([np.ones(len(basis)), basis])


@dataclass(frozen=True)
class CalibrationErrors:
    """ICI (= Eavg), E50, E90 and Emax: summaries of ``|p - p_calibrated|`` over patients."""

    ici: float
    e50: float
    e90: float
    emax: float


def calibration_errors(curve: CalibrationCurve, p: npt.ArrayLike) -> CalibrationErrors:
    """Austin & Steyerberg's calibration errors of predictions ``p`` against ``curve``."""
    predicted = np.asarray(p, dtype=float).ravel()
    error = np.abs(predicted - curve.observed(predicted))
    return CalibrationErrors(float(np.mean(error)), float(np.median(error)),
                             float(np.quantile(error, 0.9)), float(np.max(error)))
