"""ResponseModel.predict: one answer per patient, additive explanations, honest warnings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.bundle import ResponseModel
from training.config import ExperimentConfig, UncertaintyConfig
from training.experiment import fit_final, prepare_cohort
from training.simulation import simulate_cohort

FAMILIES_UNDER_TEST = ("logistic_l2", "random_forest", "delta_mrss_regression")
TRAINING = simulate_cohort(90, 4)


def make_model(family_name: str) -> ResponseModel:
    """A small fitted bundle of one family (few bootstrap members: shapes, not quality)."""
    config = ExperimentConfig(name="bundle", estimators={family_name: {}},
                              uncertainty=UncertaintyConfig(bootstrap_models=5))
    return fit_final(prepare_cohort(TRAINING, config), config, family_name, metadata={})


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
                                   "indices", "explanation", "warnings"}


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


def test_missing_field_warning_names_field_and_imputed_value(
    models: dict[str, ResponseModel],
) -> None:
    model = models["logistic_l2"]
    median = model.summary.medians["crp_mg_l"]

    warnings = model.predict(batch(1, crp_mg_l=None))[0]["warnings"]

    assert warnings == [f"crp_mg_l missing: imputed with the training median {median:.4g} mg/L"]


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
