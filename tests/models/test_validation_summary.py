"""The validation summary: fixed metric names, the ΔmRSS interval's coverage, subgroups."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import brier_score_loss, roc_auc_score

from ssc_response.models.validation_summary import (
    METRIC_NAMES,
    Predictions,
    delta_metrics,
    subgroup_table,
    summarise,
)

pytestmark = pytest.mark.model


def _predictions(n: int = 300, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    p = expit(rng.normal(0, 1, n))
    y = (rng.uniform(size=n) < p).astype(int)
    delta = rng.normal(-3, 4, n)
    predicted = delta + rng.normal(0, 2, n)
    return Predictions(y, p, delta, predicted, predicted - 3, predicted + 3)


def test_every_fixed_metric_name_is_reported_and_counts_are_right() -> None:
    predictions = _predictions()
    metrics = summarise(predictions, [0.3, 0.5]).metrics
    assert set(METRIC_NAMES) <= set(metrics)
    assert metrics["n_patients"] == 300 and metrics["n_events"] == predictions.y.sum()
    assert metrics["auroc"] == pytest.approx(roc_auc_score(predictions.y, predictions.probability),
                                             abs=1e-12)
    assert metrics["brier"] == pytest.approx(
        brier_score_loss(predictions.y, predictions.probability), abs=1e-12)
    assert {"net_benefit_t30", "net_benefit_t50_ci_low"} <= set(metrics)


def test_delta_interval_coverage_and_mae_by_hand() -> None:
    # Observed -5, 0, 2; predicted -4, 1, -1 with intervals [-6, -2], [-1, 3], [-3, 1]:
    # covered, covered, not covered; absolute errors 1, 1, 3.
    predictions = Predictions(np.array([1, 0, 0]), np.array([0.6, 0.3, 0.2]),
                              np.array([-5.0, 0.0, 2.0]), np.array([-4.0, 1.0, -1.0]),
                              np.array([-6.0, -1.0, -3.0]), np.array([-2.0, 3.0, 1.0]))
    found = delta_metrics(predictions)
    assert found["delta_interval_coverage"] == pytest.approx(2 / 3, abs=1e-12)
    assert found["delta_mae"] == pytest.approx(5 / 3, abs=1e-12)
    assert found["delta_interval_mean_width"] == pytest.approx(4.0, abs=1e-12)


def test_a_subgroup_too_small_is_listed_but_not_estimated() -> None:
    predictions = _predictions()
    small = np.zeros(300, dtype=bool)
    small[:15] = True
    table = subgroup_table(predictions, {"all": np.ones(300, dtype=bool), "few": small},
                           [0.5])
    rows = table.set_index("subgroup")
    assert rows.loc["all", "auroc"] == pytest.approx(
        roc_auc_score(predictions.y, predictions.probability), abs=1e-12)
    assert rows.loc["few", "n_patients"] == 15
    assert "not estimated" in rows.loc["few", "note"]
