"""External validation: a registered model, as served, scored on another centre's cohort.

``ssc-response validate --model models:/...@champion --data centre_b.csv``:

1. the model is loaded exactly as the server loads it (:func:`models.registry.load_served_model`,
   parity probes checked), together with the experiment it was trained by (read from its run),
   so the outcome is derived from the follow-up fields with the same thresholds as in training;
2. the cohort must hold the follow-up fields the outcome needs: without them the command stops
   naming the field, before anything is logged;
3. sample size first (Riley et al. 2021, :mod:`models.validation_sample_size`): a shortfall is
   named and the validation goes on with a warning;
4. every statistic (:mod:`models.validation_summary`), overall and per subgroup, is logged as
   one MLflow run of the validations experiment, tagged with the model's name, version and run
   and the data's SHA-256, with its figures and tables.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ssc_response.features.io import ReadOptions, read_table
from ssc_response.features.validation import validate_frame
from ssc_response.models.bundle import MRSS_MAX, ResponseModel
from ssc_response.models.registry import ServedModel, load_served_model
from ssc_response.models.validation_runs import validations_experiment
from ssc_response.models.validation_sample_size import ValidationSampleSize, validation_sample_size
from ssc_response.models.validation_summary import (
    Predictions,
    ValidationSummary,
    subgroup_table,
    summarise,
)
from ssc_response.training import tracking
from ssc_response.training.comparison import REPORTED_THRESHOLDS
from ssc_response.training.config import ExperimentConfig, load_experiment
from ssc_response.training.experiment import Cohort, prepare_cohort
from ssc_response.training.validation_plots import (
    decision_curve_with_band_figure,
    flexible_calibration_figure,
)

OUTCOME_FIELDS = {"mrss_total_followup": "the mRSS total at follow-up",
                  "mrss_total": "the baseline mRSS total"}
DURATION_CUT_MONTHS = 18.0  # < 18 months: mostly worsening trajectories [S33] (clinical reference)


class MissingOutcomeError(ValueError):
    """The cohort lacks a field the outcome is derived from."""


@dataclass
class ExternalValidation:
    """What ``validate`` measured and where it was logged."""

    run_id: str
    model_uri: str
    version: str
    summary: ValidationSummary
    subgroups: pd.DataFrame
    sample_size: ValidationSampleSize
    n_excluded: int


def experiment_file(served: ServedModel) -> Path:
    """The experiment file the model was trained by (its run's ``experiment/`` artifact; an
    update run logs its parent's)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        local = Path(mlflow.artifacts.download_artifacts(
            artifact_uri=f"runs:/{served.ref.run_id}/experiment"))
        files = sorted(local.glob("*.y*ml"))
    except MlflowException:
        files = []
    if not files:
        raise ValueError(f"the run of {served.ref.uri} ({served.ref.run_id}) logged no "
                         "experiment file: the outcome's definition is unknown")
    return files[0]


def training_config(served: ServedModel) -> ExperimentConfig:
    """The experiment the model was trained by (:func:`experiment_file`)."""
    return load_experiment(experiment_file(served))


def read_validation_cohort(path: Path, config: ExperimentConfig,
                           options: ReadOptions | None = None) -> tuple[Cohort, pd.DataFrame]:
    """The cohort's analysable patients (outcome derived as in training) and its validated
    records, read as every command reads patients (``options``: encoding, sheet, mapping).
    Raises :class:`MissingOutcomeError` naming an absent outcome field."""
    raw = read_table(path, options)
    for name, meaning in OUTCOME_FIELDS.items():
        if name not in raw.columns:
            raise MissingOutcomeError(
                f"{path.name}: no column {name!r} ({meaning}); the outcome "
                f"{config.outcome.name!r} is derived from it, so this cohort cannot validate "
                "the model. Nothing was logged.")
    records = validate_frame(raw)
    return prepare_cohort(records, config), records


def predict_cohort(model: ResponseModel, cohort: Cohort) -> Predictions:
    """The served model's probability and ΔmRSS with its interval, by the same steps as
    :meth:`models.bundle.ResponseModel.predict` (without the explanation)."""
    with_indices, features = model.transform(cohort.X)
    probability = 1.0 / (1.0 + np.exp(-model.logit(features)))
    predicted = model.delta_mrss(features)
    low, high = model.delta_interval(features, with_indices)
    # As served: the interval widened to hold the estimate, kept to what the score allows.
    low = np.clip(np.minimum(low, predicted), -MRSS_MAX, MRSS_MAX)
    high = np.clip(np.maximum(high, predicted), -MRSS_MAX, MRSS_MAX)
    return Predictions(cohort.y, probability, cohort.delta, np.clip(predicted, -MRSS_MAX,
                                                                     MRSS_MAX), low, high)


def subgroups(cohort: Cohort, centre: str) -> dict[str, np.ndarray]:
    """Centre (the whole file: the data dictionary has no centre field), sex, and disease
    duration up to / above 18 months."""
    frame = cohort.frame
    duration = pd.to_numeric(frame["disease_duration_months"], errors="coerce").to_numpy(float)
    sex = frame["sex"].astype("string").fillna("")
    return {f"centre {centre}": np.ones(len(frame), dtype=bool),
            "sex F": (sex == "F").to_numpy(), "sex M": (sex == "M").to_numpy(),
            f"duration <= {DURATION_CUT_MONTHS:g} months": duration <= DURATION_CUT_MONTHS,
            f"duration > {DURATION_CUT_MONTHS:g} months": duration > DURATION_CUT_MONTHS}


def run_validation(model_uri: str, data_path: str | Path, centre: str | None = None,
                   options: ReadOptions | None = None) -> ExternalValidation:
    """Validate ``model_uri`` on the cohort at ``data_path`` and log it (module docstring)."""
    data_path = Path(data_path)
    tracking.configure_tracking()
    served = load_served_model(model_uri)
    config = training_config(served)
    cohort, _ = read_validation_cohort(data_path, config, options)
    predictions = predict_cohort(served.model, cohort)
    level = config.validation.interval_level
    anticipated_c = served.metrics.get("auroc_corrected", 0.7)
    size = validation_sample_size(predictions.probability, float(cohort.y.mean()),
                                  anticipated_c, REPORTED_THRESHOLDS, len(cohort.y))
    summary = summarise(predictions, REPORTED_THRESHOLDS, level)
    table = subgroup_table(predictions, subgroups(cohort, centre or data_path.stem),
                           REPORTED_THRESHOLDS, level)
    run_id = _log(served, data_path, centre or data_path.stem, predictions, summary, table,
                  size, cohort.n_excluded)
    return ExternalValidation(run_id, model_uri, served.ref.version, summary, table, size,
                              cohort.n_excluded)


def _log(served: ServedModel, data_path: Path, centre: str, predictions: Predictions,
         summary: ValidationSummary, table: pd.DataFrame, size: ValidationSampleSize,
         n_excluded: int) -> str:
    import mlflow

    tracking.use_experiment(validations_experiment())
    with mlflow.start_run(run_name=f"{served.ref.name} v{served.ref.version} on {centre}") as run:
        mlflow.set_tags({"model.name": served.ref.name, "model.version": served.ref.version,
                         "model.run_id": served.ref.run_id, "model.uri": served.ref.uri,
                         "data.sha256": tracking.file_sha256(data_path),
                         "data.name": data_path.name, "centre": centre,
                         "validation.kind": "external", "sample_size.shortfall":
                         str(size.shortfall), "notes": "; ".join(summary.notes)[:4000]})
        tracking.log_metrics(summary.metrics | {
            "n_excluded": float(n_excluded), "sample_size_required": float(size.n_required)})
        title = f"{served.ref.name} v{served.ref.version} on {centre}"
        if summary.calibration_curve is not None:
            mlflow.log_figure(flexible_calibration_figure(
                summary.calibration_curve, predictions.probability, predictions.y,
                summary.metrics, f"Calibration: {title}"), "plots/calibration.png")
        mlflow.log_figure(decision_curve_with_band_figure(summary.net_benefit,
                                                          f"Decision curve: {title}"),
                          "plots/decision_curve.png")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            summary.net_benefit.to_csv(folder / "net_benefit.csv", index=False)
            table.to_csv(folder / "subgroups.csv", index=False)
            if summary.calibration_curve is not None:
                summary.calibration_curve.to_csv(folder / "calibration_curve.csv", index=False)
            (folder / "sample_size.json").write_text(json.dumps(
                {"criteria": size.criteria, "n_available": size.n_available,
                 "n_required": size.n_required, "warning": size.warning()}, indent=2))
            mlflow.log_artifacts(str(folder), artifact_path="tables")
    return str(run.info.run_id)
