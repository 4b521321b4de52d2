"""The simulation study: what a centre with n patients can honestly expect from an experiment.

For each scenario, cohort size and seed it simulates a cohort, runs the experiment exactly as
``ssc-response train`` does (validation of the whole procedure, the champion, its intervals, the
promotion gate) and checks every reported number against a large fresh cohort from the same
mechanism, where the truth is known:

* discrimination and calibration: the validated (``*_corrected``) AUROC, calibration slope and
  Brier score against what the champion achieves on the fresh patients' observed outcomes;
* the ΔmRSS interval: how often it holds the fresh patients' observed change;
* the probability interval: how often it holds their *true* probability of response (from the
  mechanism: :func:`training.simulation.outcome.true_response_probability`), the quantity it
  is an interval for;
* the missing-data range (the served ``missing_data``: the probability over stochastic
  imputations of a patient's blank model fields): how often it holds the probability the same
  model gives at the patient's *true*, pre-blanking values (:mod:`training.study_missing`);
* the gate: how often it promotes a model.

Intervals are checked at :data:`COVERAGE_LEVEL` whatever the experiment serves, so studies of
different experiments compare.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssc_response.features.pipeline import as_model_frame
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import FinalModel, fit_final, prepare_cohort, validate
from ssc_response.training.headline import headline_metrics
from ssc_response.training.metrics import auroc, brier, calibration_slope_intercept
from ssc_response.training.promotion import promotion_failures
from ssc_response.training.simulation import (
    complete_baseline,
    deployment_scenario,
    simulate_cohort,
)
from ssc_response.training.simulation.outcome import true_response_probability
from ssc_response.training.study_missing import missing_range_performance

log = logging.getLogger(__name__)

COVERAGE_LEVEL = 0.90
FRESH_SEED = 2_000_003  # far from any study seed
Progress = Callable[[str], None]


@dataclass(frozen=True)
class FreshCohort:
    """A large cohort of the scenario with its true response probabilities.

    ``X_complete``: the same patients (same rows) at their values before the simulator blanked
    fields, to check the missing-data range against the answer at the true values."""

    X: pd.DataFrame
    y: np.ndarray
    delta: np.ndarray
    true_probability: np.ndarray
    X_complete: pd.DataFrame


def fresh_cohort(config: ExperimentConfig, scenario: str, n: int) -> FreshCohort:
    """``n`` fresh patients (those with a known outcome) and their true probabilities."""
    # The deployment centre's patients: in missingness_shift its blanks arise differently.
    cohort = prepare_cohort(simulate_cohort(n, FRESH_SEED, deployment_scenario(scenario)),
                            config)
    # The same patients before blanking: the baseline stream is drawn before, and apart from,
    # the missingness stream (training.simulation.cohort.simulate_cohort).
    truth = complete_baseline(n, FRESH_SEED, scenario)
    truth = truth.set_index("patient_id").loc[cohort.frame["patient_id"]].reset_index()
    abs_threshold, rel_threshold, strict = config.outcome.skin_rule()
    probability = true_response_probability(truth, scenario, abs_threshold, rel_threshold,
                                            strict)
    return FreshCohort(cohort.X, cohort.y, cohort.delta, probability, as_model_frame(truth))


def external_performance(final: FinalModel, fresh: FreshCohort) -> dict[str, float]:
    """What the champion does on the fresh patients, intervals at :data:`COVERAGE_LEVEL`."""
    p, p_low, p_high = final.probability_with_interval(fresh.X, COVERAGE_LEVEL)
    d, d_low, d_high = final.delta_with_interval(fresh.X, COVERAGE_LEVEL)
    slope, intercept = calibration_slope_intercept(fresh.y, p)
    return {
        "external_auroc": auroc(fresh.y, p),
        "external_brier": brier(fresh.y, p),
        "external_calibration_slope": slope,
        "external_calibration_intercept": intercept,
        "probability_coverage": float(np.mean((fresh.true_probability >= p_low)
                                              & (fresh.true_probability <= p_high))),
        "probability_width": float(np.mean(p_high - p_low)),
        "delta_coverage": float(np.mean((fresh.delta >= d_low) & (fresh.delta <= d_high))),
        "delta_width": float(np.mean(d_high - d_low)),
    }


def study_one(config: ExperimentConfig, scenario: str, n: int, seed: int,
              fresh: FreshCohort) -> dict[str, object]:
    """One simulated cohort: its run's reported numbers beside the external truth."""
    row: dict[str, object] = {"scenario": scenario, "n": n, "seed": seed}
    try:
        # The cohort of `ssc-response simulate --n N --seed S --scenario X`.
        cohort = prepare_cohort(simulate_cohort(n, seed, scenario), config)
    except ValueError as error:  # e.g. one outcome class only in a tiny cohort
        return row | {"status": f"skipped: {error}"}
    validation = validate(cohort, config)
    final = fit_final(cohort, config)
    metrics = headline_metrics(validation, final, cohort, config)
    reported = {name: metrics[f"{name}_corrected"]
                for name in ("auroc", "brier", "calibration_slope", "calibration_intercept")}
    return row | {
        "status": "ok",
        "n_analysed": len(cohort.y),
        "champion": final.procedure.chosen.label,
        **{f"reported_{name}": value for name, value in reported.items()},
        **external_performance(final, fresh),
        **missing_range_performance(final, cohort, config, fresh.X, fresh.X_complete),
        "promoted": not promotion_failures(metrics, config),
    }


def run_study(config: ExperimentConfig, scenarios: Sequence[str], sizes: Sequence[int],
              seeds: int, fresh_n: int = 20_000,
              progress: Progress | None = None) -> pd.DataFrame:
    """Every (scenario, size, seed) of the study; one row each."""
    rows = []
    for scenario in scenarios:
        fresh = fresh_cohort(config, scenario, fresh_n)
        for n in sizes:
            for seed in range(1, seeds + 1):
                rows.append(study_one(config, scenario, n, seed, fresh))
                if progress:
                    progress(f"{scenario} n={n} seed={seed}")
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and size: means of reported and external numbers (medians for the
    calibration slope), their mean (median) absolute difference, interval coverage and the share
    of cohorts the gate promotes."""
    done = results[results["status"] == "ok"].copy()
    for name in ("auroc", "calibration_slope", "brier"):
        done[f"{name}_error"] = done[f"reported_{name}"] - done[f"external_{name}"]
    done["promoted"] = done["promoted"].astype(float)
    grouped = done.groupby(["scenario", "n"])
    summary = grouped.agg(
        cohorts=("seed", "size"),
        reported_auroc=("reported_auroc", "mean"),
        external_auroc=("external_auroc", "mean"),
        auroc_mean_abs_error=("auroc_error", lambda e: float(np.mean(np.abs(e)))),
        # Medians for the slope: a champion that predicts nearly the base rate for everyone has
        # an unbounded slope on fresh patients (30 was seen), which would swamp a mean.
        reported_slope_median=("reported_calibration_slope", "median"),
        external_slope_median=("external_calibration_slope", "median"),
        slope_median_abs_error=("calibration_slope_error",
                                lambda e: float(np.median(np.abs(e)))),
        reported_brier=("reported_brier", "mean"),
        external_brier=("external_brier", "mean"),
        delta_coverage=("delta_coverage", "mean"),
        delta_width=("delta_width", "mean"),
        probability_coverage=("probability_coverage", "mean"),
        probability_width=("probability_width", "mean"),
        missing_range_coverage=("missing_range_coverage", "mean"),
        missing_range_width_median=("missing_range_width_median", "mean"),
        missing_range_patients=("missing_range_patients", "mean"),
        promoted=("promoted", "mean"),
    )
    return summary.reset_index()


def summary_markdown(summary: pd.DataFrame, level: float = COVERAGE_LEVEL) -> str:
    """The summary as a Markdown table (for the README and the MLflow run)."""
    columns = {
        "scenario": "scenario", "n": "n", "cohorts": "cohorts",
        "reported_auroc": "AUROC reported", "external_auroc": "AUROC external",
        "auroc_mean_abs_error": "AUROC mean abs. error",
        "reported_slope_median": "slope reported (median)",
        "external_slope_median": "slope external (median)",
        "slope_median_abs_error": "slope median abs. error",
        "reported_brier": "Brier reported", "external_brier": "Brier external",
        "delta_coverage": f"ΔmRSS {level:.0%} interval coverage",
        "probability_coverage": f"P {level:.0%} interval coverage",
        "missing_range_coverage": "missing-data range coverage",
        "missing_range_width_median": "missing-data range median width",
        "missing_range_patients": "fresh patients with blanks",
        "promoted": "promoted",
    }
    shown = summary[list(columns)].rename(columns=columns)
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    lines = [header, rule]
    for _, row in shown.iterrows():
        cells = [_cell(value) for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)
