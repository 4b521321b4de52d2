"""Model behaviour (Made-With-ML style) on the session's trained model.

Directional expectation: regression to the mean makes high baseline skin scores fall more, so
raising baseline mRSS, all else equal, must not make the predicted change in mRSS less negative.
Invariance: the pseudonymous ``patient_id`` carries no information and must change nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.schema import MRSS_SITE_FIELDS
from models.bundle import ResponseModel
from training.simulation import simulate_cohort

BASELINE_MRSS = (8, 14, 15, 20, 25, 30, 35, 40, 45, 51)  # crosses the EScSG > 14 item


@pytest.fixture(scope="module")
def model(trained_store: dict[str, Any]) -> ResponseModel:
    import mlflow

    from models.registry import load_served_model

    mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
    return load_served_model("models:/ssc-skin-response@champion").model


def patients() -> pd.DataFrame:
    """A handful of varied simulated patients (their own missing values kept)."""
    return simulate_cohort(6, 2024)


def with_baseline(patient: pd.DataFrame, mrss: int) -> pd.DataFrame:
    """The same patient at another baseline mRSS; site scores blanked so the total stands."""
    sites = {name: pd.array([pd.NA], dtype="Int64") for name in MRSS_SITE_FIELDS}
    total = {"mrss_total": pd.array([mrss], dtype="Int64")}
    return patient.assign(**sites, **total, patient_id=f"{patient['patient_id'].iloc[0]}-{mrss}")


def predicted_delta(model: ResponseModel, frame: pd.DataFrame) -> np.ndarray:
    return np.array([p["predicted_delta_mrss"]["estimate"] for p in model.predict(frame)])


@pytest.mark.parametrize("row", range(6))
def test_higher_baseline_mrss_does_not_lower_predicted_improvement(
    model: ResponseModel, row: int
) -> None:
    patient = patients().iloc[[row]].reset_index(drop=True)
    grid = pd.concat([with_baseline(patient, m) for m in BASELINE_MRSS], ignore_index=True)

    delta = predicted_delta(model, grid)

    assert np.all(np.diff(delta) <= 1e-9), dict(zip(BASELINE_MRSS, delta.round(2), strict=True))


def test_patient_id_does_not_change_the_prediction(model: ResponseModel) -> None:
    original = patients()
    renamed = original.assign(patient_id=[f"OTHER-{i:03d}" for i in range(len(original))])

    first, second = model.predict(original), model.predict(renamed)

    for a, b in zip(first, second, strict=True):
        assert {k: v for k, v in a.items() if k != "patient_id"} == {
            k: v for k, v in b.items() if k != "patient_id"
        }


def summary(prediction: dict[str, Any]) -> list[float]:
    """The numbers a clinician reads: probability and ΔmRSS with their bounds."""
    return [prediction[k][b] for k in ("probability_response", "predicted_delta_mrss")
            for b in ("estimate", "lower", "upper")]


def test_row_order_does_not_change_a_patient_prediction(model: ResponseModel) -> None:
    original = patients()
    reversed_rows = original.iloc[::-1].reset_index(drop=True)

    by_id = {p["patient_id"]: p for p in model.predict(original)}

    for prediction in model.predict(reversed_rows):
        expected = by_id[prediction["patient_id"]]
        # Batch order changes BLAS summation order: equal to rounding, not bit for bit.
        assert summary(prediction) == pytest.approx(summary(expected), rel=1e-9)
        assert prediction["warnings"] == expected["warnings"]
