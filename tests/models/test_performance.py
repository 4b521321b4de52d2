"""Validation statistics (models.performance) against independent computations.

References: statsmodels GLM (binomial, with offset) for calibration-in-the-large and the
calibration slope with their Wald intervals; scikit-learn's ``roc_auc_score`` and
``brier_score_loss``; DeLong's variance computed by hand the way ``pROC`` does (the explicit
double sum over positive-negative pairs, Sun & Xu 2014 eq. 2-3); O/E, scaled Brier and net
benefit computed by hand from their published formulas on small tables.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import logit
from scipy.stats import norm
from sklearn.metrics import brier_score_loss, roc_auc_score

from ssc_response.models.logistic_fit import SeparationError, fit_intercept_slope
from ssc_response.models.performance import (
    auroc,
    auroc_interval,
    calibration_in_the_large,
    calibration_slope,
    delong_variance,
    net_benefit_intervals,
    oe_ratio,
    scaled_brier,
)

pytestmark = pytest.mark.model
Z = norm.ppf(0.975)

# A small table: 12 patients, ties in p, both classes.
Y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1])
P = np.array([0.9, 0.2, 0.7, 0.4, 0.4, 0.1, 0.6, 0.5, 0.8, 0.3, 0.6, 0.35])


def _simulated(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < p**1.3).astype(int)  # miscalibrated on purpose
    return y, p


def _delong_by_pairs(y: np.ndarray, p: np.ndarray) -> float:
    """DeLong's variance from the pairwise kernel psi(x, y) = 1, 1/2, 0 (pROC's definition)."""
    positive, negative = p[y == 1], p[y == 0]
    psi = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(v10.var(ddof=1) / v10.size + v01.var(ddof=1) / v01.size)


def test_auroc_and_its_delong_variance_match_independent_computations() -> None:
    assert auroc(Y, P) == pytest.approx(roc_auc_score(Y, P), abs=1e-12)
    assert delong_variance(Y, P) == pytest.approx(_delong_by_pairs(Y, P), abs=1e-12)
    interval = auroc_interval(Y, P)
    half = Z * np.sqrt(_delong_by_pairs(Y, P))
    assert interval.low == pytest.approx(max(0.0, auroc(Y, P) - half), abs=1e-12)
    assert interval.high == pytest.approx(min(1.0, auroc(Y, P) + half), abs=1e-12)


def test_the_auroc_interval_is_truncated_to_one_as_proc_does() -> None:
    # n = 20, one discordant pair: AUROC 0.99, and the untruncated Wald bound exceeds 1.
    y = np.array([1] * 10 + [0] * 10)
    p = np.concatenate([np.linspace(0.55, 0.95, 10), np.linspace(0.05, 0.45, 10)])
    p[0], p[19] = 0.40, 0.50  # one positive below one negative
    value, variance = auroc(y, p), _delong_by_pairs(y, p)
    assert value + Z * np.sqrt(variance) > 1.0
    interval = auroc_interval(y, p)
    assert interval.high == 1.0
    assert interval.low == pytest.approx(value - Z * np.sqrt(variance), abs=1e-12)


def test_calibration_in_the_large_is_statsmodels_intercept_with_logit_offset() -> None:
    y, p = _simulated()
    glm = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(),
                 offset=logit(p)).fit()
    found = calibration_in_the_large(y, p)
    low, high = glm.conf_int()[0]
    assert found.value == pytest.approx(glm.params[0], abs=1e-8)
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-6)


def test_calibration_slope_is_statsmodels_coefficient_of_logit_p() -> None:
    y, p = _simulated()
    glm = sm.GLM(y, sm.add_constant(logit(p)), family=sm.families.Binomial()).fit()
    found = calibration_slope(y, p)
    low, high = glm.conf_int()[1]
    assert found.value == pytest.approx(glm.params[1], abs=1e-8)
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-6)


def test_the_one_logistic_fit_matches_statsmodels_and_refuses_separation() -> None:
    y, p = _simulated(seed=9)
    x = logit(p)
    glm = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit()
    fit = fit_intercept_slope(x, y)
    np.testing.assert_allclose(fit.coefficients, glm.params, atol=1e-8)
    np.testing.assert_allclose(fit.covariance, glm.cov_params(), rtol=1e-6)
    with pytest.raises(SeparationError):
        calibration_slope(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))


def test_oe_ratio_and_its_interval_by_hand() -> None:
    # 6 events, expected sum(P) = 5.85; SE(ln O/E) = sqrt((1 - 6/12) / 6) (Debray et al. 2017).
    found = oe_ratio(Y, P)
    se = np.sqrt((1 - 6 / 12) / 6)
    assert found.value == pytest.approx(6 / 5.85, abs=1e-12)
    assert found.low == pytest.approx(6 / 5.85 * np.exp(-Z * se), abs=1e-12)
    assert found.high == pytest.approx(6 / 5.85 * np.exp(Z * se), abs=1e-12)


def test_scaled_brier_by_hand() -> None:
    # Brier / (o (1 - o)) with o = 0.5: 1 - 4 * Brier.
    assert scaled_brier(Y, P) == pytest.approx(1 - brier_score_loss(Y, P) / 0.25, abs=1e-12)


def test_net_benefit_and_its_interval_by_hand_at_forty_percent() -> None:
    # Treated at p >= 0.4: rows 0, 2, 3, 4, 6, 7, 8, 10 -> TP = 5 (rows 0, 2, 3, 6, 8),
    # FP = 3 (rows 4, 7, 10). NB = 5/12 - 3/12 * 0.4/0.6.
    row = net_benefit_intervals(Y, P, [0.4]).iloc[0]
    odds = 0.4 / 0.6
    assert row["model"] == pytest.approx(5 / 12 - 3 / 12 * odds, abs=1e-12)
    per_patient = np.array([1, 0, 1, 1, -odds, 0, 1, -odds, 1, 0, -odds, 0])
    half = Z * per_patient.std(ddof=1) / np.sqrt(12)
    assert row["model_ci_low"] == pytest.approx(row["model"] - half, abs=1e-12)
    assert row["model_ci_high"] == pytest.approx(row["model"] + half, abs=1e-12)
    assert row["treat_all"] == pytest.approx(0.5 - 0.5 * odds, abs=1e-12)
