"""Paired comparison of feature sets (the histology question)."""

from __future__ import annotations

import numpy as np
import pytest

from ssc_response.training.assessment import Assessment
from ssc_response.training.comparison import (
    _auroc_difference,
    compare_feature_sets,
    decision_curves,
)
from ssc_response.training.metrics import auroc, delong_variance

pytestmark = pytest.mark.code

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 400)
INFORMATIVE = np.clip(0.5 + 0.25 * (Y - 0.5) + RNG.normal(0, 0.15, 400), 0.01, 0.99)
NOISE = np.clip(0.5 + RNG.normal(0, 0.15, 400), 0.01, 0.99)


def assessment_of(*predictions: np.ndarray) -> Assessment:
    return Assessment("nested_cv", {}, None, [], len(predictions),  # type: ignore[arg-type]
                      oof_probability=np.vstack(predictions))


def test_a_feature_set_compared_with_itself_differs_by_nothing() -> None:
    same = assessment_of(INFORMATIVE, INFORMATIVE)

    metrics, curves = compare_feature_sets(Y, same, same, 0.95)

    assert metrics["delta_auroc_corrected"] == 0.0 and metrics["delta_brier_corrected"] == 0.0
    assert np.allclose(curves["difference"], 0.0)


def test_an_informative_set_beats_noise_with_an_interval_above_zero() -> None:
    metrics, curves = compare_feature_sets(Y, assessment_of(INFORMATIVE),
                                           assessment_of(NOISE), 0.95)

    expected = auroc(Y, INFORMATIVE) - auroc(Y, NOISE)
    assert metrics["delta_auroc_corrected"] == pytest.approx(expected)
    assert metrics["delta_auroc_ci_low"] > 0
    assert metrics["delta_brier_corrected"] < 0 and metrics["delta_brier_ci_high"] < 0
    assert metrics["delta_net_benefit_t50"] > 0
    assert {"threshold", "feature_set", "reference", "difference"} <= set(curves.columns)


def test_paired_variance_is_smaller_than_for_independent_samples() -> None:
    """Two correlated predictions of the same patients: DeLong's paired variance of the
    difference is below the sum of the two variances (the covariance term is positive)."""
    similar = np.clip(INFORMATIVE + RNG.normal(0, 0.03, 400), 0.01, 0.99)

    _, paired = _auroc_difference(Y, INFORMATIVE, similar)

    assert paired < 0.2 * (delong_variance(Y, INFORMATIVE) + delong_variance(Y, similar))


def test_paired_variance_matches_the_bootstrap() -> None:
    rng = np.random.default_rng(1)
    differences = []
    for _ in range(400):
        rows = rng.integers(0, 400, 400)
        differences.append(auroc(Y[rows], INFORMATIVE[rows]) - auroc(Y[rows], NOISE[rows]))

    _, variance = _auroc_difference(Y, INFORMATIVE, NOISE)

    assert variance == pytest.approx(np.var(differences), rel=0.25)


def test_decision_curves_need_both_sets() -> None:
    with pytest.raises(ValueError, match="both feature sets"):
        decision_curves(Y, INFORMATIVE, None)
