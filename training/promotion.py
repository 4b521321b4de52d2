"""The promotion gate: which of an experiment's thresholds a run fails (none: move the alias).

It reads the validated numbers of the whole procedure (``*_corrected``, see
:mod:`training.headline`), whose calibration is that of the recalibrated champion on patients it
did not see: a slope near 1 and an intercept near 0 mean the probabilities can be read as
probabilities.
"""

from __future__ import annotations

from ssc_response.training.config import ExperimentConfig


def _promotion_rules(metrics: dict[str, float]) -> list[tuple[str, str, float | None, str]]:
    """(threshold in ``promotion``, what is compared, its value, operator) for every rule."""
    slope = metrics.get("calibration_slope_corrected")
    intercept = metrics.get("calibration_intercept_corrected")
    return [
        ("min_auroc_corrected", "auroc_corrected", metrics.get("auroc_corrected"), ">="),
        ("max_brier_corrected", "brier_corrected", metrics.get("brier_corrected"), "<="),
        ("min_calibration_slope_corrected", "calibration_slope_corrected", slope, ">="),
        ("max_calibration_slope_corrected", "calibration_slope_corrected", slope, "<="),
        ("max_abs_calibration_intercept_corrected", "|calibration_intercept_corrected|",
         None if intercept is None else abs(intercept), "<="),
        ("max_mae_corrected", "mae_corrected", metrics.get("mae_corrected"), "<="),
    ]


def promotion_failures(metrics: dict[str, float], config: ExperimentConfig) -> list[str]:
    """Which promotion thresholds the run fails (empty: promote), each named as in the YAML.

    A threshold whose metric is missing or undefined (NaN) fails: the gate never promotes on a
    number it could not compute.
    """
    failures = []
    for name, label, value, op in _promotion_rules(metrics):
        threshold = getattr(config.promotion, name)
        if threshold is None:
            continue
        if value is None:
            failures.append(f"promotion.{name}: {label} was not measured, needs {op} {threshold}")
            continue
        passed = value >= threshold if op == ">=" else value <= threshold
        if not passed:  # NaN compares False, so an undefined metric fails, as it should
            failures.append(f"promotion.{name}: {label} = {value:.3f}, needs {op} {threshold}")
    return failures
