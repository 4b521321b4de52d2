"""Performance measures against hand-computed tiny cases, scikit-learn and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, mean_absolute_error, r2_score, roc_auc_score

from ssc_response.training.assessment import BINARY, CONTINUOUS, score
from ssc_response.training.metrics import (
    auroc,
    brier,
    calibration_intercept,
    calibration_slope,
    calibration_slope_intercept,
    mae,
    net_benefit,
    r2,
)


def simulate_calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear predictor and outcomes drawn from exactly that risk."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(-0.5, 1.5, n)
    return lp, (rng.random(n) < expit(lp)).astype(float)


# --- discrimination -------------------------------------------------------------------


def test_auroc_hand_computed() -> None:
    # Pairs (positive, negative): (.35,.1) ok, (.35,.4) wrong, (.8,.1) ok, (.8,.4) ok -> 3/4.
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_auroc_ties_count_half() -> None:
    assert auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def test_auroc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.round(rng.random(200), 1)  # rounding creates many ties
    assert auroc(y, p) == pytest.approx(roc_auc_score(y, p))


def test_auroc_single_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="single class"):
        auroc([1, 1, 1], [0.2, 0.5, 0.9])


def test_binary_measures_reject_non_binary_outcomes() -> None:
    with pytest.raises(ValueError, match="0/1"):
        brier([0, 2], [0.1, 0.2])


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        auroc([0, 1, 1], [0.1, 0.2])


# --- Brier ----------------------------------------------------------------------------


def test_brier_hand_computed_and_sklearn() -> None:
    assert brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 2, 50), rng.random(50)
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p))


def test_brier_rejects_probabilities_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier([0, 1], [0.2, 1.2])


# --- calibration ----------------------------------------------------------------------


def test_calibrated_predictions_have_slope_one_intercept_zero() -> None:
    lp, y = simulate_calibrated(40_000, seed=2)
    slope, intercept = calibration_slope_intercept(y, expit(lp))
    assert slope == pytest.approx(1.0, abs=0.05)
    assert intercept == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize(("stretch", "expected_slope"), [(2.0, 0.5), (0.5, 2.0)])
def test_slope_detects_too_extreme_and_too_modest_predictions(
    stretch: float, expected_slope: float
) -> None:
    lp, y = simulate_calibrated(40_000, seed=3)
    assert calibration_slope(y, expit(stretch * lp)) == pytest.approx(expected_slope, rel=0.08)


def test_intercept_detects_systematic_underestimation() -> None:
    lp, y = simulate_calibrated(40_000, seed=4)
    # Predicted log-odds one unit too low: the offset model recovers a = +1.
    assert calibration_intercept(y, expit(lp - 1)) == pytest.approx(1.0, abs=0.06)


def test_slope_matches_unpenalised_sklearn_fit() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, 60)
    y = (rng.random(60) < p).astype(int)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000)
    reference.fit(logit(p)[:, None], y)
    assert calibration_slope(y, p) == pytest.approx(reference.coef_[0, 0], rel=1e-5)


def test_intercept_with_constant_predictions_is_logit_of_rate_gap() -> None:
    # Offset logit(0.5) = 0, so the score equation gives a = logit(mean(y)) = logit(0.3).
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    with pytest.warns(RuntimeWarning, match="constant"):
        slope, intercept = calibration_slope_intercept(y, np.full(10, 0.5))
    assert np.isnan(slope)
    assert intercept == pytest.approx(logit(0.3))


def test_perfect_separation_gives_nan_slope_and_finite_intercept() -> None:
    with pytest.warns(RuntimeWarning, match="separate"):
        slope, intercept = calibration_slope_intercept([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert np.isnan(slope)
    assert np.isfinite(intercept)


def test_probabilities_of_exactly_zero_and_one_are_clipped() -> None:
    slope, intercept = calibration_slope_intercept([0, 1, 0, 1, 1], [0.0, 1.0, 0.6, 0.4, 0.9])
    assert np.isfinite(slope)
    assert np.isfinite(intercept)


# --- decision curve -------------------------------------------------------------------


def test_net_benefit_hand_computed() -> None:
    y = [1, 1, 0, 0, 0]
    p = [0.9, 0.4, 0.6, 0.2, 0.1]
    curve = net_benefit(y, p, [0.25, 0.5])
    # pt=.25: treat .9,.4,.6 -> TP 2/5, FP 1/5, odds 1/3;  pt=.5: treat .9,.6 -> TP 1/5, FP 1/5.
    assert curve["model"].tolist() == pytest.approx([0.4 - 0.2 / 3, 0.0])
    assert curve["treat_all"].tolist() == pytest.approx([0.4 - 0.6 / 3, 0.4 - 0.6])
    assert curve["treat_none"].tolist() == [0.0, 0.0]
    assert list(curve.columns) == ["threshold", "model", "treat_all", "treat_none"]


def test_treat_all_follows_vickers_elkin_formula_and_equals_treating_everyone() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    thresholds = np.linspace(0.05, 0.6, 12)
    curve = net_benefit(y, rng.random(300), thresholds)
    prevalence = y.mean()
    expected = prevalence - (1 - prevalence) * thresholds / (1 - thresholds)
    assert curve["treat_all"].to_numpy() == pytest.approx(expected)
    everyone = net_benefit(y, np.ones(300), thresholds)
    assert everyone["model"].to_numpy() == pytest.approx(expected)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_net_benefit_rejects_thresholds_outside_open_interval(bad: float) -> None:
    with pytest.raises(ValueError, match="strictly between"):
        net_benefit([0, 1], [0.2, 0.8], [bad])


# --- continuous -----------------------------------------------------------------------


def test_mae_and_r2_hand_computed_and_sklearn() -> None:
    y, pred = [1.0, 2.0, 3.0], [1.0, 2.0, 5.0]
    assert mae(y, pred) == pytest.approx(2 / 3)
    assert r2(y, pred) == pytest.approx(1 - 4 / 2)  # SS_res 4, SS_tot 2
    rng = np.random.default_rng(7)
    y2, pred2 = rng.normal(size=40), rng.normal(size=40)
    assert mae(y2, pred2) == pytest.approx(mean_absolute_error(y2, pred2))
    assert r2(y2, pred2) == pytest.approx(r2_score(y2, pred2))


def test_r2_of_constant_outcome_is_an_error() -> None:
    with pytest.raises(ValueError, match="constant"):
        r2([2.0, 2.0], [1.0, 3.0])


# --- one set of predictions scored (training.assessment.score) -------------------------


def test_score_records_undefined_binary_measures_as_nan() -> None:
    # One class only: AUROC, Brier's comparison and the calibration fit are undefined (NaN);
    # the change's measures are still defined. MAE by hand: (|1-2| + |3-3| + |5-4| + |0-2|)/4.
    y, p = np.ones(4, dtype=int), np.array([0.2, 0.4, 0.6, 0.8])
    delta, predicted = np.array([1.0, 3.0, 5.0, 0.0]), np.array([2.0, 3.0, 4.0, 2.0])
    scores = score(y, p, delta, predicted)
    assert set(scores) == set(BINARY) | set(CONTINUOUS)
    assert all(np.isnan(scores[name]) for name in BINARY)
    assert scores["delta_mae"] == pytest.approx(1.0)
