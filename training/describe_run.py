"""``describe`` end to end: read a cohort (or a REDCap export), write the report, log a run.

The report goes to a temporary folder beside the output first and its files are moved into
place only when all of them are written, so a failure leaves the output folder as it was. The
MLflow run (experiment ``ssc-response-describe``; tracking URI from the environment, as
``train``) holds the report's files as artifacts, the headline numbers as metrics and the data's
hash and path as tags: aggregates only, never a patient's row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ssc_response.features.derived_columns import OutcomeThresholds
from ssc_response.features.io import ReadOptions, is_redcap_file, read_cohort
from ssc_response.training import tracking
from ssc_response.training.describe import before_after_table
from ssc_response.training.describe_report import DescribeTables, write_report
from ssc_response.training.describe_responders import responder_table, with_responders
from ssc_response.training.describe_table1 import table_one

__all__ = ["DESCRIBE_EXPERIMENT", "DescribeSummary", "describe_cohort", "read_for_describe",
           "run_describe"]

DESCRIBE_EXPERIMENT = "ssc-response-describe"


@dataclass(frozen=True)
class DescribeSummary:
    """What ``ssc-response describe`` prints."""

    run_id: str
    report: Path
    n_patients: int
    from_redcap: bool
    tables: DescribeTables


def read_for_describe(path: Path,
                      options: ReadOptions | None = None) -> tuple[pd.DataFrame, bool]:
    """The validated cohort and whether it came from a REDCap export (the reader converts an
    export, then applies the centre's mapping of ``options``)."""
    return read_cohort(path, options), is_redcap_file(path, options)


def describe_cohort(frame: pd.DataFrame) -> DescribeTables:
    """Table 1 (by EUSTAR skin response when follow-up allows), before/after, responders."""
    derived = with_responders(frame)
    responder = derived["skin_responder"] if "skin_responder" in derived.columns else None
    return DescribeTables(table_one(frame, responder), before_after_table(frame),
                          responder_table(frame))


def _metrics(tables: DescribeTables, n_patients: int) -> dict[str, float]:
    metrics = {"n_patients": float(n_patients)}
    for row in tables.before_after.itertuples():
        metrics[f"n_paired_{row.measure}"] = float(row.n_paired)
        metrics[f"median_change_{row.measure}"] = float(row.median_change)
    for row in tables.responders.itertuples():
        metrics[f"rate_{row.responder}"] = float(row.rate)
    return {name: value for name, value in metrics.items() if np.isfinite(value)}


def _publish(staging: Path, output: Path) -> None:
    """Move every staged file into ``output`` (created if needed)."""
    output.mkdir(parents=True, exist_ok=True)
    for path in staging.iterdir():
        os.replace(path, output / path.name)


def run_describe(data_path: Path, output: Path,
                 options: ReadOptions | None = None) -> DescribeSummary:
    """Describe the cohort at ``data_path`` into ``output`` and log the report to MLflow."""
    import mlflow

    frame, redcap = read_for_describe(data_path, options)
    tables = describe_cohort(frame)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    try:
        write_report(tables, frame, staging, f"Before and after transplantation: "
                     f"{data_path.name} ({len(frame)} patients)")
        tracking.configure_tracking()
        tracking.use_experiment(DESCRIBE_EXPERIMENT)
        with mlflow.start_run(run_name="describe") as run:
            mlflow.set_tags({"data.sha256": tracking.file_sha256(data_path),
                             "data.path": str(data_path), "data.rows": len(frame),
                             "data.redcap_export": str(redcap).lower(),
                             "git.commit": tracking.git_commit()})
            mlflow.log_params(tracking.flat_params("thresholds", asdict(OutcomeThresholds())))
            mlflow.log_metrics(_metrics(tables, len(frame)))
            mlflow.log_artifacts(str(staging), artifact_path="describe")
        _publish(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DescribeSummary(run.info.run_id, output / "report.html", len(frame), redcap, tables)
