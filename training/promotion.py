"""The promotion gate: which of an experiment's thresholds a run fails (none: move the alias).

It reads the validated numbers of the whole procedure (``*_corrected``, see
:mod:`training.headline`), whose calibration is that of the recalibrated champion on patients it
did not see: a slope near 1 and an intercept near 0 mean the probabilities can be read as
probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ssc_response.training.config import ExperimentConfig


@dataclass(frozen=True)
class GateCheck:
    """One threshold of the gate: ``promotion.<threshold>`` needs ``metric op limit``."""

    threshold: str  # the name in the experiment's ``promotion``
    metric: str  # what is compared, e.g. "|calibration_intercept_corrected|"
    op: str  # ">=" or "<="
    limit: float
    value: float | None  # None: not measured

    @property
    def passed(self) -> bool:
        """Whether the value meets the limit; a missing or undefined (NaN) value never does."""
        if self.value is None or math.isnan(self.value):
            return False
        return self.value >= self.limit if self.op == ">=" else self.value <= self.limit

    def failure(self) -> str:
        """Why the check failed, in the words of the registry's ``promotion_failures`` tag."""
        measured = "was not measured" if self.value is None else f"= {self.value:.3f}"
        return f"promotion.{self.threshold}: {self.metric} {measured}, needs {self.op} {self.limit}"


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


def promotion_checks(metrics: dict[str, float], config: ExperimentConfig) -> list[GateCheck]:
    """Every threshold the experiment sets, with the run's value (for a table of the gate)."""
    checks = []
    for name, label, value, op in _promotion_rules(metrics):
        limit = getattr(config.promotion, name)
        if limit is not None:
            checks.append(GateCheck(name, label, op, limit, value))
    return checks


def promotion_failures(metrics: dict[str, float], config: ExperimentConfig) -> list[str]:
    """Which promotion thresholds the run fails (empty: promote), each named as in the YAML.

    A threshold whose metric is missing or undefined (NaN) fails: the gate never promotes on a
    number it could not compute.
    """
    return [check.failure() for check in promotion_checks(metrics, config) if not check.passed]
