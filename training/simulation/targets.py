"""Published values a simulated cohort should reproduce, with plausible bands and sources.

Bands are deliberately wide where the source is a different population or an assumption
(clinical-reference §10.2 marks the MSC responder rate as an assumption to vary).
"""

from __future__ import annotations

import pandas as pd

from ssc_response.training.simulation.report import cohort_summary
from ssc_response.training.simulation.scenarios import Scenario, get_scenario

Target = tuple[str, float, float, float, str]  # statistic, target, low, high, source

COMMON: tuple[Target, ...] = (
    ("digital_ulcers_pct", 20.0, 17.0, 23.0, "[S15] [S24]"),
    ("ild_pct", 58.0, 55.0, 61.0, "[S15] [S24]"),
    ("hypocomplementemia_pct", 10.0, 5.0, 15.0, "§8 assumption (5-15%)"),
    ("crp_median_mg_l", 4.5, 3.0, 6.5, "[S95]"),
    ("esr_median_mm_h", 25.0, 18.0, 32.0, "[S26] [S95]"),
    ("fvc_mean_pct_pred", 85.0, 80.0, 90.0, "[S15] [S11]"),
    ("dlco_mean_pct_pred", 65.0, 60.0, 70.0, "[S17] [S11]"),
    ("haq_di_mean", 1.2, 1.0, 1.4, "[S89] [S90] [S11]"),
    ("r_mrss_fibrosis_grade", 0.7, 0.55, 0.85, "[S29] [S73] [S74]"),
    ("organ_event_pct", 3.0, 1.0, 6.0, "assumption (rare CRISS step-1 events)"),
)
BY_SCENARIO: dict[str, tuple[Target, ...]] = {
    "founding_centre": (
        ("age_mean_years", 45.0, 41.0, 49.0, "[S42]"),
        ("male_pct", 7.0, 3.0, 12.0, "[S42]"),
        ("duration_median_months", 144.0, 120.0, 170.0, "[S42] (12 ± 5.4 y)"),
        ("mrss_mean", 24.0, 22.0, 27.0, "§10.1 N(24, 8) from 14; [S29] median 24"),
        ("mrss_sd", 8.0, 5.5, 9.0, "§10.1"),
        ("anti_topo1_pct", 55.0, 45.0, 65.0, "[S24] 59.1%; §10.1"),
        ("anti_rnap3_pct", 10.0, 5.0, 20.0, "[S24] 8.4%; §10.1"),
        ("tendon_friction_rubs_pct", 15.4, 12.0, 21.0, "[S15] [S24]"),
    ),
    "early_trial": (
        ("age_mean_years", 48.0, 44.0, 52.0, "[S11]"),
        ("male_pct", 22.0, 18.0, 26.0, "[S15] [S24] [S11]"),
        ("duration_median_months", 19.5, 14.0, 26.0, "[S11] 19.5 ± 17 months"),
        ("mrss_median", 25.0, 21.0, 29.0, "[S17] 21; [S11] 26; [S26] 29"),
        ("mrss_sd", 7.0, 5.0, 8.5, "[S11]"),
        ("anti_topo1_pct", 39.9, 35.0, 45.0, "[S17]"),
        ("anti_rnap3_pct", 20.2, 15.0, 25.0, "[S17]"),
        ("tendon_friction_rubs_pct", 20.2, 15.0, 25.0, "[S24]"),
    ),
}
TREATED: tuple[Target, ...] = (
    ("responder_pct", 50.0, 40.0, 60.0, "§10.2 assumption; [S30] [S67]"),
    ("progressor_pct", 3.0, 0.0, 7.5, "assumption: below natural history [S16]"),
    ("delta_mrss_mean", -6.3, -10.0, -4.0, "[S30] 20.1 -> 13.8"),
    ("delta_mrss_sd", 9.0, 6.0, 11.0, "[S30] SD 10.2 at follow-up; §10.2"),
)
NATURAL_HISTORY: tuple[Target, ...] = (
    ("responder_pct", 23.0, 20.0, 30.0, "[S12] 24%; [S16] 22.4%"),
    ("progressor_pct", 7.5, 5.0, 10.0, "[S14] 7.6%; [S16] 7.3%; [S12] 10%"),
)
EARLY_NATURAL_HISTORY: tuple[Target, ...] = (
    ("responder_pct", 15.0, 8.0, 25.0, "early disease improves less [S15] [S33]"),
    ("progressor_pct", 15.0, 10.0, 25.0, "[S17] 22.5% in ESOS; [S15] 27.9% <= 15 months"),
)


def _outcome_targets(sc: Scenario) -> tuple[Target, ...]:
    if sc.treatment_effect_points > 0:
        return TREATED
    return EARLY_NATURAL_HISTORY if sc.name == "early_trial" else NATURAL_HISTORY


def literature_targets(scenario: str | Scenario = "founding_centre") -> pd.DataFrame:
    """Target value, band and source key per statistic, for the scenario."""
    sc = get_scenario(scenario)
    rows = BY_SCENARIO.get(sc.name, ()) + COMMON + _outcome_targets(sc)
    columns = ["statistic", "target", "low", "high", "source"]
    return pd.DataFrame(list(rows), columns=columns).set_index("statistic")


def compare_with_targets(frame: pd.DataFrame, scenario: str | Scenario) -> pd.DataFrame:
    """The cohort summary beside the scenario's targets, with a ``within`` band flag."""
    table = cohort_summary(frame).join(literature_targets(scenario), how="left")
    within = (table["simulated"] >= table["low"]) & (table["simulated"] <= table["high"])
    table["within"] = within.where(table["target"].notna(), other=pd.NA).astype("boolean")
    return table
