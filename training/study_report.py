"""Tables, plots and the MLflow run of a simulation study (:mod:`training.study`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.training.config import ExperimentConfig
from ssc_response.training.study import COVERAGE_LEVEL, summary_markdown

STUDY_EXPERIMENT = "ssc-response-study"


def write_study(results: pd.DataFrame, summary: pd.DataFrame, folder: Path) -> list[Path]:
    """results.csv, summary.csv, summary.md and one PNG per scenario into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "results.csv", folder / "summary.csv", folder / "summary.md"]
    results.to_csv(paths[0], index=False)
    summary.to_csv(paths[1], index=False)
    paths[2].write_text(summary_markdown(summary) + "\n", encoding="utf-8")
    done = results[results["status"] == "ok"]
    for scenario, rows in done.groupby("scenario"):
        figure = study_figure(rows, str(scenario))
        path = folder / f"study_{scenario}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        paths.append(path)
    return paths


def study_figure(rows: pd.DataFrame, scenario: str) -> Any:
    """Reported against external AUROC and slope, interval coverage and promotion, by n."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 3.8), layout="constrained")
    axes = figure.subplots(1, 4)
    by_n = rows.groupby("n")
    sizes = np.array(sorted(rows["n"].unique()))
    for kind, marker in (("reported", "o"), ("external", "s")):
        column = by_n[f"{kind}_auroc"]
        axes[0].errorbar(sizes, column.mean(), yerr=column.std(), marker=marker, capsize=3,
                         label=f"{kind} (mean ± SD over cohorts)")
        # The slope is unbounded for a champion close to the base rate: median and quartiles.
        column = by_n[f"{kind}_calibration_slope"]
        median, q1, q3 = column.median(), column.quantile(0.25), column.quantile(0.75)
        axes[1].errorbar(sizes, median, yerr=[median - q1, q3 - median], marker=marker,
                         capsize=3, label=f"{kind} (median, quartiles over cohorts)")
    for ax, label in ((axes[0], "AUROC"), (axes[1], "calibration slope")):
        ax.set(xlabel="patients in the cohort", ylabel=label, title=f"{label}: reported vs fresh")
        ax.legend(fontsize=7)
    axes[1].axhline(1.0, color="grey", lw=0.8, ls=":")
    for column, label in (("delta_coverage", "ΔmRSS interval"),
                          ("probability_coverage", "probability interval"),
                          ("missing_range_coverage", "missing-data range (of the model's answer)")):
        if column in rows and rows[column].notna().any():
            axes[2].plot(sizes, by_n[column].mean(), marker="o", label=label)
    axes[2].axhline(COVERAGE_LEVEL, color="grey", lw=0.8, ls=":", label="nominal")
    axes[2].set(xlabel="patients in the cohort", ylabel="coverage", ylim=(0.5, 1.0),
                title=f"coverage ({COVERAGE_LEVEL:.0%} intervals; range over 20 draws)")
    axes[2].legend(fontsize=7)
    axes[3].bar([str(s) for s in sizes], by_n["promoted"].mean().astype(float))
    axes[3].set(xlabel="patients in the cohort", ylabel="share promoted", ylim=(0, 1),
                title="promotion gate")
    figure.suptitle(f"Simulation study, scenario {scenario}")
    return figure


def log_study(config: ExperimentConfig, results: pd.DataFrame, summary: pd.DataFrame,
              paths: list[Path], params: dict[str, Any]) -> str:
    """One MLflow run holding the study's settings, summary metrics and files."""
    import mlflow

    from ssc_response.training import tracking

    tracking.configure_tracking()
    tracking.use_experiment(STUDY_EXPERIMENT)
    with mlflow.start_run(run_name=f"study-{config.name}") as run:
        mlflow.log_params(params)
        mlflow.log_text(config.model_dump_json(indent=1), "experiment.json")
        for _, row in summary.iterrows():
            suffix = f"{row['scenario']}_n{int(row['n'])}"
            for name in ("auroc_mean_abs_error", "slope_median_abs_error", "delta_coverage",
                         "probability_coverage", "missing_range_coverage", "promoted",
                         "external_auroc"):
                if np.isfinite(float(row[name])):  # no range where no fresh patient has blanks
                    mlflow.log_metric(f"{name}_{suffix}", float(row[name]))
        for path in paths:
            mlflow.log_artifact(str(path), artifact_path="study")
        mlflow.set_tag("cohorts", str(len(results)))
    return str(run.info.run_id)
