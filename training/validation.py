"""Validation statistics for small-cohort prediction models (TRIPOD+AI items 12e, 16, 23a).

One import point for the experiment runner; the code lives in focused modules:

* :mod:`training.metrics` - discrimination, calibration, decision curves, regression errors;
* :mod:`training.optimism` - Harrell's bootstrap optimism correction with Noma intervals;
* :mod:`training.cross_validation` - repeated stratified k-fold with nested tuning;
* :mod:`training.sample_size`, :mod:`training.sample_size_continuous` - Riley et al.
  minimum sample size.
"""

from training._resampling import FitPredict
from training.cross_validation import CVResult, repeated_cv_predictions
from training.metrics import (
    BINARY_METRICS,
    CONTINUOUS_METRICS,
    Metric,
    auroc,
    brier,
    calibration_intercept,
    calibration_slope,
    calibration_slope_intercept,
    mae,
    net_benefit,
    r2,
)
from training.optimism import OptimismResult, optimism_corrected
from training.sample_size import (
    RileyResult,
    cox_snell_r2_from_auroc,
    max_cox_snell_r2,
    riley_binary_min_n,
)
from training.sample_size_continuous import riley_continuous_min_n

__all__ = [
    "BINARY_METRICS",
    "CONTINUOUS_METRICS",
    "CVResult",
    "FitPredict",
    "Metric",
    "OptimismResult",
    "RileyResult",
    "auroc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
    "calibration_slope_intercept",
    "cox_snell_r2_from_auroc",
    "mae",
    "max_cox_snell_r2",
    "net_benefit",
    "optimism_corrected",
    "r2",
    "repeated_cv_predictions",
    "riley_binary_min_n",
    "riley_continuous_min_n",
]
