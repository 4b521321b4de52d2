"""One maximum-likelihood logistic regression for every recalibration and calibration fit.

The modelling procedure's recalibration (``logit P = a + b * raw``, :mod:`models.calibration`),
the calibration slope and calibration-in-the-large of internal and external validation
(:mod:`models.performance`), the flexible calibration curve (:mod:`models.calibration_curve`)
and the model updates of a new centre are all logistic regressions of a 0/1 outcome on a small
design, sometimes with an offset. They share this one Newton-Raphson fit, so a recalibration
fitted during training and the calibration measured at a new centre mean the same thing.

An optional ridge penalty (``penalty``: one weight per column, usually 0 for the intercept) keeps
the fit finite when the classes are separated; without it a separated fit raises
:class:`SeparationError` (the maximum-likelihood estimate does not exist; Albert & Anderson,
Biometrika 1984).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

FloatArray = npt.NDArray[np.float64]

_TOLERANCE = 1e-10
_MAX_ITERATIONS = 100


class SeparationError(RuntimeError):
    """The logistic likelihood has no maximum: the design separates the outcomes."""


@dataclass(frozen=True)
class LogisticFit:
    """Coefficients (one per design column) and their covariance (inverse information)."""

    coefficients: FloatArray
    covariance: FloatArray

    @property
    def standard_errors(self) -> FloatArray:
        return np.asarray(np.sqrt(np.diag(self.covariance)), dtype=float)

    def linear_predictor(self, design: npt.ArrayLike,
                         offset: npt.ArrayLike | None = None) -> FloatArray:
        eta = np.asarray(design, dtype=float) @ self.coefficients
        return np.asarray(eta if offset is None else eta + np.asarray(offset, dtype=float))


def fit_logistic(design: npt.ArrayLike, y: npt.ArrayLike, offset: npt.ArrayLike | None = None,
                 penalty: npt.ArrayLike | None = None) -> LogisticFit:
    """ML (or ridge-penalised) fit of ``logit P(y=1) = design @ beta + offset``.

    Newton-Raphson with step halving on the (penalised) log-likelihood
    ``sum(y*eta - log(1 + exp(eta))) - sum(penalty * beta**2) / 2``, which is concave, so the
    iteration converges to the unique maximum when it exists.
    """
    x = np.atleast_2d(np.asarray(design, dtype=float))
    if x.shape[0] == 1 and np.ndim(design) == 1:
        x = x.T
    outcome = np.asarray(y, dtype=float).ravel()
    shift = np.zeros(len(outcome)) if offset is None else np.asarray(offset, dtype=float).ravel()
    ridge = np.zeros(x.shape[1]) if penalty is None else np.asarray(penalty, dtype=float)
    beta = np.zeros(x.shape[1])

    def objective(b: FloatArray) -> float:
        eta = x @ b + shift
        return float(np.sum(outcome * eta - np.logaddexp(0.0, eta)) - np.sum(ridge * b * b) / 2)

    for _ in range(_MAX_ITERATIONS):
        mu = expit(x @ beta + shift)
        information = x.T @ (x * (mu * (1 - mu))[:, None]) + np.diag(ridge)
        gradient = x.T @ (outcome - mu) - ridge * beta
        try:
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            raise SeparationError("the logistic fit has no maximum (singular "
                                  "information)") from None
        current = objective(beta)
        while objective(beta + step) < current and np.max(np.abs(step)) > _TOLERANCE:
            step = step / 2
        beta = beta + step
        if np.max(np.abs(step)) < _TOLERANCE:
            return LogisticFit(beta, _inverse_information(x, beta, shift, ridge))
    raise SeparationError("the logistic fit did not converge: the outcomes are (quasi-)separated")


def _inverse_information(x: FloatArray, beta: FloatArray, shift: FloatArray,
                         ridge: FloatArray) -> FloatArray:
    mu = expit(x @ beta + shift)
    information = x.T @ (x * (mu * (1 - mu))[:, None]) + np.diag(ridge)
    return np.asarray(np.linalg.inv(information), dtype=float)


def fit_intercept_slope(x: npt.ArrayLike, y: npt.ArrayLike,
                        slope_penalty: float = 0.0) -> LogisticFit:
    """``logit P(y=1) = a + b*x``: coefficients ``[a, b]`` (the slope alone may be penalised)."""
    column = np.asarray(x, dtype=float).ravel()
    design = np.column_stack([np.ones_like(column), column])
    return fit_logistic(design, y, penalty=[0.0, slope_penalty])


def fit_intercept_with_offset(offset: npt.ArrayLike, y: npt.ArrayLike) -> LogisticFit:
    """``logit P(y=1) = a + offset``: coefficient ``[a]`` (slope fixed at 1)."""
    shift = np.asarray(offset, dtype=float).ravel()
    return fit_logistic(np.ones((shift.size, 1)), y, offset=shift)
