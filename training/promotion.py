"""The promotion gate: which of an experiment's thresholds a run fails (none: move the alias)."""

from __future__ import annotations

from training.config import ExperimentConfig


def _promotion_rules(metrics: dict[str, float]) -> list[tuple[str, str, float | None, str]]:
    """(threshold in ``promotion``, what is compared, its value, operator) for every rule."""
    slope = metrics["calibration_slope_corrected"]
    # The AUROC gate takes the more pessimistic of the corrected and the cross-validated value:
    # should Harrell's correction fall short for a learner not flagged as memorising, the
    # cross-validated value still holds the gate (both are the same for memorising learners).
    return [
        ("min_auroc_corrected", "min(auroc_corrected, auroc_cv)",
         min(metrics["auroc_corrected"], metrics["auroc_cv"]), ">="),
        ("max_brier_corrected", "brier_corrected", metrics["brier_corrected"], "<="),
        ("min_calibration_slope_corrected", "calibration_slope_corrected", slope, ">="),
        ("max_calibration_slope_corrected", "calibration_slope_corrected", slope, "<="),
        ("max_mae_corrected", "mae_corrected", metrics.get("mae_corrected"), "<="),
    ]


def promotion_failures(metrics: dict[str, float], config: ExperimentConfig) -> list[str]:
    """Which promotion thresholds the run fails (empty: promote), each named as in the YAML."""
    failures = []
    for name, label, value, op in _promotion_rules(metrics):
        threshold = getattr(config.promotion, name)
        if threshold is None or value is None:
            continue
        passed = value >= threshold if op == ">=" else value <= threshold
        if not passed:  # NaN compares False, so an undefined metric fails, as it should
            failures.append(f"promotion.{name}: {label} = {value:.3f}, needs {op} {threshold}")
    return failures
