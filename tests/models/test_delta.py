"""DeltaMrssClassifier: P(skin response) from a regression of the change in mRSS.

The mechanisms here are hand-built so the right answers are known: a linear mean change, and
noise whose SD is either constant or grows with baseline mRSS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from ssc_response.features.outcomes import minimal_responder_decrease
from ssc_response.models.delta import IMPOSSIBLE_LOGIT, LOGIT_PER_SD, DeltaMrssClassifier

pytestmark = pytest.mark.model


def make_inputs(n: int, seed: int) -> pd.DataFrame:
    """Baseline mRSS in points plus two standardised covariates."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"mrss_total": rng.integers(10, 45, n).astype(float),
                         "inflammation": rng.normal(size=n), "noise": rng.normal(size=n)})


def mean_change(frame: pd.DataFrame) -> np.ndarray:
    """Regression to the mean plus an inflammation effect (more inflammation, more improvement)."""
    return (-0.3 * (frame["mrss_total"] - 25) - 3.0 * frame["inflammation"] - 4.0).to_numpy()


def noise_sd(frame: pd.DataFrame, per_point: float) -> np.ndarray:
    return 4.0 + per_point * (frame["mrss_total"].to_numpy() - 25)


def make_delta(frame: pd.DataFrame, seed: int, per_point: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return mean_change(frame) + rng.normal(size=len(frame)) * noise_sd(frame, per_point)


X = make_inputs(400, seed=0)
DELTA = make_delta(X, seed=1)


@pytest.fixture(scope="module")
def fitted() -> DeltaMrssClassifier:
    return DeltaMrssClassifier(alpha=1.0).fit(X, DELTA)


def test_probabilities_are_valid(fitted: DeltaMrssClassifier) -> None:
    proba = fitted.predict_proba(make_inputs(200, seed=5))

    assert proba.shape == (200, 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(fitted.predict(X)) <= {0, 1}


def test_predict_delta_is_the_ridge_on_standardised_inputs(fitted: DeltaMrssClassifier) -> None:
    scaled = StandardScaler().fit_transform(X)
    reference = Ridge(alpha=1.0).fit(scaled, DELTA)

    np.testing.assert_allclose(fitted.predict_delta(X), reference.predict(scaled), rtol=1e-9)


def test_log_odds_follow_the_whole_point_rule(fitted: DeltaMrssClassifier) -> None:
    """logit P = (0.5 - m(b) - predicted change) / σ(b), logistic with SD σ."""
    baseline = X["mrss_total"].to_numpy()
    needed = minimal_responder_decrease(baseline)  # whole points: > 5 -> 6, >= 25 % rounded up
    expected = (0.5 - needed - fitted.predict_delta(X)) / fitted.residual_sd(X) * LOGIT_PER_SD

    np.testing.assert_allclose(fitted.decision_function(X), expected, rtol=1e-12)


def test_a_decrease_above_the_baseline_is_impossible() -> None:
    frame = pd.DataFrame({"mrss_total": [4.0, 30.0], "inflammation": [3.0, 3.0],
                          "noise": [0.0, 0.0]})
    model = DeltaMrssClassifier(alpha=1.0).fit(X, DELTA)

    logits = model.decision_function(frame)

    assert logits[0] == IMPOSSIBLE_LOGIT  # a baseline of 4 cannot fall by the 6 points needed
    assert logits[1] > IMPOSSIBLE_LOGIT


@pytest.mark.parametrize("parameter, low, high", [("abs_threshold", 3.0, 8.0),
                                                  ("rel_threshold", 0.1, 0.4)])
def test_stricter_response_rule_lowers_probability(parameter: str, low: float,
                                                   high: float) -> None:
    lenient = DeltaMrssClassifier(**{parameter: low}).fit(X, DELTA).predict_proba(X)[:, 1]
    strict = DeltaMrssClassifier(**{parameter: high}).fit(X, DELTA).predict_proba(X)[:, 1]

    assert np.all(strict <= lenient)
    assert np.mean(strict < lenient) > 0.5


def test_residual_sd_is_flat_when_the_noise_is() -> None:
    frame = make_inputs(4000, seed=2)
    model = DeltaMrssClassifier(alpha=1.0).fit(frame, make_delta(frame, seed=3))

    sd = model.residual_sd(pd.DataFrame({"mrss_total": [15.0, 40.0], "inflammation": 0.0,
                                         "noise": 0.0}))

    np.testing.assert_allclose(sd, 4.0, rtol=0.08)  # the mechanism's SD, at both baselines


def test_residual_sd_grows_with_baseline_when_the_noise_does() -> None:
    frame = make_inputs(4000, seed=2)
    model = DeltaMrssClassifier(alpha=1.0).fit(frame, make_delta(frame, seed=3, per_point=0.15))
    grid = pd.DataFrame({"mrss_total": [15.0, 40.0], "inflammation": 0.0, "noise": 0.0})

    # Mechanism: SD 4 + 0.15 (b - 25): 2.5 at 15 points, 6.25 at 40 points.
    np.testing.assert_allclose(model.residual_sd(grid), noise_sd(grid, 0.15), rtol=0.12)


def test_probability_matches_the_mechanism_on_a_large_sample() -> None:
    """With the mechanism's own form (linear mean, Gaussian noise) the estimate of P(response)
    is within a few points of the truth: logistic with matched SD against the normal."""
    frame = make_inputs(6000, seed=4)
    model = DeltaMrssClassifier(alpha=1.0).fit(frame, make_delta(frame, seed=5, per_point=0.15))
    test = make_inputs(2000, seed=6)
    needed = minimal_responder_decrease(test["mrss_total"].to_numpy())
    truth = norm.cdf((0.5 - needed - mean_change(test)) / noise_sd(test, 0.15))

    error = np.abs(model.predict_proba(test)[:, 1] - truth)

    assert error.mean() < 0.02 and error.max() < 0.08


def test_logit_attribution_adds_up_exactly(fitted: DeltaMrssClassifier) -> None:
    test = make_inputs(50, seed=7)

    base, values = fitted.logit_attribution(test, X)

    assert values.shape == test.shape
    assert base == pytest.approx(fitted.decision_function(X).mean())
    np.testing.assert_allclose(base + values.sum(axis=1), fitted.decision_function(test),
                               rtol=1e-9, atol=1e-12)


def test_logit_attribution_credits_a_field_only_when_it_differs_from_average(
        fitted: DeltaMrssClassifier) -> None:
    average = pd.DataFrame([X.mean()])

    _, values = fitted.logit_attribution(average.assign(mrss_total=30.0), X)

    assert values[0, 1] == pytest.approx(0.0, abs=1e-12)  # inflammation at its mean
    assert values[0, 2] == pytest.approx(0.0, abs=1e-12)


def test_missing_baseline_feature_is_named() -> None:
    with pytest.raises(ValueError, match="baseline_feature 'mrss_total'"):
        DeltaMrssClassifier().fit(X.drop(columns="mrss_total"), DELTA)


def test_unfitted_model_refuses_to_predict() -> None:
    with pytest.raises(NotFittedError):
        DeltaMrssClassifier().predict_proba(X)


@pytest.mark.parametrize("method", ["decision_function", "predict_delta", "residual_sd"])
def test_a_frame_with_its_columns_in_another_order_is_refused(
    fitted: DeltaMrssClassifier, method: str
) -> None:
    """The coefficients are positional: reordered columns would silently mis-predict."""
    reordered = X[["noise", "mrss_total", "inflammation"]]

    with pytest.raises(ValueError, match="not those the model was fitted on"):
        getattr(fitted, method)(reordered)


def test_the_fitted_columns_as_a_frame_or_an_array_give_the_same_answer(
    fitted: DeltaMrssClassifier,
) -> None:
    np.testing.assert_allclose(fitted.decision_function(X.to_numpy()),
                               fitted.decision_function(X), rtol=1e-12)
