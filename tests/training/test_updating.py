"""Model updating for a new centre: the closed test, the rewritten model, the ΔmRSS model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit, logit

from ssc_response.features.derived_columns import add_derived_columns
from ssc_response.features.pipeline import as_model_frame
from ssc_response.models.registry import load_served_model
from ssc_response.training.simulation import simulate_cohort
from ssc_response.training.update_run import bootstrap_update
from ssc_response.training.updating import (
    Recalibration,
    closed_test,
    delta_followed,
    fit_intercept_update,
    fit_logistic_recalibration,
    log_likelihood,
    recalibrated_model,
)

pytestmark = pytest.mark.model


def _centre(intercept: float, slope: float, n: int = 3000,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lp = rng.normal(0, 1.3, n)
    return lp, (rng.uniform(size=n) < expit(intercept + slope * lp)).astype(int)


def test_log_likelihood_and_updates_match_statsmodels() -> None:
    lp, y = _centre(0.6, 0.5)
    offset_fit = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp).fit()
    slope_fit = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
    assert fit_intercept_update(lp, y).intercept == pytest.approx(offset_fit.params[0], abs=1e-8)
    update = fit_logistic_recalibration(lp, y)
    assert (update.intercept, update.slope) == pytest.approx(tuple(slope_fit.params), abs=1e-8)
    assert log_likelihood(y, update.apply(lp)) == pytest.approx(slope_fit.llf, abs=1e-8)


def test_a_shifted_base_rate_chooses_the_intercept_update() -> None:
    # Outcomes from logit P = 0.8 + LP: the refit (here the recalibration's own fit, two
    # parameters, so it holds no more than a slope) is not better than the intercept update.
    lp, y = _centre(0.8, 1.0)
    refit = fit_logistic_recalibration(lp, y).apply(lp)
    test = closed_test(y, lp, refit, refit_parameters=1)
    assert test.chosen == "intercept"
    assert test.tests[0][3] < 0.05 and test.tests[1][3] >= 0.05


def test_too_extreme_predictions_choose_the_recalibration() -> None:
    lp, y = _centre(0.3, 0.5)
    refit = fit_logistic_recalibration(lp, y).apply(lp)
    # Pretend the refit has 3 parameters: it fits no better than the recalibration.
    test = closed_test(y, lp, refit, refit_parameters=3)
    assert test.chosen == "recalibration"


def test_a_transporting_model_is_kept() -> None:
    lp, y = _centre(0.0, 1.0, n=500, seed=2)
    test = closed_test(y, lp, lp + 1e-9, refit_parameters=10)
    assert test.chosen == "none" and len(test.tests) == 1


def test_bootstrap_update_corrects_towards_the_fresh_data_truth() -> None:
    lp, y = _centre(0.5, 0.6, n=400, seed=3)
    delta = np.zeros_like(lp)
    metrics = bootstrap_update(fit_logistic_recalibration, lp, y, delta, delta, 50, 1, 0.95)
    # The in-sample recalibration has slope 1 exactly; the corrected one is below it.
    assert metrics["calibration_slope_apparent"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["calibration_slope_corrected"] < 1.0
    assert metrics["auroc_corrected_ci_low"] < metrics["auroc_corrected"]


@pytest.fixture(scope="module")
def second_centre(trained_store: dict[str, Any]) -> tuple[Any, Any]:
    import mlflow

    mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
    served = load_served_model("models:/ssc-skin-response@champion")
    frame = add_derived_columns(simulate_cohort(300, 5, "early_trial"))
    frame = frame.loc[frame["delta_mrss"].notna()].reset_index(drop=True)
    return served.model, frame


def test_the_recalibrated_model_composes_its_recalibration(second_centre: tuple[Any, Any]
                                                           ) -> None:
    model, frame = second_centre
    update = Recalibration(0.3, 0.7)
    changed = recalibrated_model(model, update)
    _, features = model.transform(as_model_frame(frame))
    np.testing.assert_allclose(changed.logit(features), 0.3 + 0.7 * model.logit(features),
                               atol=1e-10)
    # The probability interval's log-odds spread scales with the slope.
    np.testing.assert_allclose(changed.probability_members.standard_error(features),
                               0.7 * model.probability_members.standard_error(features),
                               rtol=1e-8)
    # The ΔmRSS prediction is untouched by the recalibration.
    before = model.delta_mrss(features)
    after = changed.delta_mrss(features)
    np.testing.assert_allclose(after, before, atol=1e-10)
    assert np.all(np.isfinite(logit(expit(changed.logit(features)))))


def test_the_delta_model_and_its_interval_follow_the_new_centre(
        second_centre: tuple[Any, Any]) -> None:
    model, frame = second_centre
    X, delta = as_model_frame(frame), frame["delta_mrss"].to_numpy(float)
    moved, offset, scale = delta_followed(recalibrated_model(model, Recalibration(0.0)), X,
                                          delta, seed=0)
    with_indices, delta_features = moved.transform(X)  # what every estimator reads
    residual = delta - moved.delta_mrss(delta_features)
    assert np.mean(residual) == pytest.approx(0.0, abs=1e-8)  # the offset re-estimated
    sd = moved.delta_model.named_steps["estimator"].residual_sd(delta_features)
    assert np.sqrt(np.mean((residual / sd) ** 2)) == pytest.approx(1.0, abs=1e-8)
    low, high = moved.delta_interval(delta_features, with_indices)
    coverage = np.mean((delta >= low) & (delta <= high))
    assert coverage == pytest.approx(moved.delta_level, abs=0.05)
    assert np.isfinite(offset) and scale > 0
