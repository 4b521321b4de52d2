"""Model behaviour (Made-With-ML style): directional and invariance tests on trained models.

Each test changes one clinically meaningful input of the same patients, all else equal, and
checks the direction the evidence gives (the simulated cohort is generated with these effects,
``training/simulation/outcome.py``):

* a higher baseline mRSS must not lower P(response): regression to the mean, the strongest
  published predictor (higher scores fall more; the simulation's 0.5 point per point outpaces the
  response rule's 25 % of baseline);
* tendon friction rubs present must not raise P(response) (they predict progression);
* a longer disease duration must not lower P(response) (early disease still worsens). Raynaud's
  phenomenon precedes the skin disease, so the same patient further into the disease has both
  durations longer by the same amount (the Raynaud lead time is what stays equal; in the cohort
  the two correlate at 0.96, and a linear model splits the effect between them);
* the pseudonymous ``patient_id`` and the order of the records change nothing.

The models are trained on 2,000 simulated patients, enough for these effects to dominate
sampling noise. Tolerance: a probability may not move against the expected direction by more
than ``SLACK`` (1e-9, rounding only): the tests are strict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssc_response.features.schema import MRSS_SITE_FIELDS
from ssc_response.models.bundle import ResponseModel
from ssc_response.training.simulation import simulate_cohort
from tests.assertions import assert_same_answer
from tests.bundles import fit_bundle

pytestmark = pytest.mark.model

FAMILIES = ("logistic_l2", "delta_mrss_regression")
TRAINING_PATIENTS, TRAINING_SEED = 2000, 31
SLACK = 1e-9
BASELINE_MRSS = (8, 14, 15, 20, 25, 30, 35, 40, 45, 51)  # crosses the EScSG > 14 item
LATER_MONTHS = (0, 9, 14, 15, 21, 33, 57, 117)  # from 3 months: crosses the 18 and 24 cut-offs


@pytest.fixture(scope="module")
def models() -> dict[str, ResponseModel]:
    cohort_frame = simulate_cohort(TRAINING_PATIENTS, TRAINING_SEED)
    return {name: fit_bundle(cohort_frame, name) for name in FAMILIES}


def patients() -> pd.DataFrame:
    """Varied simulated patients (their own missing values kept), not seen in training."""
    return simulate_cohort(8, 2024).reset_index(drop=True)


def probability(model: ResponseModel, frame: pd.DataFrame) -> np.ndarray:
    return np.array([p["probability_response"]["estimate"] for p in model.predict(frame)])


def grid(patient: pd.DataFrame, **values: list[Any]) -> pd.DataFrame:
    """The same patient once per value of one field, everything else equal."""
    (name, given), = values.items()
    rows = [patient.assign(**{name: pd.array([v], dtype=patient[name].dtype)},
                           patient_id=f"G-{i}") for i, v in enumerate(given)]
    return pd.concat(rows, ignore_index=True)


def without_sites(patient: pd.DataFrame) -> pd.DataFrame:
    """Site scores blanked, so that the total alone stands for the skin score."""
    return patient.assign(**{name: pd.array([pd.NA], dtype="Int64") for name in MRSS_SITE_FIELDS})


# Blank fields are imputed from the recorded ones, baseline mRSS among them, so a blank biopsy's
# imputed fibrosis grade rises with mRSS. Imputed integer scores keep their expectation: rounded,
# they stepped a whole grade at mRSS 30 -> 35 and the probability fell with it (issue 19).
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("row", range(8))
def test_a_higher_baseline_mrss_does_not_lower_the_probability_of_response(
    models: dict[str, ResponseModel], family: str, row: int
) -> None:
    patient = without_sites(patients().iloc[[row]])

    p = probability(models[family], grid(patient, mrss_total=list(BASELINE_MRSS)))

    assert np.all(np.diff(p) >= -SLACK), dict(zip(BASELINE_MRSS, p.round(4), strict=True))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("row", range(8))
def test_tendon_friction_rubs_do_not_raise_the_probability_of_response(
    models: dict[str, ResponseModel], family: str, row: int
) -> None:
    patient = patients().iloc[[row]]

    absent, present = probability(models[family],
                                  grid(patient, tendon_friction_rubs=[False, True]))

    assert present <= absent + SLACK


# Both linear families fit a slightly negative slope in disease duration (about -0.0005 per
# month) although the cohort is simulated with early worsening below 18 months: one linear term
# cannot carry that step (an early-disease indicator or a spline as a feature would). The cases
# that fail are marked one by one; when a case starts to pass, its strict mark fails the run and
# names the case whose mark to remove.
LONGER_DURATION_FAILS = {
    ("logistic_l2", 1), ("logistic_l2", 2), ("logistic_l2", 6),
    ("delta_mrss_regression", 0), ("delta_mrss_regression", 1), ("delta_mrss_regression", 2),
    ("delta_mrss_regression", 3), ("delta_mrss_regression", 4), ("delta_mrss_regression", 5),
    ("delta_mrss_regression", 6), ("delta_mrss_regression", 7),
}
LINEAR_DURATION = pytest.mark.xfail(strict=True, reason="linear term in disease duration")


@pytest.mark.parametrize("family, row", [
    pytest.param(family, row, id=f"{row}-{family}",
                 marks=[LINEAR_DURATION] if (family, row) in LONGER_DURATION_FAILS else [])
    for family in FAMILIES for row in range(8)
])
def test_a_longer_disease_duration_does_not_lower_the_probability_of_response(
    models: dict[str, ResponseModel], family: str, row: int
) -> None:
    patient = patients().iloc[[row]]
    lead = patient["raynaud_duration_months"] - patient["disease_duration_months"]
    patient = patient.assign(disease_duration_months=3.0,
                             raynaud_duration_months=(3.0 + lead).fillna(pd.NA))
    later = pd.concat([patient.assign(disease_duration_months=3.0 + months,
                                      raynaud_duration_months=patient["raynaud_duration_months"]
                                      + months) for months in LATER_MONTHS], ignore_index=True)

    p = probability(models[family], later)

    assert np.all(np.diff(p) >= -SLACK), dict(zip(LATER_MONTHS, p.round(4), strict=True))


@pytest.mark.parametrize("family", FAMILIES)
def test_the_patient_id_changes_nothing(models: dict[str, ResponseModel], family: str) -> None:
    original = patients()
    renamed = original.assign(patient_id=[f"OTHER-{i:03d}" for i in range(len(original))])

    first, second = models[family].predict(original), models[family].predict(renamed)

    for a, b in zip(first, second, strict=True):
        assert_same_answer({**a, "patient_id": ""}, {**b, "patient_id": ""})


@pytest.mark.parametrize("family", FAMILIES)
def test_the_order_of_records_changes_no_answer(models: dict[str, ResponseModel],
                                                family: str) -> None:
    original = patients()
    by_id = {p["patient_id"]: p for p in models[family].predict(original)}

    reversed_rows = original.iloc[::-1].reset_index(drop=True)

    for prediction in models[family].predict(reversed_rows):
        assert_same_answer(by_id[prediction["patient_id"]], prediction)
