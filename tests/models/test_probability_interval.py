"""The probability interval from bootstrap members' log-odds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression

from ssc_response.models.calibration import RecalibratedClassifier
from ssc_response.models.probability_interval import ProbabilityInterval

pytestmark = pytest.mark.model


class Fixed:
    """A member whose log-odds are a fixed shift of a linear score."""

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, 0] + self.shift


def test_interval_is_the_normal_interval_on_the_log_odds_scale() -> None:
    members = [Fixed(s) for s in (-0.2, 0.0, 0.2)]  # SD (ddof=1) of the shifts is 0.2
    interval = ProbabilityInterval(members)
    features = np.array([[0.5], [-1.0]])

    low, high = interval.interval(features, logit=np.array([0.5, -1.0]), level=0.9)

    half = norm.ppf(0.95) * 0.2
    np.testing.assert_allclose(low, expit(np.array([0.5, -1.0]) - half))
    np.testing.assert_allclose(high, expit(np.array([0.5, -1.0]) + half))


def test_a_more_uncertain_patient_gets_a_wider_interval() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (rng.uniform(size=300) < expit(X[:, 0])).astype(int)
    members = []
    for _ in range(30):
        rows = rng.integers(0, 300, 300)
        members.append(LogisticRegression().fit(X[rows], y[rows]))
    interval = ProbabilityInterval(members)

    typical, far = interval.standard_error(np.array([[0.0, 0.0], [3.0, 3.0]]))

    assert far > 2 * typical


def test_needs_at_least_two_members() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ProbabilityInterval([Fixed(0.0)])


def test_monte_carlo_error_of_the_standard_error() -> None:
    assert ProbabilityInterval([Fixed(0.0)] * 51).relative_mc_error() == pytest.approx(0.1)


def _frame_and_members(fit_on_array: bool) -> tuple[pd.DataFrame, list[LogisticRegression]]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (rng.uniform(size=200) < expit(frame["a"] - frame["c"])).astype(int)
    members = []
    for _ in range(10):
        rows = rng.integers(0, 200, 200)
        sample = frame.iloc[rows]
        members.append(LogisticRegression().fit(
            sample.to_numpy() if fit_on_array else sample, y[rows]))
    return frame, members


def test_members_fitted_on_the_array_give_what_members_fitted_on_the_frame_give() -> None:
    frame, on_frame = _frame_and_members(fit_on_array=False)
    _, on_array = _frame_and_members(fit_on_array=True)
    patients = frame.head(5)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        fast = ProbabilityInterval(on_array, feature_names=["a", "b", "c"]).standard_error(
            patients)
        checked = ProbabilityInterval(on_frame).standard_error(patients)

    np.testing.assert_allclose(fast, checked, rtol=1e-10, atol=1e-12)


def test_members_fitted_on_the_array_refuse_features_in_another_order() -> None:
    frame, on_array = _frame_and_members(fit_on_array=True)
    interval = ProbabilityInterval(on_array, feature_names=["a", "b", "c"])

    with pytest.raises(ValueError, match="not those the members were fitted on"):
        interval.standard_error(frame[["c", "b", "a"]].head(3))


def test_recalibrated_logistic_members_give_each_members_own_log_odds() -> None:
    """Evaluated together (one matrix product), the log-odds are each member's own
    ``decision_function`` (the reference: scikit-learn's, member by member)."""
    frame, members = _frame_and_members(fit_on_array=True)
    rng = np.random.default_rng(2)
    recalibrated = []
    for member in members:
        wrapped = RecalibratedClassifier(member, rng.normal(), rng.uniform(0.5, 1.5))
        wrapped.estimator_ = member  # already fitted on the array
        recalibrated.append(wrapped)
    patients = frame.head(7)

    together = ProbabilityInterval(recalibrated, feature_names=["a", "b", "c"]).member_logits(
        patients)

    one_by_one = np.column_stack([m.decision_function(patients.to_numpy()) for m in recalibrated])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12, atol=1e-12)
