"""Summary statistics of a synthetic (or real) cohort; targets are in ``targets``.

Skin response and
progression use the EUSTAR definitions of ``features.outcomes``: change > 5 points and >= 25%
of baseline at 12 ± 2 months ([S12], [S14], [S16]); patients lost to follow-up are left out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ssc_response.features import outcomes

Statistic = Callable[[pd.DataFrame], float]


def _values(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype("Float64").dropna().astype(float)


def _pct(name: str) -> Statistic:
    return lambda frame: 100.0 * float(_values(frame, name).mean())


def _mean(name: str) -> Statistic:
    return lambda frame: float(_values(frame, name).mean())


def _median(name: str) -> Statistic:
    return lambda frame: float(_values(frame, name).median())


def _missing_pct(name: str) -> Statistic:
    return lambda frame: 100.0 * float(frame[name].isna().mean())


def _mrss_pair(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    return frame["mrss_total"], frame["mrss_total_followup"]


def delta_mrss(frame: pd.DataFrame) -> pd.Series:
    """ΔmRSS of the patients seen at follow-up (negative = improvement)."""
    return pd.Series(outcomes.delta_mrss(*_mrss_pair(frame)), dtype=float).dropna()


def responder_pct(frame: pd.DataFrame) -> float:
    """EUSTAR skin improvement: decrease > 5 points and >= 25% of baseline [S12]."""
    return 100.0 * float(pd.Series(outcomes.skin_responder(*_mrss_pair(frame))).mean())


def progressor_pct(frame: pd.DataFrame) -> float:
    """EUSTAR skin progression: increase > 5 points and >= 25% of baseline [S14]."""
    return 100.0 * float(pd.Series(outcomes.skin_progressor(*_mrss_pair(frame))).mean())


def _corr(a: str, b: str) -> Statistic:
    def statistic(frame: pd.DataFrame) -> float:
        pair = frame[[a, b]].astype("Float64").dropna().astype(float)
        return float(np.corrcoef(pair[a], pair[b])[0, 1])

    return statistic


STATISTICS: dict[str, Statistic] = {
    "n_patients": lambda frame: float(len(frame)),
    "age_mean_years": _mean("age_years"),
    "male_pct": lambda frame: 100.0 * float((frame["sex"] == "M").mean()),
    "duration_median_months": _median("disease_duration_months"),
    "mrss_mean": _mean("mrss_total"),
    "mrss_sd": lambda frame: float(_values(frame, "mrss_total").std()),
    "mrss_median": _median("mrss_total"),
    "anti_topo1_pct": _pct("anti_topo1"),
    "anti_rnap3_pct": _pct("anti_rnap3"),
    "tendon_friction_rubs_pct": _pct("tendon_friction_rubs"),
    "digital_ulcers_pct": _pct("digital_ulcers_active"),
    "ild_pct": _pct("ild_on_hrct"),
    "hypocomplementemia_pct": _pct("hypocomplementemia"),
    "crp_median_mg_l": _median("crp_mg_l"),
    "esr_median_mm_h": _median("esr_mm_h"),
    "fvc_mean_pct_pred": _mean("fvc_pct_pred"),
    "dlco_mean_pct_pred": _mean("dlco_pct_pred"),
    "haq_di_mean": _mean("haq_di"),
    "r_mrss_fibrosis_grade": _corr("mrss_total", "fibrosis_grade"),
    "responder_pct": responder_pct,
    "progressor_pct": progressor_pct,
    "delta_mrss_mean": lambda frame: float(delta_mrss(frame).mean()),
    "delta_mrss_sd": lambda frame: float(delta_mrss(frame).std()),
    "organ_event_pct": _pct("criss_organ_event_followup"),
    "lost_to_followup_pct": _missing_pct("mrss_total_followup"),
    "site_scores_missing_pct": _missing_pct("mrss_face"),
    "histology_missing_pct": _missing_pct("fibrosis_grade"),
}


def cohort_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per statistic (``STATISTICS``) with its value in ``frame``."""
    values = {name: statistic(frame) for name, statistic in STATISTICS.items()}
    return pd.DataFrame({"simulated": pd.Series(values, dtype=float)}).rename_axis("statistic")
