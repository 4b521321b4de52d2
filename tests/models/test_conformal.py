"""The ΔmRSS CV+ interval: coverage, local width and the limits of the mRSS scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from ssc_response.models.conformal import ConformalDelta
from ssc_response.models.delta import DeltaMrssClassifier

pytestmark = pytest.mark.model


def make(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Baseline mRSS and one covariate; noise SD 2 + 0.15 * baseline (grows with baseline)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"mrss_total": rng.integers(10, 45, n).astype(float),
                          "x": rng.normal(size=n)})
    sd = 2.0 + 0.15 * frame["mrss_total"].to_numpy()
    delta = -0.3 * (frame["mrss_total"] - 25) - 2 * frame["x"] + rng.normal(size=n) * sd
    return frame, np.clip(delta.to_numpy(), -frame["mrss_total"], 51 - frame["mrss_total"])


def conformal_for(frame: pd.DataFrame, delta: np.ndarray, k: int = 5) -> ConformalDelta:
    folds = list(KFold(k, shuffle=True, random_state=0).split(frame))
    estimators = [DeltaMrssClassifier(alpha=1.0).fit(frame.iloc[train], delta[train])
                  for train, _ in folds]
    return ConformalDelta.from_folds(estimators, folds, frame, delta)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_is_near_nominal_and_above_the_guarantee(seed: int) -> None:
    frame, delta = make(300, seed)
    conformal = conformal_for(frame, delta)
    fresh, fresh_delta = make(5000, seed + 100)

    low, high = conformal.interval(fresh, fresh["mrss_total"].to_numpy(), level=0.9)
    coverage = np.mean((fresh_delta >= low) & (fresh_delta <= high))

    assert coverage >= conformal.guaranteed_coverage(0.9)
    assert 0.85 <= coverage <= 0.95


def test_the_interval_is_wider_where_the_spread_of_change_is_larger() -> None:
    frame, delta = make(400, 4)
    conformal = conformal_for(frame, delta)
    grid = pd.DataFrame({"mrss_total": [15.0, 40.0], "x": [0.0, 0.0]})

    low, high = conformal.interval(grid, grid["mrss_total"].to_numpy(), level=0.9)

    assert (high - low)[1] > 1.5 * (high - low)[0]


def test_the_interval_stays_within_what_mrss_allows() -> None:
    frame, delta = make(200, 5)
    conformal = conformal_for(frame, delta)
    edge = pd.DataFrame({"mrss_total": [2.0, 50.0], "x": [3.0, -3.0]})

    low, high = conformal.interval(edge, edge["mrss_total"].to_numpy(), level=0.95)

    assert np.all(low >= -edge["mrss_total"]) and np.all(high <= 51 - edge["mrss_total"])


def test_too_few_patients_for_the_level_give_the_whole_scale() -> None:
    frame, delta = make(20, 6)
    conformal = conformal_for(frame, delta, k=4)

    low, high = conformal.interval(frame.iloc[:3], frame["mrss_total"].to_numpy()[:3],
                                   level=0.99)  # needs rank 21 of 20 scores

    np.testing.assert_array_equal(low, -frame["mrss_total"].to_numpy()[:3])
    np.testing.assert_array_equal(high, 51 - frame["mrss_total"].to_numpy()[:3])


def test_guarantee_of_barber_et_al() -> None:
    frame, delta = make(100, 7)
    conformal = conformal_for(frame, delta, k=5)

    # 1 - 2 * 0.1 - min(2 * (4/5) / (100/5 + 1), (1 - 5/100) / 6) = 0.8 - 0.07619...
    assert conformal.guaranteed_coverage(0.9) == pytest.approx(0.8 - 1.6 / 21)
