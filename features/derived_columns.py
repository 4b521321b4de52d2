"""Derived columns of a cohort frame: the baseline clinical indices
(:mod:`features.index_columns`), then the follow-up outcomes.

Input columns are those of ``features/data_dictionary.csv``; any optional column may be absent
and is then treated as all-missing (an absent outcome input gives NaN / ``<NA>``). The input
frame is never modified.

Data mapping: the CRISS organ event <- ``criss_organ_event_followup``; missing counts as no
event (step-1 events are reported when they happen), so CRISS is then decided by the Δs alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ssc_response.features import outcomes
from ssc_response.features.index_columns import add_baseline_indices, baseline_mrss

__all__ = [
    "OUTCOME_DERIVED_COLUMNS",
    "OutcomeThresholds",
    "add_derived_columns",
    "add_outcome_columns",
]

OUTCOME_DERIVED_COLUMNS: tuple[str, ...] = (
    "delta_mrss",
    "pct_change_mrss",
    "skin_responder",
    "skin_progressor",
    "skin_responder_mcid",
    "criss",
    "criss_improved",
    "raynaud_responder",
    "haq_responder",
    "morphological_responder",
)
_CRISS_FOLLOWUP = (
    "mrss_total_followup",
    "fvc_pct_pred_followup",
    "patient_global_followup",
    "physician_global_followup",
    "haq_di_followup",
)


@dataclass(frozen=True)
class OutcomeThresholds:
    """Outcome cut-offs used by :func:`add_outcome_columns` (record them with the model, §9.1)."""

    skin_abs_threshold: float = outcomes.SKIN_ABS_THRESHOLD_POINTS
    skin_rel_threshold: float = outcomes.SKIN_REL_THRESHOLD
    skin_strict: bool = True
    skin_mcid: float = outcomes.SKIN_MCID_POINTS
    criss_improved: float = outcomes.CRISS_IMPROVED_THRESHOLD
    rcs_mid: float = outcomes.RCS_MID_POINTS
    haq_mid: float = outcomes.HAQ_MID_POINTS
    morphology_require: str = "fibrosis_and_one"


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column, or an all-missing float column on the same index when it is absent."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype="float64", name=name)


def _has(frame: pd.DataFrame, *names: str) -> bool:
    return all(name in frame.columns for name in names)


def _skin_outcomes(frame: pd.DataFrame, t: OutcomeThresholds) -> dict[str, pd.Series]:
    base, follow = baseline_mrss(frame), frame["mrss_total_followup"]
    rule = (t.skin_abs_threshold, t.skin_rel_threshold, t.skin_strict)
    return {
        "delta_mrss": outcomes.delta_mrss(base, follow),
        "pct_change_mrss": outcomes.pct_change_mrss(base, follow),
        "skin_responder": outcomes.skin_responder(base, follow, *rule),
        "skin_progressor": outcomes.skin_progressor(base, follow, *rule),
        "skin_responder_mcid": outcomes.skin_responder_mcid(base, follow, mcid=t.skin_mcid),
    }


def _delta(frame: pd.DataFrame, name: str) -> pd.Series:
    """Follow-up minus baseline of one field, as float64 (NaN if either is missing)."""
    return outcomes.change(_column(frame, name), frame[f"{name}_followup"])


def _criss(frame: pd.DataFrame, t: OutcomeThresholds) -> dict[str, pd.Series]:
    probability = outcomes.criss(
        delta_mrss=outcomes.delta_mrss(baseline_mrss(frame), frame["mrss_total_followup"]),
        delta_fvc_pct_pred=_delta(frame, "fvc_pct_pred"),
        delta_patient_global=_delta(frame, "patient_global"),
        delta_physician_global=_delta(frame, "physician_global"),
        delta_haq_di=_delta(frame, "haq_di"),
        organ_event=_column(frame, "criss_organ_event_followup"),
    )
    improved = outcomes.criss_improved(probability, threshold=t.criss_improved)
    return {"criss": probability, "criss_improved": improved}


def _paired_outcomes(frame: pd.DataFrame, t: OutcomeThresholds) -> dict[str, pd.Series]:
    added = {}
    if _has(frame, "raynaud_condition_score_followup"):
        added["raynaud_responder"] = outcomes.raynaud_responder(
            _column(frame, "raynaud_condition_score"),
            frame["raynaud_condition_score_followup"],
            mid=t.rcs_mid,
        )
    if _has(frame, "haq_di_followup"):
        added["haq_responder"] = outcomes.haq_responder(
            _column(frame, "haq_di"), frame["haq_di_followup"], mid=t.haq_mid
        )
    return added


def _morphology(frame: pd.DataFrame, t: OutcomeThresholds) -> dict[str, pd.Series]:
    other = ("microvessel_density_per_mm2_followup", "epidermal_thickness_um_followup")
    if not _has(frame, "fibrosis_grade_followup") or not any(_has(frame, n) for n in other):
        return {}
    col = partial(_column, frame)
    responder = outcomes.morphological_responder(
        col("fibrosis_grade"),
        col("fibrosis_grade_followup"),
        col("microvessel_density_per_mm2"),
        col("microvessel_density_per_mm2_followup"),
        col("epidermal_thickness_um"),
        col("epidermal_thickness_um_followup"),
        require=t.morphology_require,
    )
    return {"morphological_responder": responder}


def add_outcome_columns(
    frame: pd.DataFrame, thresholds: OutcomeThresholds = OutcomeThresholds()
) -> pd.DataFrame:
    """A copy of ``frame`` with those :data:`OUTCOME_DERIVED_COLUMNS` its follow-up data allow.

    - mRSS outcomes need ``mrss_total_followup`` (baseline: ``mrss_total``, else the sites);
    - ``criss`` / ``criss_improved`` need the five follow-up fields of CRISS (mRSS, FVC,
      patient and physician globals, HAQ-DI); a missing organ event counts as no event;
    - ``raynaud_responder`` / ``haq_responder`` need their follow-up score;
    - ``morphological_responder`` needs the follow-up fibrosis grade and a follow-up vessel
      density or epidermal thickness.
    """
    added: dict[str, pd.Series] = {}
    if _has(frame, "mrss_total_followup"):
        added.update(_skin_outcomes(frame, thresholds))
    if _has(frame, *_CRISS_FOLLOWUP):
        added.update(_criss(frame, thresholds))
    added.update(_paired_outcomes(frame, thresholds))
    added.update(_morphology(frame, thresholds))
    out = frame.copy()
    for name in OUTCOME_DERIVED_COLUMNS:
        if name in added:
            out[name] = added[name]
    return out


def add_derived_columns(
    frame: pd.DataFrame, thresholds: OutcomeThresholds = OutcomeThresholds()
) -> pd.DataFrame:
    """Baseline indices, then the outcomes the follow-up columns allow (a copy)."""
    return add_outcome_columns(add_baseline_indices(frame), thresholds)
