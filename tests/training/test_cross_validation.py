"""Repeated stratified k-fold cross-validation of a whole modelling procedure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LinearRegression

from training.cross_validation import repeated_cv_predictions
from training.metrics import BINARY_METRICS, CONTINUOUS_METRICS, auroc


def lda_fit_predict(x_train: Any, y_train: Any, evals: list[Any]) -> list[np.ndarray]:
    model = LinearDiscriminantAnalysis().fit(x_train, y_train)
    return [model.predict_proba(x)[:, 1] for x in evals]


def seen_in_training(x_train: Any, y_train: Any, evals: list[Any]) -> list[np.ndarray]:
    """Predicts 1 for a patient (id in column 0) that was in the training part."""
    return [np.isin(x[:, 0], x_train[:, 0]).astype(float) for x in evals]


def make_noise(n: int, seed: int, events: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.arange(n), rng.normal(size=(n, 3))])
    y = rng.integers(0, 2, n) if events is None else np.array([1] * events + [0] * (n - events))
    return x, y


def test_every_patient_is_predicted_once_per_repeat_by_a_model_that_never_saw_them() -> None:
    x, y = make_noise(43, seed=0)
    result = repeated_cv_predictions(seen_in_training, x, y, n_splits=5, n_repeats=3)
    assert result.oof_predictions.shape == (3, 43)
    assert np.all(result.oof_predictions == 0)


def test_stratified_folds_keep_both_classes_and_partition_the_data() -> None:
    x, y = make_noise(50, seed=1, events=10)
    result = repeated_cv_predictions(lda_fit_predict, x, y, 5, 2, metrics=BINARY_METRICS)
    folds = result.fold_metrics
    assert len(folds) == 10
    assert folds.groupby("repeat")["n_test"].sum().tolist() == [50, 50]
    assert folds["auroc"].notna().all()  # every test fold has both classes
    assert result.stratified


def test_tiny_minority_reduces_the_number_of_folds_with_a_warning() -> None:
    x, y = make_noise(30, seed=2, events=3)
    with pytest.warns(UserWarning, match="n_splits=3"):
        result = repeated_cv_predictions(lda_fit_predict, x, y, n_splits=5, n_repeats=2)
    assert result.n_splits == 3
    assert not np.isnan(result.oof_predictions).any()


def test_single_event_cannot_be_cross_validated() -> None:
    x, y = make_noise(30, seed=3, events=1)
    with pytest.raises(ValueError, match="minority class has 1"):
        repeated_cv_predictions(lda_fit_predict, x, y)


def test_noise_gives_auroc_near_half() -> None:
    x, y = make_noise(120, seed=4)
    result = repeated_cv_predictions(lda_fit_predict, x, y, 5, 4, metrics={"auroc": auroc})
    summary = result.summary()
    assert summary.loc["auroc", "pooled_mean"] == pytest.approx(0.5, abs=0.08)
    assert summary.loc["auroc", "fold_sd"] > 0
    assert list(summary.columns) == ["fold_mean", "fold_sd", "pooled_mean", "pooled_sd"]


def test_deterministic_by_seed_and_independent_of_n_jobs() -> None:
    x, y = make_noise(40, seed=5)
    first = repeated_cv_predictions(lda_fit_predict, x, y, 4, 2, seed=3, n_jobs=1)
    parallel = repeated_cv_predictions(lda_fit_predict, x, y, 4, 2, seed=3, n_jobs=2)
    other = repeated_cv_predictions(lda_fit_predict, x, y, 4, 2, seed=4)
    np.testing.assert_array_equal(first.oof_predictions, parallel.oof_predictions)
    assert not np.array_equal(first.oof_predictions, other.oof_predictions)


def test_continuous_outcome_uses_plain_k_fold_with_pandas_inputs() -> None:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    outcome = pd.Series(2 * frame["a"] + rng.normal(size=40))

    def ols(x_train: Any, y_train: Any, evals: list[Any]) -> list[np.ndarray]:
        assert isinstance(x_train, pd.DataFrame) and isinstance(y_train, pd.Series)
        model = LinearRegression().fit(x_train, y_train)
        return [model.predict(x) for x in evals]

    result = repeated_cv_predictions(ols, frame, outcome, 5, 2, metrics=CONTINUOUS_METRICS)
    assert not result.stratified
    assert result.pooled_metrics["r2"].min() > 0.5
    assert result.mean_oof().shape == (40,)
