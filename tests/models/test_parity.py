"""Parity: the served bundle gives the numbers that were validated, or it is refused.

A model carries synthetic probe records (built from the training summary, no patient row) with
the outputs it gave them when validated; loading it to serve recomputes them through the served
path and refuses it on a mismatch beyond the stated tolerance (relative 1e-9).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ssc_response.features.validation import validate_records
from ssc_response.models import registry
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.parity import (
    ParityError,
    check_probes,
    probe_records,
    serving_parity,
    with_probes,
)
from ssc_response.models.serialization import PROBES_FILE, load_bundle, save_bundle
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import prepare_cohort
from ssc_response.training.simulation import simulate_cohort
from tests.bundles import fit_bundle

TRAINING = simulate_cohort(90, 4)


@pytest.fixture(scope="module")
def model() -> ResponseModel:
    return with_probes(fit_bundle(TRAINING, "logistic_l2"))


@pytest.fixture
def saved(model: ResponseModel, tmp_path: Path) -> Path:
    return save_bundle(model, tmp_path / "bundle")


def tamper(directory: Path) -> None:
    """Change one recorded probe output by one part in a million."""
    path = directory / PROBES_FILE
    probes = json.loads(path.read_text(encoding="utf-8"))
    probes["outputs"][0]["probability_response"]["estimate"] *= 1 + 1e-6
    path.write_text(json.dumps(probes), encoding="utf-8")


def test_probes_are_synthetic_records_the_contract_accepts(model: ResponseModel) -> None:
    records = probe_records(model.summary)

    assert validate_records(records, outcomes=False)["patient_id"].str.startswith("PROBE-").all()
    training_ids = set(TRAINING["patient_id"])
    assert not training_ids & {r["patient_id"] for r in records}
    assert records[1]["age_years"] == pytest.approx(model.summary.medians["age_years"])


def test_a_saved_and_loaded_model_passes_its_probes(saved: Path) -> None:
    distance = check_probes(load_bundle(saved))

    assert distance.max_rel <= 1e-9


def test_the_saved_bundle_reproduces_the_fitted_objects_on_the_training_cohort(
    model: ResponseModel, saved: Path,
) -> None:
    config = ExperimentConfig(name="parity", estimators={"logistic_l2": {}})
    records = prepare_cohort(TRAINING, config).frame

    distance = serving_parity(model, load_bundle(saved), records)

    assert distance.max_rel <= 1e-9


def test_a_tampered_expected_output_makes_loading_fail(saved: Path) -> None:
    tamper(saved)

    with pytest.raises(ParityError, match="largest absolute difference") as raised:
        check_probes(load_bundle(saved))

    assert "probability_response.estimate" in str(raised.value)


def test_the_registry_refuses_to_serve_a_model_that_fails_its_probes(
    saved: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tamper(saved)
    ref = registry.ModelVersionRef("ssc-skin-response", "1", "run")
    monkeypatch.setattr(registry, "resolve", lambda _uri: ref)
    monkeypatch.setattr("mlflow.artifacts.download_artifacts", lambda **_kw: str(saved.parent))
    monkeypatch.setattr(registry, "load_bundle", lambda _path: load_bundle(saved))

    with pytest.raises(ParityError, match="differ from those the model was validated with"):
        registry.load_served_model("models:/ssc-skin-response/1")


def test_a_model_without_probes_is_refused(model: ResponseModel, tmp_path: Path) -> None:
    bare: Any = load_bundle(save_bundle(model, tmp_path / "bare"))
    bare.probes = None

    with pytest.raises(ParityError, match="no parity probes"):
        check_probes(bare)
