"""A tracked experiment run, checked in its MLflow store.

Most tests read the session's ``trained_store`` (the quick experiment, trained once). The
promotion gate and determinism need several runs of their own: they use a cheap experiment in a
store of their own (``gate_store``), so the shared store keeps exactly one registered version.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from ssc_response.features.io import write_table
from ssc_response.features.schema import baseline_fields
from ssc_response.training.config import load_experiment
from ssc_response.training.simulation import simulate_cohort
from ssc_response.training.tracking import flat_params

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "experiments" / "quick.yaml"
MODEL_NAME = "ssc-skin-response"
STABLE_METRICS = (
    "auroc_apparent", "auroc_corrected", "auroc_corrected_ci_low", "auroc_corrected_ci_high",
    "brier_corrected", "calibration_slope_corrected", "calibration_intercept_corrected",
    "delta_mae_corrected", "validation_resamples", "probability_interval_members",
)
ARTIFACTS = (
    "experiment/quick.yaml", "plots/roc.png", "plots/calibration.png", "plots/decision_curve.png",
    "plots/shap_beeswarm.png", "tables/feature_importance.csv", "model_card.md",
)
CHEAP = {
    "name": "gate-test",
    "estimators": {"logistic_l2": {"estimator__C": [0.1]}},
    "validation": {"cv_splits": 3, "cv_repeats": 1, "bootstrap": 10, "seed": 5},
    "uncertainty": {"bootstrap_models": 5},
    "promotion": {"min_auroc_corrected": 0.5, "max_brier_corrected": 0.3},
}
IMPOSSIBLE = {"min_auroc_corrected": 0.99, "max_brier_corrected": 0.01}


def client() -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def run_of(store: dict[str, Any]) -> Any:
    return client().get_run(store["summary"].run_id)


def artifact_paths(run_id: str, path: str | None = None) -> set[str]:
    found: set[str] = set()
    for item in client().list_artifacts(run_id, path):
        found |= artifact_paths(run_id, item.path) if item.is_dir else {item.path}
    return found


def artifact_text(run_id: str, path: str) -> str:
    import mlflow

    return str(mlflow.artifacts.load_text(f"runs:/{run_id}/{path}"))


# --- the run in the shared store -------------------------------------------------------------


def test_run_finished_in_its_experiment(trained_model_uri: str,
                                        trained_store: dict[str, Any]) -> None:
    run = run_of(trained_store)

    assert run.info.status == "FINISHED"
    assert client().get_experiment(run.info.experiment_id).name == "ssc-skin-response-quick"


def test_params_are_the_flattened_config(trained_model_uri: str,
                                         trained_store: dict[str, Any]) -> None:
    expected = flat_params("", load_experiment(QUICK).model_dump())

    assert run_of(trained_store).data.params == expected
    assert (expected["validation.method"], expected["validation.inner_splits"]) == ("nested_cv",
                                                                                   "4")


def test_experiment_file_is_an_artifact(trained_model_uri: str,
                                        trained_store: dict[str, Any]) -> None:
    logged = artifact_text(trained_store["summary"].run_id, "experiment/quick.yaml")

    assert logged == QUICK.read_text(encoding="utf-8")


def test_dataset_input_and_content_hash(trained_model_uri: str,
                                        trained_store: dict[str, Any]) -> None:
    run = run_of(trained_store)
    sha256 = hashlib.sha256(Path(trained_store["cohort"]).read_bytes()).hexdigest()

    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "cohort.csv"
    assert dataset_input.dataset.digest
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"
    assert run.data.tags["data.sha256"] == sha256
    assert run.data.tags["data.rows"] == str(trained_store["summary"].n_patients)


def test_code_version_is_a_commit_of_this_repository(trained_model_uri: str,
                                                     trained_store: dict[str, Any]) -> None:
    tags = run_of(trained_store).data.tags
    commit = tags["mlflow.source.git.commit"]

    assert len(commit) == 40
    subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=REPO, check=True)
    assert tags["git.dirty"] in ("true", "false")


def test_stable_metrics_are_finite_and_ordered(trained_model_uri: str,
                                               trained_store: dict[str, Any]) -> None:
    metrics = run_of(trained_store).data.metrics

    for name in STABLE_METRICS:
        assert math.isfinite(metrics[name]), name
    assert (metrics["auroc_corrected_ci_low"] <= metrics["auroc_corrected"]
            <= metrics["auroc_corrected_ci_high"])
    assert metrics["auroc_corrected"] <= metrics["auroc_apparent"]
    assert 0 < metrics["brier_corrected"] < 0.25


def test_reports_are_artifacts(trained_model_uri: str, trained_store: dict[str, Any]) -> None:
    assert set(ARTIFACTS) <= artifact_paths(trained_store["summary"].run_id)


def test_importance_table_names_clinical_fields(trained_model_uri: str,
                                                trained_store: dict[str, Any]) -> None:
    import io

    text = artifact_text(trained_store["summary"].run_id, "tables/feature_importance.csv")
    table = pd.read_csv(io.StringIO(text))

    assert list(table.columns[:4]) == ["field", "label", "unit", "mean_abs_contribution"]
    assert table["mean_abs_contribution"].is_monotonic_decreasing
    assert "mrss_total" in set(table["field"])


def test_model_card_warns_and_gives_intervals(trained_model_uri: str,
                                              trained_store: dict[str, Any]) -> None:
    card = artifact_text(trained_store["summary"].run_id, "model_card.md")
    sha256 = run_of(trained_store).data.tags["data.sha256"]

    assert "Warning: sample size insufficient" in card
    assert "| metric | apparent | validated (whole procedure) | 95% interval" in card
    assert "nested cross-validation" in card.lower()
    assert f"Content hash: `{sha256}`" in card
    metrics = trained_store["summary"].metrics
    assert (f"{metrics['auroc_corrected_ci_low']:.3f} to "
            f"{metrics['auroc_corrected_ci_high']:.3f}") in card


def test_version_registered_and_champion(trained_model_uri: str,
                                         trained_store: dict[str, Any]) -> None:
    summary = trained_store["summary"]
    champion = client().get_model_version_by_alias(MODEL_NAME, "champion")

    assert summary.registration.promoted
    assert str(champion.version) == summary.registration.version
    assert champion.run_id == summary.run_id
    assert champion.tags["promotion"] == "passed"
    assert run_of(trained_store).data.tags["registered_version"] == str(champion.version)


def test_logged_model_is_a_plain_pyfunc(trained_model_uri: str,
                                        trained_store: dict[str, Any]) -> None:
    """Any MLflow user can score a CSV: one row per patient, probability and ΔmRSS intervals."""
    import mlflow

    raw = pd.read_csv(trained_store["cohort"])  # plain pandas types, as a user would read it
    patients = raw[["patient_id", *[c for c in baseline_fields() if c in raw]]].head(5)

    table = mlflow.pyfunc.load_model(trained_model_uri).predict(patients)

    assert list(table["patient_id"]) == list(patients["patient_id"])
    # A patient with too much blank gets no number, only why (issue 19); the others are scored.
    refused = table["refused"].fillna("") != ""
    assert table.loc[refused, "probability_response"].isna().all()
    assert table.loc[refused, "refused"].str.contains("needed for a prediction").all()
    answered = table.loc[~refused]
    assert len(answered) >= 3
    bounds = ("probability_response", "predicted_delta_mrss")
    for name in bounds:
        assert (answered[f"{name}_lower"] <= answered[name]).all()
        assert (answered[name] <= answered[f"{name}_upper"]).all()
    assert answered["probability_response"].between(0, 1).all()


def test_served_model_loads_from_the_registry(trained_model_uri: str,
                                              trained_store: dict[str, Any]) -> None:
    from ssc_response.models.registry import load_served_model

    served = load_served_model(trained_model_uri)
    patients = simulate_cohort(3, 123)

    assert served.ref.run_id == trained_store["summary"].run_id
    assert served.metrics["auroc_corrected"] == trained_store["summary"].metrics["auroc_corrected"]
    assert len(served.model.predict(patients)) == 3


# --- the promotion gate and determinism, in a store of their own ----------------------------


def write_yaml(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gate_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three runs of a cheap experiment: passing, the same again, then impossible thresholds."""
    import mlflow

    from ssc_response.training.run import run_experiment

    root = tmp_path_factory.mktemp("gate_store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    data = root / "cohort.csv"
    write_table(simulate_cohort(100, 21), data)
    cheap = write_yaml(root / "cheap.yaml", CHEAP)
    strict = write_yaml(root / "strict.yaml", CHEAP | {"promotion": IMPOSSIBLE})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        summaries = [run_experiment(path, data) for path in (cheap, cheap, strict)]
        yield {"uri": uri, "summaries": summaries}
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # back to "read the environment"


@pytest.fixture
def in_gate_store(gate_store: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", gate_store["uri"])
    mlflow.set_tracking_uri(gate_store["uri"])
    return list(gate_store["summaries"])


@pytest.mark.slow  # three runs of an experiment (gate_store)
def test_same_data_config_and_seed_give_the_same_metrics(in_gate_store: list[Any]) -> None:
    first, second, _ = in_gate_store

    assert first.run_id != second.run_id
    assert first.metrics.keys() == second.metrics.keys()
    for name, value in first.metrics.items():  # NaN (no Monte-Carlo error from 1 repeat) too
        assert value == second.metrics[name] or (math.isnan(value)
                                                 and math.isnan(second.metrics[name])), name


@pytest.mark.slow  # three runs of an experiment (gate_store)
def test_failed_gate_registers_but_keeps_the_champion(in_gate_store: list[Any]) -> None:
    _, passed, failed = in_gate_store

    assert (passed.registration.version, failed.registration.version) == ("2", "3")
    assert not failed.registration.promoted
    version = client().get_model_version(MODEL_NAME, "3")
    assert version.tags["promotion"] == "failed"
    assert "promotion.min_auroc_corrected" in version.tags["promotion_failures"]
    assert str(client().get_model_version_by_alias(MODEL_NAME, "champion").version) == "2"


@pytest.mark.slow  # three runs of an experiment (gate_store)
def test_summary_names_each_failed_threshold(in_gate_store: list[Any]) -> None:
    failures = in_gate_store[2].registration.failures

    assert len(failures) == 2
    assert failures[0].startswith("promotion.min_auroc_corrected: auroc_corrected = ")
    assert failures[0].endswith("needs >= 0.99")
    assert failures[1].startswith("promotion.max_brier_corrected: brier_corrected = ")
    assert failures[1].endswith("needs <= 0.01")


def locked_versions() -> dict[str, str]:
    """``name -> version`` of every package pinned in requirements.lock."""
    lines = (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pins = [line.split(" ")[0].split("==") for line in lines if "==" in line.split(" ")[0]]
    return {canonical(name): version for name, version in pins}


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_the_logged_model_requirements_are_the_locked_versions(
    trained_model_uri: str, trained_store: dict[str, Any]
) -> None:
    import mlflow

    path = mlflow.pyfunc.get_model_dependencies(f"runs:/{run_of(trained_store).info.run_id}/model")
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    logged = dict(line.split("==") for line in lines if "==" in line)
    locked = locked_versions()

    assert {"scikit-learn", "shap", "mlflow", "skops"} <= {canonical(n) for n in logged}
    assert {canonical(name): version for name, version in logged.items()} == {
        canonical(name): locked[canonical(name)] for name in logged
    }


def test_the_saved_model_parity_is_logged(trained_model_uri: str,
                                          trained_store: dict[str, Any]) -> None:
    """The bundle saved and loaded back gives the fitted objects' numbers on the cohort."""
    metrics = run_of(trained_store).data.metrics

    assert 0 <= metrics["serving_parity_max_abs_diff"] <= 1e-9
    assert 0 <= metrics["serving_parity_max_rel_diff"] <= 1e-9
