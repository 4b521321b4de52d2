"""``ssc-response update``: fit the three updates, choose by closed testing, validate the chosen
one on the new centre, and register it through the same promotion gate as ``train``.

The chosen update is validated honestly on the new centre's patients: an intercept update or a
logistic recalibration by Harrell's bootstrap optimism correction of its own fit (the served
model held fixed, the update refitted in every resample, :func:`bootstrap_update`); a refit by
the experiment's own validation of the whole procedure (:func:`training.experiment.validate`).
Both give the ``*_corrected`` metrics the promotion gate reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ssc_response.features.io import ReadOptions
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.parity import with_probes
from ssc_response.models.registry import ServedModel, load_served_model
from ssc_response.training import tracking
from ssc_response.training.assessment import BINARY, score
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import Cohort, FinalModel, fit_final, validate
from ssc_response.training.external_validation import (
    experiment_file,
    read_validation_cohort,
    training_config,
)
from ssc_response.training.headline import headline_metrics
from ssc_response.training.packaging import package
from ssc_response.training.promotion import promotion_failures
from ssc_response.training.run import model_name_from_env
from ssc_response.training.update_card import update_card
from ssc_response.training.updating import (
    ClosedTest,
    Recalibration,
    closed_test,
    delta_followed,
    fit_intercept_update,
    fit_logistic_recalibration,
    recalibrated_model,
)

log = logging.getLogger(__name__)
BOOTSTRAP_REPLICATES = 200


@dataclass
class UpdateSummary:
    """What ``update`` did: the test, the chosen method, its validation and the registration."""

    parent: str
    test: ClosedTest
    method: str
    metrics: dict[str, float] = field(default_factory=dict)
    registration: tracking.Registration | None = None
    run_id: str | None = None


UpdateFit = Callable[[np.ndarray, np.ndarray], Recalibration]


def bootstrap_update(fit: UpdateFit, lp: np.ndarray, y: np.ndarray, delta: np.ndarray,
                     predicted_delta: np.ndarray, replicates: int, seed: int,
                     level: float) -> dict[str, float]:
    """Optimism-corrected metrics of an update ``fit(lp, y) -> Recalibration`` and of the ΔmRSS
    offset, with Noma et al.'s location-shifted percentile intervals."""
    def measures(update: Recalibration, offset: float, on: np.ndarray) -> dict[str, float]:
        return score(y[on], 1 / (1 + np.exp(-update.apply(lp[on]))), delta[on],
                     predicted_delta[on] + offset)

    everyone = np.arange(len(y))
    apparent = measures(fit(lp, y), float(np.mean(delta - predicted_delta)), everyone)
    rng = np.random.default_rng(seed)
    on_sample: list[dict[str, float]] = []
    on_original: list[dict[str, float]] = []
    while len(on_sample) < replicates:
        rows = rng.integers(0, len(y), size=len(y))
        if np.ptp(y[rows]) == 0:
            continue
        update = fit(lp[rows], y[rows])
        offset = float(np.mean(delta[rows] - predicted_delta[rows]))
        on_sample.append(measures(update, offset, rows))
        on_original.append(measures(update, offset, everyone))
    metrics: dict[str, float] = {}
    tail = (1 - level) / 2 * 100
    for name in (*BINARY, "delta_mae"):
        boot = np.array([r[name] for r in on_sample])
        test = np.array([r[name] for r in on_original])
        valid = np.isfinite(boot) & np.isfinite(test)
        corrected = apparent[name] - float(np.mean(boot[valid] - test[valid]))
        low, high = np.percentile(boot[valid], [tail, 100 - tail]) - np.mean(boot[valid])
        metrics |= {f"{name}_corrected": corrected, f"{name}_corrected_ci_low": corrected + low,
                    f"{name}_corrected_ci_high": corrected + high,
                    f"{name}_apparent": apparent[name]}
    metrics["outcome_rate"] = float(np.mean(y))
    return metrics


def _recalibration_update(served: ServedModel, cohort: Cohort, config: ExperimentConfig,
                          method: str, lp: np.ndarray) -> tuple[ResponseModel, dict[str, float],
                                                                dict[str, float]]:
    fit = fit_intercept_update if method == "intercept" else fit_logistic_recalibration
    update = fit(lp, cohort.y)
    model = recalibrated_model(served.model, update)
    model, offset, scale = delta_followed(model, cohort.X, cohort.delta, config.validation.seed)
    _, features = served.model.transform(cohort.X)
    predicted = served.model.delta_mrss(features)
    metrics = bootstrap_update(fit, lp, cohort.y, cohort.delta, predicted, BOOTSTRAP_REPLICATES,
                               config.validation.seed, config.validation.interval_level)
    facts = {"update_intercept": update.intercept, "update_slope": update.slope,
             "delta_offset": offset, "delta_scale": scale}
    return model, metrics, facts


def _refit_update(final: FinalModel, cohort: Cohort, config: ExperimentConfig,
                  metadata: dict[str, object]) -> tuple[ResponseModel, dict[str, float]]:
    validation = validate(cohort, config)
    metrics = headline_metrics(validation, final, cohort, config)
    return package(final, cohort, config, metadata), metrics


def run_update(model_uri: str, data_path: str | Path, method: str | None = None,
               options: ReadOptions | None = None) -> UpdateSummary:
    """Update ``model_uri`` for the centre of ``data_path`` (module docstring). ``method``
    forces an update instead of the closed test's choice."""
    import mlflow

    data_path = Path(data_path)
    tracking.configure_tracking()
    served = load_served_model(model_uri)
    config = training_config(served)
    cohort, _ = read_validation_cohort(data_path, config, options)
    _, features = served.model.transform(cohort.X)
    lp = served.model.logit(features)
    final = fit_final(cohort, config)
    refit_logit = np.asarray(final.procedure.classifier.decision_function(cohort.X), dtype=float)
    n_parameters = final.features(cohort.X).shape[1]
    test = closed_test(cohort.y, lp, refit_logit, n_parameters)
    chosen = method or test.chosen
    summary = UpdateSummary(served.ref.uri, test, chosen)
    if chosen == "none":
        return summary  # the served model transports: nothing to register
    sha256 = tracking.file_sha256(data_path)
    tracking.use_experiment(config.name)
    with mlflow.start_run(run_name=f"update v{served.ref.version}: {chosen}") as run:
        metadata = served.model.metadata | {
            "run_id": run.info.run_id, "data_name": data_path.name, "data_sha256": sha256,
            "parent_version": served.ref.version, "update_method": chosen}
        facts: dict[str, float] = {}
        if chosen == "refit":
            model, metrics = _refit_update(final, cohort, config, metadata)
        else:
            model, metrics, facts = _recalibration_update(served, cohort, config, chosen, lp)
            # The served recalibration is now the composition (training.updating).
            model.metadata = metadata | facts | {
                "recalibration_intercept": float(model.estimator.intercept),
                "recalibration_slope": float(model.estimator.slope)}
        model = with_probes(model)
        tags = {"parent.version": served.ref.version, "parent.run_id": served.ref.run_id,
                "update.method": chosen, "data.sha256": sha256, "data.name": data_path.name,
                "validation.method": "bootstrap" if chosen != "refit" else config.validation.method}
        mlflow.set_tags(tags)
        mlflow.log_artifact(str(experiment_file(served)), artifact_path="experiment")
        tracking.log_metrics(metrics | facts | {"n_patients": float(len(cohort.y))})
        mlflow.log_text(update_card(served, chosen, test, metrics, facts, len(cohort.y),
                                    data_path.name, sha256), "model_card.md")
        model_uri_new = tracking.log_model(model, tracking.input_example(cohort.frame),
                                           cohort.frame)
        failures = promotion_failures(metrics, config)
        registration = tracking.register(model_uri_new, model_name_from_env(), failures,
                                         run.info.run_id)
        _tag_version(registration, tags)
        mlflow.set_tags({"registered_version": registration.version,
                         "promoted": str(registration.promoted)})
    summary.metrics, summary.registration, summary.run_id = metrics, registration, run.info.run_id
    return summary


def _tag_version(registration: tracking.Registration, tags: dict[str, str]) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(registration.name, registration.version, key, value)
