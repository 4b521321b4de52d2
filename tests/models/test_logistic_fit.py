"""The one logistic fit: training's recalibration is scikit-learn's fit it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from ssc_response.models.calibration import fit_recalibration
from ssc_response.models.logistic_fit import fit_intercept_with_offset, fit_logistic

pytestmark = pytest.mark.model


def test_recalibration_equals_scikit_learns_weak_ridge_fit() -> None:
    # Before the fit was unified, models.calibration used LogisticRegression(C=1e4): the same
    # objective (penalty 1 / (2C) on the slope only), so the same numbers.
    rng = np.random.default_rng(4)
    score = rng.normal(size=300)
    y = (rng.uniform(size=300) < expit(-0.2 + 0.9 * score)).astype(int)
    reference = LogisticRegression(C=1e4, tol=1e-12, max_iter=10_000).fit(score[:, None], y)
    intercept, slope = fit_recalibration(score, y)
    assert intercept == pytest.approx(reference.intercept_[0], abs=1e-6)
    assert slope == pytest.approx(reference.coef_[0, 0], abs=1e-6)


def test_separated_scores_still_recalibrate_to_a_finite_slope() -> None:
    intercept, slope = fit_recalibration(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]))
    assert np.isfinite(intercept) and 0 < slope < 1e4


def test_an_intercept_with_offset_solves_its_score_equation() -> None:
    # The ML intercept of logit P = a + offset makes expected and observed events equal.
    rng = np.random.default_rng(6)
    offset = rng.normal(size=200)
    y = (rng.uniform(size=200) < expit(0.7 + offset)).astype(int)
    a = fit_intercept_with_offset(offset, y).coefficients[0]
    assert expit(a + offset).sum() == pytest.approx(y.sum(), abs=1e-8)


def test_a_design_of_several_columns_gives_the_information_inverse() -> None:
    rng = np.random.default_rng(7)
    design = np.column_stack([np.ones(500), rng.normal(size=(500, 2))])
    y = (rng.uniform(size=500) < expit(design @ [0.1, 0.5, -0.3])).astype(int)
    fit = fit_logistic(design, y)
    mu = expit(design @ fit.coefficients)
    information = design.T @ (design * (mu * (1 - mu))[:, None])
    np.testing.assert_allclose(fit.covariance @ information, np.eye(3), atol=1e-8)
    np.testing.assert_allclose(design.T @ (y - mu), 0.0, atol=1e-8)
