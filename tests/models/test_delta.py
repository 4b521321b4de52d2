"""DeltaMrssClassifier: P(skin response) derived from a regression of the change in mRSS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.delta import DeltaMrssClassifier


def make_inputs(n: int, seed: int) -> pd.DataFrame:
    """Baseline mRSS in points plus two standardised covariates."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "mrss_total": rng.integers(10, 45, n).astype(float),
            "inflammation": rng.normal(size=n),
            "noise": rng.normal(size=n),
        }
    )


def make_delta(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Regression to the mean plus an inflammation effect (more inflammation, more improvement)."""
    rng = np.random.default_rng(seed)
    return (-0.3 * (frame["mrss_total"] - 25) - 3.0 * frame["inflammation"] - 4.0
            + rng.normal(0, 4, len(frame))).to_numpy()


X = make_inputs(300, seed=0)
DELTA = make_delta(X, seed=1)


@pytest.fixture(scope="module")
def fitted() -> DeltaMrssClassifier:
    return DeltaMrssClassifier(random_state=0).fit(X, DELTA)


def test_probabilities_are_valid(fitted: DeltaMrssClassifier) -> None:
    proba = fitted.predict_proba(make_inputs(200, seed=5))

    assert proba.shape == (200, 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(fitted.predict(X)) <= {0, 1}


def test_larger_predicted_improvement_gives_higher_probability(
    fitted: DeltaMrssClassifier,
) -> None:
    # Same baseline mRSS, inflammation varied: only the predicted change differs.
    grid = pd.DataFrame({"mrss_total": 30.0, "inflammation": np.linspace(-2, 2, 21), "noise": 0.0})

    delta = fitted.predict_delta(grid)
    probability = fitted.predict_proba(grid)[:, 1]

    order = np.argsort(delta)  # most improvement (most negative change) first
    assert np.all(np.diff(probability[order]) <= 0)
    assert probability[order[0]] > probability[order[-1]]


@pytest.mark.parametrize("parameter, low, high", [("abs_threshold", 3.0, 8.0),
                                                  ("rel_threshold", 0.1, 0.4)])
def test_stricter_response_rule_lowers_probability(parameter: str, low: float,
                                                   high: float) -> None:
    lenient = DeltaMrssClassifier(**{parameter: low}).fit(X, DELTA).predict_proba(X)[:, 1]
    strict = DeltaMrssClassifier(**{parameter: high}).fit(X, DELTA).predict_proba(X)[:, 1]

    assert np.all(strict <= lenient)
    assert np.mean(strict < lenient) > 0.5


def test_probability_follows_the_eustar_rule(fitted: DeltaMrssClassifier) -> None:
    """P(response) = F(-max(abs, rel * baseline) - predicted change), F logistic residuals."""
    delta = fitted.predict_delta(X)
    required = np.maximum(5.0, 0.25 * X["mrss_total"].to_numpy())
    expected = (-required - delta - fitted.residual_location_) / fitted.residual_scale_

    np.testing.assert_allclose(logit(fitted.predict_proba(X)[:, 1]), expected, rtol=1e-9)


def test_predict_delta_is_the_ridge_regression(fitted: DeltaMrssClassifier) -> None:
    reference = make_pipeline(StandardScaler(), RidgeCV(alphas=fitted.alphas)).fit(X, DELTA)

    np.testing.assert_allclose(fitted.predict_delta(X), reference.predict(X), rtol=1e-9)
    assert np.corrcoef(fitted.predict_delta(X), DELTA)[0, 1] > 0.6


def test_additive_logit_terms_add_up(fitted: DeltaMrssClassifier) -> None:
    constant, terms = fitted.additive_logit_terms(X)

    assert terms.shape == X.shape
    np.testing.assert_allclose(constant + terms.sum(axis=1), fitted.decision_function(X))


def test_missing_baseline_feature_is_named() -> None:
    with pytest.raises(ValueError, match="baseline_feature 'mrss_total'"):
        DeltaMrssClassifier().fit(X.drop(columns="mrss_total"), DELTA)


def test_unfitted_model_refuses_to_predict() -> None:
    with pytest.raises(NotFittedError):
        DeltaMrssClassifier().predict_proba(X)


def test_same_seed_same_model() -> None:
    first = DeltaMrssClassifier(random_state=3).fit(X, DELTA).predict_proba(X)
    second = DeltaMrssClassifier(random_state=3).fit(X, DELTA).predict_proba(X)

    np.testing.assert_array_equal(first, second)
