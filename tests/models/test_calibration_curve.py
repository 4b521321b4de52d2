"""The flexible calibration curve and its errors against statsmodels and hand computation.

A restricted cubic spline with knots t1..tk spans the natural cubic splines with those knots, so
the fitted probabilities must equal those of a statsmodels binomial GLM on patsy's natural cubic
regression spline basis ``cr`` with the same inner and boundary knots, whatever the basis; the
pointwise standard error of the linear predictor does not depend on the basis either.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from patsy import dmatrix
from scipy.special import expit, logit
from scipy.stats import norm

from ssc_response.models.calibration_curve import (
    calibration_errors,
    default_knots,
    fit_calibration_curve,
)

pytestmark = pytest.mark.model


def _cohort(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    return (rng.uniform(size=n) < expit(0.3 + 0.6 * logit(p))).astype(int), p


def _natural_spline(lp: np.ndarray, knots: np.ndarray) -> np.ndarray:
    inner = list(knots[1:-1])
    return np.asarray(dmatrix(
        f"0 + cr(x, knots={inner}, lower_bound={knots[0]}, upper_bound={knots[-1]})",
        {"x": lp}))


@pytest.mark.parametrize(("n", "n_knots"), [(80, 3), (300, 4)])
def test_the_curve_and_its_band_equal_a_natural_spline_glm(n: int, n_knots: int) -> None:
    y, p = _cohort(n, seed=n)
    curve = fit_calibration_curve(y, p)
    assert curve.knots.size == n_knots
    design = _natural_spline(logit(p), curve.knots)
    glm = sm.GLM(y, design, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(curve.observed(p), glm.fittedvalues, atol=1e-8)

    grid = np.linspace(p.min(), p.max(), 7)
    grid_design = _natural_spline(logit(grid), curve.knots)
    eta = grid_design @ glm.params
    se = np.sqrt(np.einsum("ij,jk,ik->i", grid_design, glm.cov_params(), grid_design))
    band = curve.band(grid)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(band["low"], expit(eta - z * se), atol=1e-6)
    np.testing.assert_allclose(band["high"], expit(eta + z * se), atol=1e-6)


def test_knots_sit_at_harrells_quantiles() -> None:
    lp = np.arange(1000, dtype=float)
    np.testing.assert_allclose(default_knots(lp), np.quantile(lp, [0.05, 0.35, 0.65, 0.95]))
    np.testing.assert_allclose(default_knots(lp[:50]), np.quantile(lp[:50], [0.1, 0.5, 0.9]))


def test_ici_e50_e90_emax_are_summaries_of_the_absolute_differences() -> None:
    y, p = _cohort(300, seed=5)
    curve = fit_calibration_curve(y, p)
    design = _natural_spline(logit(p), curve.knots)
    observed = sm.GLM(y, design, family=sm.families.Binomial()).fit().fittedvalues
    difference = np.abs(p - observed)
    errors = calibration_errors(curve, p)
    assert errors.ici == pytest.approx(difference.mean(), abs=1e-8)
    assert errors.e50 == pytest.approx(np.median(difference), abs=1e-8)
    assert errors.e90 == pytest.approx(np.quantile(difference, 0.9), abs=1e-8)
    assert errors.emax == pytest.approx(difference.max(), abs=1e-8)


def test_a_perfectly_calibrated_large_cohort_has_small_errors() -> None:
    rng = np.random.default_rng(8)
    p = rng.uniform(0.05, 0.95, 20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    errors = calibration_errors(fit_calibration_curve(y, p), p)
    assert errors.ici < 0.01 and errors.emax < 0.03
