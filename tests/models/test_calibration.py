"""Logistic recalibration of any family's raw score."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from ssc_response.models.calibration import (
    RecalibratedClassifier,
    fit_recalibration,
    raw_score,
    raw_space,
)

pytestmark = pytest.mark.model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(600, 3))
Y = (RNG.uniform(size=600) < expit(X @ [1.0, -0.5, 0.0])).astype(int)


def test_raw_score_is_the_decision_function_when_there_is_one() -> None:
    logistic = LogisticRegression().fit(X, Y)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, Y)

    np.testing.assert_allclose(raw_score(logistic, X), logistic.decision_function(X))
    np.testing.assert_allclose(raw_score(forest, X), forest.predict_proba(X)[:, 1])
    assert (raw_space(logistic), raw_space(forest)) == ("logit", "probability")


def test_recalibration_recovers_a_known_intercept_and_slope() -> None:
    # Outcomes drawn from logit P = -0.4 + 1.7 * score: the fit must find those two numbers.
    rng = np.random.default_rng(1)
    score = rng.normal(size=20_000)
    y = (rng.uniform(size=score.size) < expit(-0.4 + 1.7 * score)).astype(int)

    intercept, slope = fit_recalibration(score, y)

    assert intercept == pytest.approx(-0.4, abs=0.05)
    assert slope == pytest.approx(1.7, abs=0.06)


def test_a_constant_score_recalibrates_to_the_base_rate() -> None:
    intercept, slope = fit_recalibration(np.zeros(10), np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0]))

    assert slope == 0.0
    assert expit(intercept) == pytest.approx(0.2)


def test_scores_that_rank_inversely_are_not_flipped_but_give_the_base_rate() -> None:
    # Out-of-fold scores anti-correlated with the outcome (logit P = 0.3 - 1.2 * score): the
    # unconstrained fit would flip the model (slope about -1.2); the constrained one predicts
    # the base rate (slope 0, intercept = log-odds of the observed rate).
    rng = np.random.default_rng(2)
    score = rng.normal(size=5_000)
    y = (rng.uniform(size=score.size) < expit(0.3 - 1.2 * score)).astype(int)

    intercept, slope = fit_recalibration(score, y)

    assert slope == 0.0
    assert expit(intercept) == pytest.approx(y.mean(), abs=1e-9)


def test_recalibrated_log_odds_are_affine_in_the_raw_score() -> None:
    model = RecalibratedClassifier(LogisticRegression(), intercept=0.3, slope=0.5).fit(X, Y)

    raw = model.estimator_.decision_function(X)
    np.testing.assert_allclose(model.decision_function(X), 0.3 + 0.5 * raw)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expit(0.3 + 0.5 * raw))
    np.testing.assert_array_equal(model.classes_, [0, 1])


def test_parameters_survive_clone() -> None:
    model = RecalibratedClassifier(LogisticRegression(C=0.2), intercept=-1.0, slope=2.0)

    copy = clone(model)

    assert copy.get_params()["intercept"] == -1.0 and copy.get_params()["slope"] == 2.0
    assert copy.estimator.C == 0.2
