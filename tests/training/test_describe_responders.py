"""Responder rates: Wilson intervals against statsmodels; revised CRISS by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from ssc_response.training.describe_responders import responder_table, revised_criss_improved


def criss_items(**changes: list[float]) -> pd.DataFrame:
    """Baseline mRSS 20, HAQ 1.0, globals 5.0, FVC 80; follow-ups given per patient."""
    n = len(next(iter(changes.values())))
    frame = pd.DataFrame({"mrss_total": [20] * n, "haq_di": [1.0] * n,
                          "patient_global": [5.0] * n, "physician_global": [5.0] * n,
                          "fvc_pct_pred": [80.0] * n})
    for name, values in changes.items():
        frame[name] = values
    return frame


def test_revised_criss_by_hand() -> None:
    """Patient 1: mRSS 20->16 (20 %), HAQ 1->0.8 (20 %), patient global 5->4 (20 %): 3 items,
    improved. Patient 2: mRSS -20 %, FVC 80->84 (+5 %), rest unchanged: 2 items, not improved.
    Patient 3: as 1 but with a step-1 organ event: not improved. Patient 4: two items improved,
    HAQ and FVC unknown: could still reach 3, so unknown."""
    frame = criss_items(
        mrss_total_followup=[16, 16, 16, 16],
        haq_di_followup=[0.8, 1.0, 0.8, None],
        patient_global_followup=[4.0, 5.0, 4.0, 4.0],
        physician_global_followup=[5.0, 5.0, 5.0, 5.0],
        fvc_pct_pred_followup=[80.0, 84.0, 80.0, None],
        criss_organ_event_followup=[False, False, True, False],
    )
    result = revised_criss_improved(frame)
    assert result.iloc[:3].tolist() == [True, False, False]
    assert result.isna().iloc[3]


def test_rates_carry_wilson_intervals() -> None:
    frame = criss_items(mrss_total_followup=[10, 12, 19, 20, 25, 14, None])
    table = responder_table(frame).set_index("responder")
    skin = table.loc["skin_responder"]  # decreases 10, 8, 1, 0, -5, 6 -> > 5 and >= 25 %: 3
    assert (skin["n_evaluable"], skin["n_responders"]) == (6, 3)
    low, high = proportion_confint(3, 6, alpha=0.05, method="wilson")
    assert (skin["ci_low"], skin["ci_high"]) == pytest.approx((low, high), abs=1e-6)
    assert skin["untreated_rate"] == pytest.approx(0.24)
