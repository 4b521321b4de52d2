"""Every statistic of a validation, from outcomes and the model's predictions of one cohort.

External validation (``ssc-response validate``) and, later, prospective validation of served
predictions compute the same numbers from the same inputs: the observed outcome and change in
mRSS, and the predicted probability, change and its interval. The metric names are fixed
(:data:`METRIC_NAMES`) so that scripts can rely on them; each is computed on the patients whose
outcome is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ssc_response.models.calibration_curve import (
    calibration_errors,
    fit_calibration_curve,
)
from ssc_response.models.logistic_fit import SeparationError
from ssc_response.models.performance import (
    auroc_interval,
    brier,
    calibration_in_the_large,
    calibration_slope,
    net_benefit_intervals,
    oe_ratio,
    scaled_brier,
)

METRIC_NAMES: tuple[str, ...] = (
    "auroc", "auroc_ci_low", "auroc_ci_high", "oe_ratio", "calibration_in_the_large",
    "calibration_slope", "calibration_slope_ci_low", "calibration_slope_ci_high", "brier",
    "scaled_brier", "ici", "e50", "e90", "emax", "n_patients", "n_events",
)
DECISION_CURVE = np.round(np.arange(0.05, 0.96, 0.05), 2)
CURVE_GRID_POINTS = 50
MIN_SUBGROUP_EVENTS = 10  # events and non-events each: fewer, and a slope is noise


@dataclass(frozen=True)
class Predictions:
    """One cohort's observed outcomes and what the model predicted for them (row-aligned)."""

    y: npt.NDArray[np.int_]
    probability: npt.NDArray[np.float64]
    delta: npt.NDArray[np.float64]  # observed change in mRSS (points)
    predicted_delta: npt.NDArray[np.float64]
    delta_low: npt.NDArray[np.float64]
    delta_high: npt.NDArray[np.float64]

    def subset(self, rows: npt.NDArray[np.bool_]) -> Predictions:
        return Predictions(self.y[rows], self.probability[rows], self.delta[rows],
                           self.predicted_delta[rows], self.delta_low[rows],
                           self.delta_high[rows])


@dataclass
class ValidationSummary:
    """The metrics (fixed names and the rest), the decision curve and the calibration curve."""

    metrics: dict[str, float]
    net_benefit: pd.DataFrame
    calibration_curve: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)


def summarise(predictions: Predictions, thresholds: Sequence[float],
              level: float = 0.95) -> ValidationSummary:
    """Discrimination, calibration, overall, clinical usefulness and the ΔmRSS interval."""
    y, p = predictions.y, predictions.probability
    notes: list[str] = []
    metrics = {"n_patients": float(y.size), "n_events": float(y.sum())}
    c = auroc_interval(y, p, level)
    oe = oe_ratio(y, p, level)
    citl = calibration_in_the_large(y, p, level)
    metrics |= {"auroc": c.value, "auroc_ci_low": c.low, "auroc_ci_high": c.high,
                "oe_ratio": oe.value, "oe_ratio_ci_low": oe.low, "oe_ratio_ci_high": oe.high,
                "calibration_in_the_large": citl.value,
                "calibration_in_the_large_ci_low": citl.low,
                "calibration_in_the_large_ci_high": citl.high,
                "brier": brier(y, p), "scaled_brier": scaled_brier(y, p)}
    metrics |= _slope(y, p, level, notes)
    curve = _curve(y, p, level, notes, metrics)
    decision = net_benefit_intervals(y, p, DECISION_CURVE, level)
    for threshold in thresholds:
        row = decision.loc[np.isclose(decision["threshold"], threshold)].iloc[0]
        key = f"net_benefit_t{round(threshold * 100):02d}"
        metrics |= {key: float(row["model"]), f"{key}_ci_low": float(row["model_ci_low"]),
                    f"{key}_ci_high": float(row["model_ci_high"])}
    metrics |= delta_metrics(predictions)
    return ValidationSummary(metrics, decision, curve, notes)


def _slope(y: npt.NDArray[np.int_], p: npt.NDArray[np.float64], level: float,
           notes: list[str]) -> dict[str, float]:
    try:
        slope = calibration_slope(y, p, level)
    except SeparationError as error:
        notes.append(str(error))
        return {name: float("nan") for name in ("calibration_slope", "calibration_slope_ci_low",
                                                "calibration_slope_ci_high")}
    return {"calibration_slope": slope.value, "calibration_slope_ci_low": slope.low,
            "calibration_slope_ci_high": slope.high}


def _curve(y: npt.NDArray[np.int_], p: npt.NDArray[np.float64], level: float,
           notes: list[str], metrics: dict[str, float]) -> pd.DataFrame | None:
    try:
        curve = fit_calibration_curve(y, p)
    except SeparationError as error:
        notes.append(f"flexible calibration curve undefined: {error}")
        metrics |= {name: float("nan") for name in ("ici", "e50", "e90", "emax")}
        return None
    errors = calibration_errors(curve, p)
    metrics |= {"ici": errors.ici, "e50": errors.e50, "e90": errors.e90, "emax": errors.emax}
    grid = np.linspace(float(np.min(p)), float(np.max(p)), CURVE_GRID_POINTS)
    return curve.band(grid, level)


def delta_metrics(predictions: Predictions) -> dict[str, float]:
    """Coverage of the ΔmRSS interval and the mean absolute error of the predicted change."""
    observed = predictions.delta
    inside = (observed >= predictions.delta_low) & (observed <= predictions.delta_high)
    return {"delta_interval_coverage": float(np.mean(inside)),
            "delta_interval_mean_width": float(np.mean(predictions.delta_high
                                                       - predictions.delta_low)),
            "delta_mae": float(np.mean(np.abs(observed - predictions.predicted_delta)))}


def subgroup_table(predictions: Predictions, groups: dict[str, npt.NDArray[np.bool_]],
                   thresholds: Sequence[float], level: float = 0.95) -> pd.DataFrame:
    """The key statistics per subgroup with at least :data:`MIN_SUBGROUP_EVENTS` events and
    non-events; smaller subgroups are listed with their counts and a reason."""
    rows = []
    for name, rows_in in groups.items():
        part = predictions.subset(rows_in)
        events = int(part.y.sum())
        row: dict[str, object] = {"subgroup": name, "n_patients": int(part.y.size),
                                  "n_events": events}
        if min(events, part.y.size - events) < MIN_SUBGROUP_EVENTS:
            row["note"] = f"fewer than {MIN_SUBGROUP_EVENTS} events or non-events: not estimated"
        else:
            found = summarise(part, thresholds, level).metrics
            row |= {k: found[k] for k in ("auroc", "auroc_ci_low", "auroc_ci_high", "oe_ratio",
                                          "calibration_in_the_large", "calibration_slope",
                                          "brier", "ici", "delta_interval_coverage",
                                          "delta_mae")}
        rows.append(row)
    return pd.DataFrame(rows)
