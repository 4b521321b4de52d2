"""Where validation runs are logged, and how to read them back for one model version.

``ssc-response validate`` (training) writes them; the researcher's model page (serving) reads
them. Both import this module, so serving needs no training code.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

VALIDATIONS_EXPERIMENT = "ssc-response-validations"
PLOTS = ("plots/calibration.png", "plots/decision_curve.png")
KEY_METRICS = ("n_patients", "n_events", "auroc", "auroc_ci_low", "auroc_ci_high", "oe_ratio",
               "calibration_in_the_large", "calibration_slope", "calibration_slope_ci_low",
               "calibration_slope_ci_high", "brier", "scaled_brier", "ici")


def validations_experiment() -> str:
    """The MLflow experiment of validation runs (``SSC_VALIDATIONS_EXPERIMENT`` overrides)."""
    return os.environ.get("SSC_VALIDATIONS_EXPERIMENT") or VALIDATIONS_EXPERIMENT


@dataclass
class ValidationRecord:
    """One validation of a model version: when, on what, its key figures and its plots."""

    run_id: str
    started: datetime
    centre: str
    data_name: str
    data_sha256: str
    metrics: dict[str, float]
    shortfall: int
    plots: dict[str, str] = field(default_factory=dict)  # name -> PNG as a data: URI


def validations_of(name: str, version: str, with_plots: bool = True,
                   limit: int = 20) -> list[ValidationRecord]:
    """The finished validation runs of ``name`` version ``version``, newest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(validations_experiment())
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=(f"tags.`model.name` = '{name}' and tags.`model.version` = '{version}' "
                       "and attributes.status = 'FINISHED'"),
        order_by=["attributes.start_time DESC"], max_results=limit)
    return [_record(client, run, with_plots) for run in runs]


def _record(client: object, run: object, with_plots: bool) -> ValidationRecord:
    tags, info = run.data.tags, run.info  # type: ignore[attr-defined]
    record = ValidationRecord(
        run_id=info.run_id, started=datetime.fromtimestamp(info.start_time / 1000, UTC),
        centre=tags.get("centre", ""), data_name=tags.get("data.name", ""),
        data_sha256=tags.get("data.sha256", ""),
        metrics={k: float(v) for k, v in run.data.metrics.items()  # type: ignore[attr-defined]
                 if k in KEY_METRICS},
        shortfall=int(tags.get("sample_size.shortfall", "0") or 0))
    if with_plots:
        record.plots = _plots(info.run_id)
    return record


def _plots(run_id: str) -> dict[str, str]:
    import mlflow
    from mlflow.exceptions import MlflowException

    found = {}
    for path in PLOTS:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=f"runs:/{run_id}/{path}")
        except (MlflowException, OSError):
            continue
        with open(local, "rb") as handle:
            encoded = base64.b64encode(handle.read()).decode("ascii")
        found[path.removeprefix("plots/").removesuffix(".png")] = f"data:image/png;base64,{encoded}"
    return found
