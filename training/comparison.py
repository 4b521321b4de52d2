"""Paired comparison of two feature sets validated on the same resamples.

"Does the biopsy add value to the clinical picture?" is answered by validating the whole
procedure twice - on the experiment's feature set and on a reference set - with the *same*
outer folds (same seed), so each patient's two out-of-fold predictions come from the same
split. Differences are "feature set minus reference":

* ``delta_auroc_corrected``: mean over repeats of the difference in pooled out-of-fold AUROC;
  its interval uses DeLong's variance of the difference of two correlated AUROCs on the same
  patients (DeLong, DeLong & Clarke-Pearson 1988), averaged over repeats;
* ``delta_brier_corrected``: the same for the Brier score, with the variance of the mean of
  per-patient differences in squared error;
* net benefit across threshold probabilities (decision curves; Vickers & Elkin 2006) of both,
  from each patient's out-of-fold probability averaged over repeats, and their difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ssc_response.training.assessment import Assessment
from ssc_response.training.metrics import auroc, brier, delong_placements, net_benefit

THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)
REPORTED_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)  # logged as metrics; the full curve as a table


def compare_feature_sets(y: np.ndarray, chosen: Assessment, reference: Assessment,
                         level: float) -> tuple[dict[str, float], pd.DataFrame]:
    """The difference metrics and the two decision curves (see the module docstring)."""
    if chosen.oof_probability is None or reference.oof_probability is None:
        raise ValueError("feature sets are compared on nested cross-validation predictions")
    y = np.asarray(y, dtype=float)
    z = float(norm.ppf(0.5 + level / 2))
    metrics: dict[str, float] = {}
    for name, difference in (("auroc", _auroc_difference), ("brier", _brier_difference)):
        values, variances = zip(*(difference(y, a, b) for a, b in zip(
            chosen.oof_probability, reference.oof_probability, strict=True)), strict=True)
        value, half = float(np.mean(values)), z * float(np.sqrt(np.mean(variances)))
        metrics |= {f"delta_{name}_corrected": value, f"delta_{name}_ci_low": value - half,
                    f"delta_{name}_ci_high": value + half}
    curves = decision_curves(y, chosen.mean_oof_probability(), reference.mean_oof_probability())
    for threshold in REPORTED_THRESHOLDS:
        row = curves.loc[np.isclose(curves["threshold"], threshold)].iloc[0]
        metrics[f"delta_net_benefit_t{int(round(threshold * 100)):02d}"] = float(
            row["difference"])
    return metrics, curves


def _auroc_difference(y: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """AUROC(p) - AUROC(q) on the same patients, and DeLong's variance of that difference."""
    first, second = delong_placements(y, p), delong_placements(y, q)
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    variance = (np.var(first[0] - second[0], ddof=1) / n_pos
                + np.var(first[1] - second[1], ddof=1) / n_neg)
    return auroc(y, p) - auroc(y, q), float(variance)


def _brier_difference(y: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """Brier(p) - Brier(q) and the variance of that mean difference."""
    per_patient = (p - y) ** 2 - (q - y) ** 2
    return brier(y, p) - brier(y, q), float(np.var(per_patient, ddof=1) / y.size)


def decision_curves(y: np.ndarray, chosen: np.ndarray | None,
                    reference: np.ndarray | None) -> pd.DataFrame:
    """Net benefit of both feature sets, treat-all, and the difference, per threshold."""
    if chosen is None or reference is None:
        raise ValueError("both feature sets need out-of-fold probabilities")
    ours = net_benefit(y, chosen, THRESHOLDS)
    theirs = net_benefit(y, reference, THRESHOLDS)
    return pd.DataFrame({
        "threshold": ours["threshold"],
        "feature_set": ours["model"],
        "reference": theirs["model"],
        "treat_all": ours["treat_all"],
        "difference": ours["model"] - theirs["model"],
    })
