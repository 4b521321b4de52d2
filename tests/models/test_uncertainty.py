"""Tests for models.uncertainty: bootstrap ensemble and conformal intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from scipy.special import expit
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor

from models.uncertainty import BootstrapEnsemble, ConformalInterval

COEF = np.array([1.0, -0.8, 0.5, 0.0])


def make_features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, COEF.size)), columns=["a", "b", "c", "d"])


def make_labels(x: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random(len(x)) < expit(x.to_numpy() @ COEF - 0.3)


def make_delta(x: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 4 * x.to_numpy() @ COEF - 5 + rng.normal(0, 3, len(x))


X = make_features(300, seed=0)
LABELS = make_labels(X, seed=1)
DELTA = make_delta(X, seed=2)
NEW_X = make_features(50, seed=3)


def ensemble(
    estimator: object, target: np.ndarray, n_models: int = 20, seed: int = 0
) -> BootstrapEnsemble:
    return BootstrapEnsemble().fit(estimator, X, target, n_models=n_models, seed=seed)


def width(low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean(high - low))


CASES = {
    "logistic": (lambda: LogisticRegression(), LABELS),
    "forest": (lambda: RandomForestClassifier(n_estimators=30, random_state=0), LABELS),
    "ridge": (lambda: Ridge(), DELTA),
    "hgb_regressor": (lambda: HistGradientBoostingRegressor(max_iter=10), DELTA),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_interval_usually_contains_the_full_data_prediction(name: str) -> None:
    make, target = CASES[name]
    full = make().fit(X, target)
    point = (
        full.predict_proba(NEW_X)[:, 1] if hasattr(full, "predict_proba") else full.predict(NEW_X)
    )
    low, high = ensemble(make(), target).interval(NEW_X, level=0.95)
    assert (low <= high).all()
    assert np.mean((low <= point) & (point <= high)) >= 0.9


def test_probability_interval_stays_in_unit_range() -> None:
    low, high = ensemble(RandomForestClassifier(n_estimators=20, random_state=0), LABELS).interval(
        NEW_X
    )
    assert (low >= 0).all() and (high <= 1).all()


def test_width_shrinks_with_sample_size() -> None:
    widths = []
    for n in (100, 2000):
        x = make_features(n, seed=10)
        fitted = BootstrapEnsemble().fit(LogisticRegression(), x, make_labels(x, 11), n_models=30)
        widths.append(width(*fitted.interval(NEW_X)))
    assert widths[1] < 0.5 * widths[0]


def test_width_grows_with_level() -> None:
    fitted = ensemble(Ridge(), DELTA)
    assert width(*fitted.interval(NEW_X, 0.5)) < width(*fitted.interval(NEW_X, 0.95))


def test_same_seed_same_intervals() -> None:
    make = CASES["forest"][0]
    first = ensemble(make(), LABELS, seed=5).interval(NEW_X)
    second = ensemble(make(), LABELS, seed=5).interval(NEW_X)
    other = ensemble(make(), LABELS, seed=6).interval(NEW_X)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_members_get_distinct_random_states() -> None:
    fitted = ensemble(RandomForestClassifier(n_estimators=5, random_state=0), LABELS, n_models=5)
    assert len({m.random_state for m in fitted.estimators_}) == 5


@pytest.mark.parametrize(
    "estimator, target, link",
    [
        (LogisticRegression(), LABELS, "logistic"),
        (LogisticRegression(l1_ratio=1.0, solver="saga", max_iter=5000), LABELS, "logistic"),
        (Ridge(), DELTA, "identity"),
        (ElasticNet(alpha=0.1), DELTA, "identity"),
    ],
)
def test_linear_fast_path_equals_member_predictions(
    estimator: object, target: np.ndarray, link: str
) -> None:
    fitted = ensemble(estimator, target)
    assert fitted.link_ == link and fitted.coef_ is not None
    if link == "logistic":
        slow = np.column_stack([m.predict_proba(NEW_X)[:, 1] for m in fitted.estimators_])
    else:
        slow = np.column_stack([m.predict(NEW_X) for m in fitted.estimators_])
    np.testing.assert_allclose(fitted.predictions(NEW_X), slow, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fitted.predictions(NEW_X.iloc[:1]), slow[:1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("estimator", [Ridge(), RandomForestRegressor(n_estimators=3)])
def test_fast_paths_refuse_reordered_columns(estimator: object) -> None:
    fitted = ensemble(estimator, DELTA, n_models=2)
    with pytest.raises(ValueError, match="Expected columns"):
        fitted.predictions(NEW_X[["d", "c", "b", "a"]])


@pytest.mark.parametrize(
    "estimator, target",
    [
        (RandomForestClassifier(n_estimators=20, random_state=0), LABELS),
        (ExtraTreesClassifier(n_estimators=20, random_state=0), LABELS),
        (RandomForestRegressor(n_estimators=20, random_state=0), DELTA),
        (HistGradientBoostingClassifier(max_iter=20, random_state=0), LABELS),
        (HistGradientBoostingRegressor(max_iter=20, random_state=0), DELTA),
    ],
)
def test_tree_fast_path_equals_member_predictions(estimator: object, target: np.ndarray) -> None:
    x = X.copy()
    x.iloc[::9, 1] = np.nan  # trees route missing values natively; the fast path must too
    fitted = BootstrapEnsemble().fit(estimator, x, target, n_models=5)
    new = NEW_X.copy()
    new.iloc[::4, 1] = np.nan
    if hasattr(estimator, "predict_proba"):
        slow = np.column_stack([m.predict_proba(new)[:, 1] for m in fitted.estimators_])
    else:
        slow = np.column_stack([m.predict(new) for m in fitted.estimators_])
    assert fitted.tree_members
    np.testing.assert_allclose(fitted.predictions(new), slow, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fitted.predictions(new.iloc[:1]), slow[:1], rtol=0, atol=1e-12)


def test_other_members_are_called_once_per_batch() -> None:
    fitted = ensemble(KNeighborsRegressor(n_neighbors=3), DELTA, n_models=3)
    assert fitted.link_ is None and fitted.coef_ is None and not fitted.tree_members
    expected = np.column_stack([m.predict(NEW_X) for m in fitted.estimators_])
    np.testing.assert_array_equal(fitted.predictions(NEW_X), expected)


def test_rare_class_resamples_always_have_both_classes() -> None:
    x = make_features(25, seed=4)
    labels = np.zeros(25, dtype=bool)
    labels[0] = True  # a plain bootstrap misses it ~36 % of the time
    fitted = BootstrapEnsemble().fit(LogisticRegression(), x, labels, n_models=15)
    assert all(len(m.classes_) == 2 for m in fitted.estimators_)


def test_pandas_boolean_target_is_accepted() -> None:
    target = pd.Series(LABELS, dtype="boolean")
    low, high = BootstrapEnsemble().fit(LogisticRegression(), X, target, n_models=5).interval(NEW_X)
    assert low.shape == high.shape == (len(NEW_X),)


def test_original_estimator_is_not_fitted() -> None:
    estimator = Ridge()
    ensemble(estimator, DELTA, n_models=2)
    assert not hasattr(estimator, "coef_")


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_rejects_level_outside_unit_interval(level: float) -> None:
    with pytest.raises(ValueError, match="level"):
        ensemble(Ridge(), DELTA, n_models=2).interval(NEW_X, level=level)


def test_rejects_too_few_models() -> None:
    with pytest.raises(ValueError, match="n_models"):
        ensemble(Ridge(), DELTA, n_models=1)


@pytest.mark.parametrize("name", ["logistic", "forest"])
def test_skops_round_trip(name: str) -> None:
    make, target = CASES[name]
    fitted = ensemble(make(), target, n_models=3)
    payload = sio.dumps(fitted)
    loaded = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    np.testing.assert_array_equal(loaded.interval(NEW_X), fitted.interval(NEW_X))


# --- conformal ---------------------------------------------------------------------------


def test_quantile_is_the_finite_sample_rank() -> None:
    conformal = ConformalInterval().fit(-np.arange(1.0, 20.0))  # |r| = 1..19, n = 19
    assert conformal.quantile(0.9) == 18.0  # ceil(20 * 0.9) = 18
    assert conformal.quantile(0.5) == 10.0
    assert ConformalInterval().fit(np.arange(1.0, 10.0)).quantile(0.9) == 9.0  # (9+1)*0.9 = 9


def test_too_few_residuals_give_infinite_width_capped_by_bounds() -> None:
    conformal = ConformalInterval().fit([1.0, 2.0, 3.0])
    assert conformal.quantile(0.9) == np.inf
    low, high = conformal.interval([0.0, -5.0], lower=np.array([-20.0, -30.0]), upper=[31.0, 21.0])
    np.testing.assert_array_equal(low, [-20.0, -30.0])
    np.testing.assert_array_equal(high, [31.0, 21.0])


def test_interval_is_symmetric_and_contains_prediction() -> None:
    conformal = ConformalInterval().fit(np.random.default_rng(0).normal(0, 4, 200))
    predictions = np.array([-12.0, 0.0, 3.5])
    low, high = conformal.interval(predictions, level=0.9)
    np.testing.assert_allclose(predictions - low, high - predictions)
    assert ((low < predictions) & (predictions < high)).all()


def test_per_row_clipping_to_possible_delta_mrss() -> None:
    baseline = np.array([10.0, 30.0, 48.0])
    conformal = ConformalInterval().fit(np.full(50, 6.0))
    low, high = conformal.interval([-8.0, -8.0, 1.0], lower=-baseline, upper=51.0 - baseline)
    np.testing.assert_array_equal(low, [-10.0, -14.0, -5.0])
    np.testing.assert_array_equal(high, [-2.0, -2.0, 3.0])


@pytest.mark.parametrize("n", [20, 100, 500])
def test_coverage_on_exchangeable_data(n: int) -> None:
    """Split conformal: mean coverage within [level, level + 1 / (n + 1)], up to Monte Carlo."""
    rng = np.random.default_rng(n)
    level, trials = 0.9, 4000
    calibration = rng.standard_t(3, size=(trials, n))
    test = rng.standard_t(3, size=trials)
    covered = [
        abs(t) <= ConformalInterval().fit(c).quantile(level)
        for c, t in zip(calibration, test, strict=True)
    ]
    assert level - 0.015 <= np.mean(covered) <= level + 1 / (n + 1) + 0.015


def test_width_tracks_the_residual_scale() -> None:
    rng = np.random.default_rng(1)
    narrow = ConformalInterval().fit(rng.normal(0, 1, 400)).quantile(0.9)
    wide = ConformalInterval().fit(rng.normal(0, 5, 400)).quantile(0.9)
    assert wide == pytest.approx(5 * narrow, rel=0.25)
    assert narrow == pytest.approx(1.645, rel=0.15)


@pytest.mark.parametrize("residuals", [[], [1.0, np.nan]])
def test_conformal_rejects_empty_or_missing_residuals(residuals: list[float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        ConformalInterval().fit(residuals)


def test_conformal_skops_round_trip() -> None:
    conformal = ConformalInterval().fit(np.arange(30.0))
    payload = sio.dumps(conformal)
    loaded = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    assert loaded.quantile(0.8) == conformal.quantile(0.8)
