"""The model card of an updated version: what was updated, why, and how well it did."""

from __future__ import annotations

from ssc_response.models.registry import ServedModel
from ssc_response.training.updating import ClosedTest

METHOD_TEXT = {
    "intercept": "the intercept was re-estimated (recalibration in the large, slope kept at 1): "
                 "the predictors' effects transport, the base rate differs",
    "recalibration": "the intercept and slope were re-estimated (logistic recalibration of the "
                     "served log-odds): the ranking transports, the spread of risks does not",
    "refit": "the whole modelling procedure was refitted on the new centre's patients: its "
             "predictors' effects differ there",
}


def update_card(served: ServedModel, method: str, test: ClosedTest, metrics: dict[str, float],
                facts: dict[str, float], n_patients: int, data_name: str, sha256: str) -> str:
    """Markdown: parent, method and reason (the closed test), validation, the ΔmRSS model."""
    rows = "\n".join(f"| {name} | {statistic:.2f} | {df} | {p:.4f} |"
                     for name, statistic, df, p in test.tests)
    chose = ("chosen by the closed test" if method == test.chosen
             else f"forced by the user (the closed test chose {test.chosen!r})")
    lines = [
        f"# Model card: update of {served.ref.name} version {served.ref.version}",
        "",
        f"**What was updated.** {METHOD_TEXT[method]}.",
        "",
        f"**Why.** Fitted on {n_patients} patients of `{data_name}` (SHA-256 `{sha256}`); "
        f"the method was {chose}: likelihood-ratio tests of each simpler model against the "
        "refit, at 5 % (Vergouwe et al., Stat Med 2017;36:4529-39); the first simpler model "
        "that is not significantly worse is kept.",
        "",
        "| test | LR statistic | df | p |", "|---|---|---|---|", rows,
        "",
        "**Validated on the new centre** (" + (
            "nested cross-validation of the whole procedure" if method == "refit" else
            "bootstrap optimism correction of the update's own fit") + "):",
        "",
        "| measure | value | 95 % CI |", "|---|---|---|",
    ]
    for name in ("auroc", "brier", "calibration_slope", "calibration_intercept", "delta_mae"):
        if f"{name}_corrected" in metrics:
            lines.append(f"| {name} | {metrics[f'{name}_corrected']:.3f} | "
                         f"{metrics.get(f'{name}_corrected_ci_low', float('nan')):.3f} to "
                         f"{metrics.get(f'{name}_corrected_ci_high', float('nan')):.3f} |")
    lines.append("")
    if method == "refit":
        lines.append("**ΔmRSS model.** Refitted with the procedure; its CV+ interval comes from "
                     "the new centre's own inner folds.")
    else:
        lines.append(
            f"**ΔmRSS model.** Predicted change shifted by {facts['delta_offset']:+.2f} points "
            f"(the mean residual at the new centre), residual SD scaled by "
            f"{facts['delta_scale']:.2f}; the CV+ interval's conformity scores were recomputed "
            "on the new centre's patients. Recalibration: logit P = "
            f"{facts['update_intercept']:.3f} + {facts['update_slope']:.3f} x served log-odds.")
    return "\n".join(lines) + "\n"
