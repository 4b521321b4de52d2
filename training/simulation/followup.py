"""Follow-up fields other than the mechanism of ΔmRSS (see ``outcome``).

Secondary outcomes follow the realised skin change: HAQ-DI and global assessments track ΔmRSS
weakly ([S72], §10.2), biopsy fibrosis falls with skin response ([S29], [S74]), vessel density
and epidermal thickness rise with it by configurable, uncertain gains ([S29] vs [S77], [S43]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ssc_response.training.simulation.baseline import Columns
from ssc_response.training.simulation.outcome import followup_mrss
from ssc_response.training.simulation.sampling import FloatArray, round_to, truncated_normal
from ssc_response.training.simulation.scenarios import Scenario


def _values(frame: pd.DataFrame, name: str) -> FloatArray:
    return frame[name].to_numpy(dtype=float, na_value=np.nan)


def _organ_events(rng: np.random.Generator, frame: pd.DataFrame, sc: Scenario) -> np.ndarray:
    """New organ involvement (CRISS step 1), commoner with ILD and PAH; mean rate p_organ_event."""
    ild = _values(frame, "ild_on_hrct")
    risk = 0.5 + ild + 2.0 * _values(frame, "pah")  # relative risk (assumption)
    probability = np.clip(sc.p_organ_event * risk / risk.mean(), 0.0, 1.0)
    return rng.uniform(size=len(frame)) < probability


def _function(rng: np.random.Generator, frame: pd.DataFrame, change: FloatArray) -> Columns:
    """HAQ-DI and global assessments: weak tracking of ΔmRSS plus their own noise."""
    n = len(frame)
    # HAQ-DI: ~0.015 per mRSS point, SD 0.25 (MCID about ± 0.125 [S72]); multiples of 1/8.
    haq = _values(frame, "haq_di") - 0.05 + 0.015 * change + rng.normal(0.0, 0.25, n)
    patient = _values(frame, "patient_global") + 0.12 * change + rng.normal(0.0, 1.5, n)
    physician = _values(frame, "physician_global") + 0.15 * change + rng.normal(0.0, 1.0, n)
    return {
        "haq_di_followup": round_to(haq, 0.125, 0.0, 3.0),
        "patient_global_followup": round_to(patient, 0.1, 0.0, 10.0),
        "physician_global_followup": round_to(physician, 0.1, 0.0, 10.0),
    }


def _fibrosis(rng: np.random.Generator, frame: pd.DataFrame, relative: FloatArray) -> np.ndarray:
    """Fibrosis grade falls by one with skin response, rises by one with progression."""
    down = expit((-relative - 0.25) / 0.08)  # ~50% fall at a 25% mRSS improvement (assumption)
    up = expit((relative - 0.25) / 0.08)
    u = rng.uniform(size=len(frame))
    grade = _values(frame, "fibrosis_grade") - (u < down) + (u > 1.0 - up)
    return np.clip(grade, 1, 3).astype(np.int64)


def _vessels_and_epidermis(
    rng: np.random.Generator, frame: pd.DataFrame, relative: FloatArray, sc: Scenario
) -> Columns:
    """Neovascularisation and epidermal restoration in proportion to the skin improvement."""
    improvement = np.maximum(-relative, 0.0)
    n = len(frame)
    vessels = (
        _values(frame, "microvessel_density_per_mm2")
        * (1.0 + sc.microvessel_response_gain * improvement)
        * np.exp(rng.normal(0.0, 0.10, n))
    )
    epidermis = (
        _values(frame, "epidermal_thickness_um")
        * (1.0 + sc.epidermal_response_gain * improvement)
        * np.exp(rng.normal(0.0, 0.08, n))
    )
    return {
        "microvessel_density_per_mm2_followup": round_to(vessels, 0.1, 0.0, 500.0),
        "epidermal_thickness_um_followup": round_to(epidermis, 0.1, 10.0, 300.0),
    }


def simulate_followup(rng: np.random.Generator, frame: pd.DataFrame, sc: Scenario) -> Columns:
    """Every follow-up field, complete, for a complete baseline frame."""
    n = len(frame)
    months = truncated_normal(
        rng.standard_normal(n), sc.followup_mean_months, sc.followup_sd_months, 10.0, 14.0
    )
    mrss0 = _values(frame, "mrss_total")
    mrss1 = followup_mrss(rng, frame, sc)
    change = mrss1 - mrss0
    relative = np.divide(change, mrss0, out=np.zeros(n), where=mrss0 > 0)
    events = _organ_events(rng, frame, sc)
    # FVC: stable on average, slightly better with skin response ([S67]); -10 with an organ event.
    fvc = _values(frame, "fvc_pct_pred") - 1.0 * _values(frame, "ild_on_hrct") - 0.1 * change
    fvc = fvc - 10.0 * events + rng.normal(0.0, 4.0, n)
    raynaud_gain = sc.raynaud_improvement_points if sc.treatment_effect_points > 0 else 0.0
    rcs = _values(frame, "raynaud_condition_score") - raynaud_gain + rng.normal(0.0, 1.5, n)
    cols: Columns = {
        "followup_months": round_to(months, 0.1, 10.0, 14.0),
        "mrss_total_followup": mrss1,
        "fvc_pct_pred_followup": round_to(fvc, 0.1, 20.0, 160.0),
        **_function(rng, frame, change),
        "criss_organ_event_followup": events,
        "raynaud_condition_score_followup": round_to(rcs, 0.1, 0.0, 10.0),
        "fibrosis_grade_followup": _fibrosis(rng, frame, relative),
    }
    cols.update(_vessels_and_epidermis(rng, frame, relative, sc))
    return cols
