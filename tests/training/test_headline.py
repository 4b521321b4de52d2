"""Headline validation: the method that suits the learner, tuning, intervals, promotion gate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from models.estimators import make_pipeline
from training.config import ExperimentConfig, PromotionConfig, ValidationConfig
from training.experiment import Cohort, family_spec, prepare_cohort, validate
from training.headline import brier_variance, delong_variance
from training.metrics import auroc, brier
from training.modelling import fit_tuned
from training.promotion import promotion_failures
from training.simulation import simulate_cohort

CHEAP_VALIDATION = ValidationConfig(cv_splits=3, cv_repeats=1, bootstrap=10, seed=3)


def config_for(family_name: str, **space: list[float]) -> ExperimentConfig:
    return ExperimentConfig(name="headline", estimators={family_name: space},
                            validation=CHEAP_VALIDATION)


def cohort_for(config: ExperimentConfig, n: int = 120) -> Cohort:
    return prepare_cohort(simulate_cohort(n, 8), config)


def test_tuning_chooses_what_grid_search_chooses() -> None:
    config = config_for("logistic_l1", estimator__C=[0.05, 0.2, 1.0])
    cohort, spec = cohort_for(config), family_spec(config, "logistic_l1")
    search = GridSearchCV(make_pipeline("logistic_l1", seed=spec.seed), spec.space,
                          scoring="neg_brier_score",
                          cv=StratifiedKFold(3, shuffle=True, random_state=spec.seed))

    tuned = fit_tuned(spec, cohort.X, cohort.y, cohort.delta)
    search.fit(cohort.X, cohort.y)

    assert tuned.named_steps["estimator"].C == search.best_params_["estimator__C"]
    np.testing.assert_allclose(tuned.predict_proba(cohort.X), search.predict_proba(cohort.X))


def test_smooth_learner_is_corrected_by_harrells_bootstrap() -> None:
    config = config_for("logistic_l2", estimator__C=[0.1])

    validation = validate(cohort_for(config), config)

    assert validation.method == "bootstrap" and validation.binary is not None
    assert validation.metrics["auroc_corrected"] == validation.binary.corrected["auroc"]
    assert "auroc_oob" in validation.metrics


def test_memorising_learner_is_reported_by_cross_validation() -> None:
    config = config_for("random_forest")

    validation = validate(cohort_for(config), config)

    m = validation.metrics
    assert validation.method == "cross-validation" and validation.binary is None
    assert m["auroc_corrected"] == m["auroc_cv"]
    assert m["auroc_corrected_ci_low"] < m["auroc_corrected"] < m["auroc_corrected_ci_high"]
    assert m["brier_corrected_ci_low"] < m["brier_corrected"] < m["brier_corrected_ci_high"]
    assert m["auroc_apparent"] > 0.95  # what Harrell's correction would have started from
    assert "auroc_oob" not in m  # no bootstrap was run for it


def bootstrap_variance(metric: object, y: np.ndarray, p: np.ndarray, n_boot: int) -> float:
    rng = np.random.default_rng(0)
    rows = (rng.integers(0, y.size, y.size) for _ in range(n_boot))
    return float(np.var([metric(y[r], p[r]) for r in rows]))  # type: ignore[operator]


@pytest.mark.parametrize("metric, variance", [(auroc, delong_variance),
                                              (brier, brier_variance)])
def test_interval_variances_match_the_bootstrap(metric: object, variance: object) -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=400)
    y = (rng.uniform(size=400) < p).astype(float)

    ratio = variance(y, p) / bootstrap_variance(metric, y, p, 2000)  # type: ignore[operator]

    assert 0.85 < ratio < 1.15


def test_delong_variance_is_zero_under_perfect_separation() -> None:
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])

    assert delong_variance(y, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == 0.0


METRICS = {"auroc_corrected": 0.72, "auroc_cv": 0.66, "brier_corrected": 0.21,
           "calibration_slope_corrected": 0.8}


def gate(**thresholds: float | None) -> ExperimentConfig:
    return ExperimentConfig(name="gate", estimators={"logistic_l2": {}},
                            promotion=PromotionConfig(**thresholds))  # type: ignore[arg-type]


def test_promotion_passes_when_every_threshold_is_met() -> None:
    assert promotion_failures(METRICS, gate(min_auroc_corrected=0.65)) == []


def test_auroc_gate_uses_the_more_pessimistic_estimate() -> None:
    failures = promotion_failures(METRICS, gate(min_auroc_corrected=0.7))

    assert failures == ["promotion.min_auroc_corrected: min(auroc_corrected, auroc_cv) = 0.660, "
                        "needs >= 0.7"]


def test_each_failed_threshold_is_listed() -> None:
    config = gate(max_brier_corrected=0.2, min_calibration_slope_corrected=0.9,
                  max_calibration_slope_corrected=1.1)

    failures = promotion_failures(METRICS, config)

    assert [f.split(":")[0] for f in failures] == [
        "promotion.max_brier_corrected", "promotion.min_calibration_slope_corrected"]


def test_undefined_metric_fails_its_threshold() -> None:
    metrics = METRICS | {"calibration_slope_corrected": float("nan")}

    failures = promotion_failures(metrics, gate(min_calibration_slope_corrected=0.5))

    assert failures == ["promotion.min_calibration_slope_corrected: calibration_slope_corrected"
                        " = nan, needs >= 0.5"]
