"""The selected procedure's headline performance: the estimate that is valid for its learner.

Internal validation has to suit the learner (Steyerberg 2019, ch. 17):

* smooth fits (penalised logistic regressions, the ridge behind the ΔmRSS model): Harrell's
  bootstrap optimism correction with the location-shifted interval of Noma et al. (2021). On
  simulated cohorts of 300-400 patients its corrected AUROC was within 0.035 of the AUROC the
  same model reached on 20,000 fresh patients.
* learners that memorise their training data (``Family.memorises``: random forest, gradient
  boosting): Harrell's correction scores each bootstrap model on the original patients, ~63 %
  of whom it was trained on and reproduces almost perfectly, so it barely corrects. On the same
  cohorts a forest's corrected AUROC was 0.92-0.93 against 0.74-0.75 on fresh patients, and
  boosting's 0.84 against 0.73. The .632+ bootstrap (Efron & Tibshirani 1997) still missed by
  up to 0.07 with a degenerate interval, because it keeps weight on the memorised apparent
  value. These learners are therefore reported by their nested repeated cross-validation (the
  same folds that selected them; within 0.05 of the fresh cohort, slightly pessimistic as models
  trained on 4/5 of the patients should be), with influence-function intervals: DeLong's
  variance for the pooled out-of-fold AUROC (LeDell, Petersen & van der Laan 2015) and the
  variance of a mean for the Brier score. Harrell's bootstrap is not run for them at all.

References
----------
DeLong ER, DeLong DM, Clarke-Pearson DL. Biometrics 1988;44:837-845.
LeDell E, Petersen M, van der Laan M. Computationally efficient confidence intervals for
cross-validated area under the ROC curve estimates. Electron J Stat 2015;9:1583-1607.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm, rankdata

from training.cross_validation import CVResult
from training.optimism import OptimismResult

BINARY_NAMES: tuple[str, ...] = ("auroc", "brier", "calibration_slope", "calibration_intercept")


@dataclass(frozen=True)
class Estimate:
    """A corrected performance value with its interval (NaN bounds: no interval)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")


def from_bootstrap(result: OptimismResult) -> dict[str, Estimate]:
    """Harrell's optimism-corrected values with their location-shifted intervals."""
    return {name: Estimate(result.corrected[name], result.ci_lower[name], result.ci_upper[name])
            for name in BINARY_NAMES}


def from_cross_validation(cv: CVResult, y: npt.ArrayLike, level: float) -> dict[str, Estimate]:
    """Pooled out-of-fold values (mean over repeats), intervals for AUROC and Brier score.

    Repeats share their patients, so their variances are averaged rather than divided by the
    number of repeats (which would pretend they were independent).
    """
    y_arr = np.asarray(y, dtype=float)
    pooled = cv.pooled_metrics.mean()
    variances = {
        "auroc": np.mean([delong_variance(y_arr, p) for p in cv.oof_predictions]),
        "brier": np.mean([brier_variance(y_arr, p) for p in cv.oof_predictions]),
    }
    estimates = {name: Estimate(float(pooled[name])) for name in BINARY_NAMES}
    for name, variance in variances.items():
        low, high = normal_interval(float(pooled[name]), float(variance), level)
        estimates[name] = Estimate(float(pooled[name]), max(low, 0.0), min(high, 1.0))
    return estimates


def delong_variance(y: npt.NDArray[np.float64], p: npt.ArrayLike) -> float:
    """DeLong's variance of the AUROC of predictions ``p`` (midranks, so ties count one half)."""
    scores = np.asarray(p, dtype=float)
    positive, negative = scores[y == 1], scores[y == 0]
    m, n = positive.size, negative.size
    overall = rankdata(np.concatenate([positive, negative]))
    # Placement values: each positive's share of negatives below it, and vice versa.
    v10 = (overall[:m] - rankdata(positive)) / n
    v01 = 1.0 - (overall[m:] - rankdata(negative)) / m
    return float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)


def brier_variance(y: npt.NDArray[np.float64], p: npt.ArrayLike) -> float:
    """Variance of the Brier score as the mean of per-patient squared errors."""
    squared = (np.asarray(p, dtype=float) - y) ** 2
    return float(np.var(squared, ddof=1) / squared.size)


def normal_interval(value: float, variance: float, level: float) -> tuple[float, float]:
    """``value ± z * sd``, the Wald interval the influence-function variance supports."""
    half = float(norm.ppf(0.5 + level / 2)) * float(np.sqrt(variance))
    return value - half, value + half
