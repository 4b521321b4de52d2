"""One tracked experiment run end to end: data -> validation -> model -> reports -> registry."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ssc_response.features.io import ReadOptions, read_cohort
from ssc_response.models.parity import with_probes
from ssc_response.models.registry import DEFAULT_MODEL_NAME
from ssc_response.training import run_reports, tracking
from ssc_response.training.config import ExperimentConfig, experiment_path, load_experiment
from ssc_response.training.experiment import Tick, fit_final, prepare_cohort, validate
from ssc_response.training.headline import headline_metrics, validation_description
from ssc_response.training.packaging import package
from ssc_response.training.promotion import GateCheck, promotion_checks


@dataclass(frozen=True)
class RunSummary:
    """What a researcher needs to read after ``ssc-response train``."""

    run_id: str
    experiment: str
    selected_family: str
    metrics: dict[str, float]
    registration: tracking.Registration
    sample_size_warning: str | None  # shown by the caller (the CLI prints it once)
    n_patients: int
    n_excluded: int
    validation_method: str  # "nested_cv" or "bootstrap" (training.assessment)
    validation_text: str  # the same, in words, with its numbers of folds and resamples
    champion: str  # the chosen candidate, e.g. "logistic_l2(C=0.1)"
    recalibration: tuple[float, float]  # (intercept, slope) fitted on out-of-fold scores
    gate: tuple[GateCheck, ...] = field(default=())  # each promotion threshold and its value


def model_name_from_env() -> str:
    """Registered model name: ``SSC_MODEL_NAME`` or the default ``ssc-skin-response``."""
    return os.environ.get("SSC_MODEL_NAME") or DEFAULT_MODEL_NAME


def run_experiment(experiment: str | Path, data_path: str | Path,
                   tick: Tick | None = None, reading: ReadOptions | None = None) -> RunSummary:
    """Train, validate, log and register; the alias moves only when promotion passes.

    ``experiment``: a built-in experiment's name (``default``, ``quick``) or a YAML file.
    ``reading``: how to read the data file (encoding, sheet, the centre's mapping).
    """
    import mlflow

    config = load_experiment(experiment)
    config_path = experiment_path(experiment)
    data_path = Path(data_path)
    raw = read_cohort(data_path, reading)
    cohort = prepare_cohort(raw, config)
    tracking.configure_tracking()
    tracking.use_experiment(config.name)
    with mlflow.start_run() as run:
        sample_size = run_reports.sample_size_check(cohort, config)
        sha256 = tracking.file_sha256(data_path)
        _log_inputs(config, config_path, cohort.frame, data_path, sha256)
        validation = validate(cohort, config, tick)
        final = fit_final(cohort, config, tick)
        metrics = headline_metrics(validation, final, cohort, config)
        tracking.log_metrics(metrics)
        # The data's name and hash travel with the model, so its card names the exact bytes.
        metadata = {"experiment": config.name, "outcome": config.outcome.name,
                    "run_id": run.info.run_id, "data_name": data_path.name,
                    "data_sha256": sha256, "validation_method": validation.method}
        model = with_probes(package(final, cohort, config, metadata))
        card = run_reports.log_reports(cohort, config, validation, final, model, metrics,
                                       sample_size, run.info.run_id)
        model_uri = tracking.log_model(model, tracking.input_example(cohort.frame), cohort.frame)
        gate = promotion_checks(metrics, config)
        failures = [check.failure() for check in gate if not check.passed]
        registration = tracking.register(model_uri, model_name_from_env(), failures,
                                         run.info.run_id)
        run_reports.log_model_card(card, registration.name, registration.version)
        mlflow.set_tags({"selected_family": final.selected,
                         "registered_version": registration.version,
                         "promoted": str(registration.promoted)})
    return RunSummary(run.info.run_id, config.name, final.selected, metrics, registration,
                      sample_size.warning, len(cohort.y), cohort.n_excluded, validation.method,
                      validation_description(config), final.procedure.chosen.label,
                      final.procedure.recalibration, tuple(gate))


def _log_inputs(config: ExperimentConfig, config_path: Path, frame: pd.DataFrame,
                data_path: Path, sha256: str) -> None:
    import mlflow

    mlflow.log_params(tracking.flat_params("", config.model_dump()))
    mlflow.log_artifact(str(config_path), artifact_path="experiment")
    tracking.log_dataset(frame, data_path, config.outcome.name, sha256)
    commit = tracking.git_commit()
    # MLflow links the commit tag to the repository, so it holds the bare hash; whether the
    # working tree had uncommitted changes is a tag of its own.
    mlflow.set_tags({"mlflow.source.git.commit": commit.removesuffix("-dirty"),
                     "git.dirty": str(commit.endswith("-dirty")).lower()})
