"""Before and after transplantation: paired changes of the seed paper's measures.

For each measure with a follow-up field, the patients with both visits give the median at each
visit, the Hodges–Lehmann estimate of the median paired change with its 95 % confidence
interval, and the Wilcoxon signed-rank test (scipy's ``wilcoxon``; zero differences dropped,
Wilcoxon's own rule, exact p below 50 pairs without ties). Change is follow-up minus baseline,
in the measure's units (a negative ΔmRSS is an improvement).

The Hodges–Lehmann interval is the distribution-free one that inverts the signed-rank test
(Hollander & Wolfe, *Nonparametric Statistical Methods*, §3.3; as R's ``wilcox.test(...,
conf.int = TRUE)``): with the ``M = n(n+1)/2`` Walsh averages sorted, the interval runs from
the ``k``-th smallest to the ``k``-th largest, ``k`` from the exact null distribution of the
signed-rank statistic below 400 pairs and from its normal approximation (with continuity
correction) above, where the normal limit lies at most two ranks outside the exact one.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ssc_response.features.index_columns import baseline_mrss

__all__ = [
    "BEFORE_AFTER_COLUMNS",
    "MEASURES",
    "Measure",
    "before_after_table",
    "hodges_lehmann",
    "paired_values",
    "signed_rank_quantile",
    "walsh_averages",
]

BEFORE_AFTER_COLUMNS: tuple[str, ...] = (
    "measure", "n_paired", "median_before", "median_after", "median_change",
    "change_ci_low", "change_ci_high", "wilcoxon_p",
)
EXACT_BELOW = 400  # pairs: the exact null distribution below, the normal approximation above


@dataclass(frozen=True)
class Measure:
    """A measure with its baseline and follow-up fields, as the report names it."""

    name: str  # the dictionary's baseline field
    followup: str
    label: str
    unit: str
    better: str  # "lower" or "higher": the direction of improvement


MEASURES: tuple[Measure, ...] = (
    Measure("mrss_total", "mrss_total_followup", "mRSS", "points", "lower"),
    Measure("raynaud_condition_score", "raynaud_condition_score_followup",
            "Raynaud's Condition Score", "points", "lower"),
    Measure("haq_di", "haq_di_followup", "HAQ-DI", "points", "lower"),
    Measure("patient_global", "patient_global_followup", "Patient global", "points", "lower"),
    Measure("physician_global", "physician_global_followup", "Physician global", "points",
            "lower"),
    Measure("fvc_pct_pred", "fvc_pct_pred_followup", "FVC", "% predicted", "higher"),
    Measure("fibrosis_grade", "fibrosis_grade_followup", "Dermal fibrosis grade", "grade",
            "lower"),
    Measure("microvessel_density_per_mm2", "microvessel_density_per_mm2_followup",
            "Microvessel density (CD31)", "vessels/mm²", "higher"),
    Measure("epidermal_thickness_um", "epidermal_thickness_um_followup",
            "Epidermal thickness", "µm", "higher"),
)


def walsh_averages(differences: np.ndarray) -> np.ndarray:
    """All ``(d_i + d_j) / 2`` with ``i <= j``, sorted (``n(n+1)/2`` values)."""
    d = np.asarray(differences, dtype=float)
    i, j = np.triu_indices(len(d))
    return np.sort((d[i] + d[j]) / 2.0)


def _signed_rank_probabilities(n: int) -> np.ndarray:
    """P(T+ = t) for t = 0..n(n+1)/2 under the null: each rank's sign is a fair coin."""
    probability = np.zeros(n * (n + 1) // 2 + 1)
    probability[0] = 1.0
    for rank in range(1, n + 1):  # halved at each step, so large n never overflows
        probability[rank:] = (probability[rank:] + probability[:-rank].copy()) / 2
        probability[:rank] /= 2
    return probability


def signed_rank_quantile(probability: float, n: int) -> int:
    """Smallest ``t`` with ``P(T+ <= t) >= probability`` under the null (R's ``qsignrank``)."""
    cumulative = np.cumsum(_signed_rank_probabilities(n))
    return int(np.searchsorted(cumulative, probability - 1e-12))


def _interval_rank(n: int, confidence: float) -> int:
    """``k``: the interval is the k-th smallest to the k-th largest Walsh average (1-based)."""
    alpha = 1.0 - confidence
    if n < EXACT_BELOW:
        return max(signed_rank_quantile(alpha / 2, n), 1)
    total = n * (n + 1) / 2
    spread = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    # Smallest t with P(T+ <= t) >= alpha/2 by the normal law, T+ taken as t + 0.5.
    return max(math.ceil(total / 2 - 0.5 - stats.norm.ppf(1 - alpha / 2) * spread), 1)


def _lower_tail(n: int, t: int) -> float:
    """P(T+ <= t) under the null."""
    return float(np.sum(_signed_rank_probabilities(n)[: t + 1]))


def hodges_lehmann(differences: np.ndarray,
                   confidence: float = 0.95) -> tuple[float, float, float]:
    """(estimate, low, high): the median of the Walsh averages and its confidence interval.

    NaN for an empty sample; the interval is NaN when it cannot reach ``confidence`` (fewer
    than 6 pairs at 95 %).
    """
    walsh = walsh_averages(np.asarray(differences, dtype=float))
    if len(walsh) == 0:
        return math.nan, math.nan, math.nan
    estimate = float(np.median(walsh))
    n = len(differences)
    k = _interval_rank(n, confidence)
    if n < EXACT_BELOW and 1 - 2 * _lower_tail(n, k - 1) < confidence - 1e-12:
        return estimate, math.nan, math.nan
    return estimate, float(walsh[k - 1]), float(walsh[len(walsh) - k])


def _wilcoxon_p(differences: np.ndarray) -> float:
    if not np.any(differences != 0):
        return math.nan  # no non-zero difference: nothing to test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scipy's "sample size too small" note
        return float(stats.wilcoxon(differences).pvalue)


def paired_values(frame: pd.DataFrame, measure: Measure) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) of the patients with both visits, as float arrays."""
    if measure.followup not in frame.columns:
        return np.array([]), np.array([])
    before = (baseline_mrss(frame) if measure.name == "mrss_total"
              else frame.get(measure.name, pd.Series(np.nan, index=frame.index)))
    pairs = pd.DataFrame({"before": pd.to_numeric(before, errors="coerce").astype(float),
                          "after": pd.to_numeric(frame[measure.followup]).astype(float)})
    pairs = pairs.dropna()
    return pairs["before"].to_numpy(), pairs["after"].to_numpy()


def _row(measure: Measure, before: np.ndarray, after: np.ndarray) -> dict[str, object]:
    change, low, high = hodges_lehmann(after - before)
    empty = len(before) == 0
    return {
        "measure": measure.name,
        "n_paired": len(before),
        "median_before": math.nan if empty else float(np.median(before)),
        "median_after": math.nan if empty else float(np.median(after)),
        "median_change": change,
        "change_ci_low": low,
        "change_ci_high": high,
        "wilcoxon_p": math.nan if empty else _wilcoxon_p(after - before),
    }


def before_after_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per :data:`MEASURES` entry, columns :data:`BEFORE_AFTER_COLUMNS`."""
    rows = [_row(m, *paired_values(frame, m)) for m in MEASURES]
    return pd.DataFrame(rows, columns=list(BEFORE_AFTER_COLUMNS))
