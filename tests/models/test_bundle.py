"""ResponseModel.predict: one answer per patient, additive explanations, honest warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ssc_response.features.pipeline import as_model_frame
from ssc_response.features.schema import baseline_fields
from ssc_response.features.validation import validate_frame
from ssc_response.models.bundle import ResponseModel
from ssc_response.training.simulation import simulate_cohort
from tests.assertions import assert_same_answer
from tests.bundles import fit_bundle

# Fits a bundle of each family under test (tens of seconds).
pytestmark = pytest.mark.slow

FAMILIES_UNDER_TEST = ("logistic_l2", "random_forest", "delta_mrss_regression")
TRAINING = simulate_cohort(90, 4)


def make_model(family_name: str) -> ResponseModel:
    """A small fitted bundle of one family (few bootstrap members: shapes, not quality)."""
    return fit_bundle(TRAINING, family_name)


@pytest.fixture(scope="module")
def models() -> dict[str, ResponseModel]:
    return {name: make_model(name) for name in FAMILIES_UNDER_TEST}


def batch(n: int = 4, **overrides: object) -> pd.DataFrame:
    """Complete training patients (inside every training range), renamed P0, P1, ..."""
    complete = TRAINING[TRAINING.notna().all(axis=1)].head(n).reset_index(drop=True)
    ids = {"patient_id": pd.array([f"P{i}" for i in range(len(complete))], dtype="string")}
    return complete.assign(**ids, **overrides)


@pytest.mark.parametrize("name", FAMILIES_UNDER_TEST)
def test_one_prediction_per_patient_in_order(models: dict[str, ResponseModel], name: str) -> None:
    predictions = models[name].predict(batch(4))

    assert [p["patient_id"] for p in predictions] == ["P0", "P1", "P2", "P3"]
    assert set(predictions[0]) == {"patient_id", "probability_response", "predicted_delta_mrss",
                                   "indices", "explanation", "warnings", "missing_data"}


@pytest.mark.parametrize("name", FAMILIES_UNDER_TEST)
def test_intervals_contain_the_estimate(models: dict[str, ResponseModel], name: str) -> None:
    prediction = models[name].predict(batch(1))[0]
    probability, delta = prediction["probability_response"], prediction["predicted_delta_mrss"]

    assert 0 <= probability["lower"] <= probability["estimate"] <= probability["upper"] <= 1
    assert delta["lower"] <= delta["estimate"] <= delta["upper"]
    assert (probability["level"], delta["level"]) == (0.95, 0.90)
    assert delta["unit"] == "points"


@pytest.mark.parametrize("name", FAMILIES_UNDER_TEST)
def test_explanation_is_additive(models: dict[str, ResponseModel], name: str) -> None:
    explanation = models[name].predict(batch(1))[0]["explanation"]
    total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])

    assert math.isclose(total, explanation["output_value"], rel_tol=1e-6, abs_tol=1e-9)


def test_explanation_output_is_the_probability_in_its_space(
    models: dict[str, ResponseModel],
) -> None:
    prediction = models["logistic_l2"].predict(batch(1))[0]
    explanation = prediction["explanation"]

    assert explanation["output_space"] == "logit"
    probability = 1 / (1 + math.exp(-explanation["output_value"]))
    assert math.isclose(probability, prediction["probability_response"]["estimate"], rel_tol=1e-6)


def test_derived_indices_are_reported(models: dict[str, ResponseModel]) -> None:
    indices = models["logistic_l2"].predict(batch(1))[0]["indices"]

    assert indices["mrss_total"] == batch(1)["mrss_total"].iloc[0]
    assert isinstance(indices["escsg_active"], bool)


def test_complete_typical_patient_has_no_warnings(models: dict[str, ResponseModel]) -> None:
    assert models["logistic_l2"].predict(batch(1))[0]["warnings"] == []


def test_missing_field_warning_names_the_field_and_the_explanation_shows_the_value_used(
    models: dict[str, ResponseModel],
) -> None:
    model = models["logistic_l2"]

    [output] = model.predict(batch(1, crp_mg_l=None))

    assert output["warnings"] == ["crp_mg_l not recorded: imputed from the patient's other "
                                  "fields (the explanation shows the value used)"]
    [crp] = [c for c in output["explanation"]["contributions"] if c["feature"] == "crp_mg_l"]
    assert crp["imputed"] is True
    low, high = model.summary.numeric_ranges["crp_mg_l"]
    assert low <= crp["value"] <= high  # a value in mg/L, not "not recorded"


def test_out_of_range_warning_names_field_value_and_range(
    models: dict[str, ResponseModel],
) -> None:
    model = models["logistic_l2"]
    low, high = model.summary.numeric_ranges["crp_mg_l"]
    assert high < 290  # the simulated cohort never reaches the dictionary's limit

    warnings = model.predict(batch(1, crp_mg_l=290.0))[0]["warnings"]

    assert len(warnings) == 1
    assert warnings[0].startswith("crp_mg_l = 290 mg/L is outside the training range")
    assert f"{low:.4g}-{high:.4g} mg/L" in warnings[0]


def test_unseen_category_is_flagged(models: dict[str, ResponseModel]) -> None:
    model = models["logistic_l2"]
    unseen = next(v for v in ("allo_bm_msc", "auto_bm_mnc", "umbilical_msc")
                  if v not in model.summary.categories["cell_product"])

    warnings = model.predict(batch(1, cell_product=unseen))[0]["warnings"]

    assert warnings == [f"cell_product = '{unseen}' was not seen in training"]


# --- one definition: every number is the fitted objects' own ----------------------------------


def api_like(n: int = 6) -> pd.DataFrame:
    """New patients as the service meets them: gaps, absent fields, unseen levels, wild values."""
    raw = simulate_cohort(n, 8)
    frame = validate_frame(raw[["patient_id", *(c for c in baseline_fields() if c in raw)]])
    frame.loc[0, "cell_product"] = "ad_svf"
    frame.loc[1, "crp_mg_l"] = 290.0
    frame.loc[2, ["age_years", "sex", "hypocomplementemia"]] = pd.NA
    frame.loc[3, "mrss_total"] = pd.NA  # filled from the sites
    return frame.drop(columns=["lvef_pct", "biopsy_site"])


@pytest.mark.parametrize("name", FAMILIES_UNDER_TEST)
def test_predictions_are_the_fitted_pipelines_own(models: dict[str, ResponseModel],
                                                  name: str) -> None:
    model, frame = models[name], api_like()

    predictions = model.predict(frame)

    full = as_model_frame(frame)
    probability = model.classifier.predict_proba(full)[:, 1]
    delta_pipeline = model.delta_model or model.classifier
    features = delta_pipeline.named_steps["preprocess"].transform(full)
    delta = model.delta_estimator.predict_delta(features)
    for got, p, d in zip(predictions, probability, delta, strict=True):
        assert got["probability_response"]["estimate"] == pytest.approx(p, rel=1e-12)
        assert got["predicted_delta_mrss"]["estimate"] == pytest.approx(d, rel=1e-12)


@pytest.mark.parametrize("name", FAMILIES_UNDER_TEST)
def test_the_delta_interval_is_the_fold_estimators_on_the_delta_models_features(
    models: dict[str, ResponseModel], name: str,
) -> None:
    """The CV+ fold estimators read the ΔmRSS model's features, computed from the records by
    the full fitted pipeline here (the bundle computes them once per request)."""
    model, frame = models[name], api_like()

    predictions = model.predict(frame)

    full = as_model_frame(frame)
    delta_pipeline = model.delta_model or model.classifier
    features = delta_pipeline.named_steps["preprocess"].transform(full)
    baseline = features["mrss_total"].to_numpy(dtype=float)
    low, high = model.delta_cv_plus.interval(features, baseline, level=model.delta_level)
    delta = model.delta_estimator.predict_delta(features)
    for got, lo, hi, d in zip(predictions, low, high, delta, strict=True):
        interval = got["predicted_delta_mrss"]
        assert interval["lower"] == pytest.approx(max(min(lo, d), -51.0), rel=1e-9, abs=1e-9)
        assert interval["upper"] == pytest.approx(min(max(hi, d), 51.0), rel=1e-9, abs=1e-9)
    assert all(list(e.feature_names_in_) == list(features.columns)
               for e in model.delta_cv_plus.fold_estimators_)


def test_the_delta_champion_gives_both_numbers_from_one_fitted_model(
    models: dict[str, ResponseModel],
) -> None:
    """When the ΔmRSS model is the champion, no second copy is stored: P(response) is its
    recalibrated rule probability, and the change its own prediction."""
    model = models["delta_mrss_regression"]
    inner = model.estimator.estimator_

    assert model.delta_model is None and model.delta_estimator is inner
    _, features = model.transform(api_like())
    recalibrated = model.estimator.intercept + model.estimator.slope * inner.decision_function(
        features)
    np.testing.assert_allclose(model.logit(features), recalibrated, rtol=1e-12)


def test_other_champions_carry_the_chosen_delta_model(models: dict[str, ResponseModel]) -> None:
    from ssc_response.models.delta import DeltaMrssClassifier

    model = models["logistic_l2"]

    assert isinstance(model.delta_estimator, DeltaMrssClassifier)
    assert model.metadata["delta_model"].startswith("delta_mrss_regression(alpha=")


@pytest.mark.parametrize("name", FAMILIES_UNDER_TEST)
def test_a_patient_alone_gets_what_they_get_in_a_batch(models: dict[str, ResponseModel],
                                                       name: str) -> None:
    """The model layer's "alone equals in a batch", within the stated tolerance: a batch may
    change the order of floating-point sums (BLAS), never the answer."""
    model, frame = models[name], api_like(12)

    batch = model.predict(frame)

    for i in (0, 3, 11):
        assert_same_answer(batch[i], model.predict(frame.iloc[[i]].reset_index(drop=True))[0])


def test_warnings_list_fields_alphabetically_with_their_values(
    models: dict[str, ResponseModel],
) -> None:
    model = models["logistic_l2"]
    frame = batch(3).assign(crp_mg_l=[290.0, None, 1.0], cell_product=["ad_svf", None, None])

    warnings = model.warnings(frame)

    assert "cell_product = 'ad_svf' was not seen in training" in warnings[0]
    assert any(m.startswith("crp_mg_l = 290 mg/L is outside") for m in warnings[0])
    assert any(m.startswith("crp_mg_l not recorded: imputed") for m in warnings[1])
    assert any(m.startswith("cell_product not recorded: imputed") for m in warnings[1])
    fields = [message.split(" ")[0] for message in warnings[0]]
    assert fields == sorted(fields)


def test_shown_values_are_plain_python(models: dict[str, ResponseModel]) -> None:
    """Numbers as float (whole numbers and flags too, as the model reads them), levels as str,
    a gap at its imputed value, marked: the audit trail stores these values and a replay
    compares them."""
    explanations = [p["explanation"] for p in models["logistic_l2"].predict(api_like())[:3]]

    unseen, _, gaps = ({c["feature"]: c["value"] for c in e["contributions"]}
                       for e in explanations)
    imputed = {c["feature"]: c["imputed"] for c in explanations[2]["contributions"]}
    assert type(gaps["age_years"]) is float and gaps["sex"] in ("F", "M")
    assert imputed["age_years"] and imputed["sex"]
    assert unseen["cell_product"] == "ad_svf"
    assert type(unseen["prior_immunosuppressants"]) is float  # an integer field
    assert type(unseen["delta_skin"]) is float  # a boolean one
    assert type(unseen["mrss_total"]) is float  # filled from the sites by the indices step
