"""Outcomes beside the skin score: CRISS, Raynaud's condition, HAQ-DI and skin histology.

Private to :mod:`features.outcomes`, which re-exports it (its docstring states the conventions).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from ssc_response.features._arrays import (
    ArrayInput,
    BoolResult,
    FloatResult,
    _as_flag,
    _as_float,
    _at_least,
    _bool_result,
    _float_result,
    _shape_of,
)
from ssc_response.features._outcome_skin import _decrease_of_at_least

CRISS_IMPROVED_THRESHOLD = 0.60  # [S50]
RCS_MID_POINTS = 1.4  # 14 on the 0-100 scale, Khanna 2010 [S88], on the 0-10 RCS
HAQ_MID_POINTS = 0.14  # upper end of 0.10-0.14, D-penicillamine trial [S10]
MORPHOLOGY_RULES: tuple[str, ...] = ("fibrosis_and_one", "all")

# ---------------------------------------------------------------------------------------------
# CRISS (§5)
# ---------------------------------------------------------------------------------------------

CRISS_COEFFICIENTS: Mapping[str, float] = MappingProxyType(
    {
        "intercept": -5.54,
        "delta_mrss": -0.81,
        "delta_fvc_pct_pred": 0.21,
        "delta_patient_global": -0.40,
        "delta_physician_global": -0.44,
        "delta_haq_di": -3.41,
    }
)


def criss_logit(
    delta_mrss: ArrayInput,
    delta_fvc_pct_pred: ArrayInput,
    delta_patient_global: ArrayInput,
    delta_physician_global: ArrayInput,
    delta_haq_di: ArrayInput,
) -> FloatResult:
    """CRISS step-2 linear predictor L (§5 [S47]); NaN if any Δ is missing.

    ``L = -5.54 - 0.81 ΔmRSS + 0.21 ΔFVC%pred - 0.40 ΔPtGlobal - 0.44 ΔMDGlobal - 3.41 ΔHAQ-DI``
    with Δ = follow-up − baseline; FVC in percentage points of predicted, globals on 0-10.
    """
    deltas = {
        "delta_mrss": delta_mrss,
        "delta_fvc_pct_pred": delta_fvc_pct_pred,
        "delta_patient_global": delta_patient_global,
        "delta_physician_global": delta_physician_global,
        "delta_haq_di": delta_haq_di,
    }
    shape = _shape_of(*deltas.values())
    terms = (CRISS_COEFFICIENTS[name] * _as_float(value) for name, value in deltas.items())
    logit = CRISS_COEFFICIENTS["intercept"] + sum(terms, np.zeros(()))
    return _float_result(logit, shape)


def criss(
    delta_mrss: ArrayInput,
    delta_fvc_pct_pred: ArrayInput,
    delta_patient_global: ArrayInput,
    delta_physician_global: ArrayInput,
    delta_haq_di: ArrayInput,
    organ_event: ArrayInput = False,
) -> FloatResult:
    """ACR CRISS: predicted probability of improvement, 0-1 (Khanna 2016, §5 [S47], [S48]).

    Step 1: a new or worsening SSc organ event during follow-up (renal crisis; FVC decline
    >= 15 % relative to < 80 %; LVEF <= 45 %; PAH) forces 0.0 whatever the other items show.
    Step 2: ``exp(L) / (1 + exp(L))`` with L from :func:`criss_logit`.

    ``organ_event`` is a yes/no item: missing counts as no event (events are reported when
    they happen). The result is NaN when there is no event and any Δ is missing.
    """
    shape = _shape_of(
        delta_mrss,
        delta_fvc_pct_pred,
        delta_patient_global,
        delta_physician_global,
        delta_haq_di,
        organ_event,
    )
    logit = _as_float(
        criss_logit(
            delta_mrss,
            delta_fvc_pct_pred,
            delta_patient_global,
            delta_physician_global,
            delta_haq_di,
        )
    )
    # exp(-log(1 + exp(-L))) is the logistic function without overflow for large |L|;
    # a missing Δ makes L NaN, which is the intended result, not a numerical accident.
    with np.errstate(invalid="ignore"):
        probability = np.exp(-np.logaddexp(0.0, -logit))
    return _float_result(np.where(_as_flag(organ_event), 0.0, probability), shape)


def criss_improved(criss: ArrayInput, threshold: float = CRISS_IMPROVED_THRESHOLD) -> BoolResult:
    """Improved by CRISS: ``criss >= threshold`` (0.60, [S50]). Missing -> ``<NA>``."""
    return _at_least(criss, threshold, inclusive=True)


# ---------------------------------------------------------------------------------------------
# Raynaud's and function (§7.3)
# ---------------------------------------------------------------------------------------------


def raynaud_responder(
    rcs_baseline: ArrayInput, rcs_followup: ArrayInput, mid: float = RCS_MID_POINTS
) -> BoolResult:
    """Raynaud's Condition Score (0-10) decrease >= ``mid`` points (§7.3).

    The published MID is 14 points on a 0-100 scale (Khanna 2010 [S88]); 1.4 on the
    0-10 score of the data dictionary.
    """
    return _decrease_of_at_least(rcs_baseline, rcs_followup, mid)


def haq_responder(
    haq_baseline: ArrayInput, haq_followup: ArrayInput, mid: float = HAQ_MID_POINTS
) -> BoolResult:
    """HAQ-DI (0-3) decrease >= ``mid`` points (MID 0.10-0.14, §7.3 [S10], [S72])."""
    return _decrease_of_at_least(haq_baseline, haq_followup, mid)


# ---------------------------------------------------------------------------------------------
# Skin histology (§7.1)
# ---------------------------------------------------------------------------------------------

# Three-valued logic on (value, missing) pairs, as SQL / pandas "boolean" do.
_Tri = tuple[np.ndarray, np.ndarray]


def _rose(before: ArrayInput, after: ArrayInput) -> _Tri:
    low, high = _as_float(before), _as_float(after)
    return high > low, np.isnan(low) | np.isnan(high)


def _and(a: _Tri, b: _Tri) -> _Tri:
    known_false = (~a[0] & ~a[1]) | (~b[0] & ~b[1])
    return a[0] & b[0] & ~a[1] & ~b[1], (a[1] | b[1]) & ~known_false


def _or(a: _Tri, b: _Tri) -> _Tri:
    known_true = (a[0] & ~a[1]) | (b[0] & ~b[1])
    return known_true, (a[1] | b[1]) & ~known_true


def morphological_responder(
    fibrosis_grade_baseline: ArrayInput,
    fibrosis_grade_followup: ArrayInput,
    microvessel_density_baseline: ArrayInput,
    microvessel_density_followup: ArrayInput,
    epidermal_thickness_baseline_um: ArrayInput,
    epidermal_thickness_followup_um: ArrayInput,
    require: str = "fibrosis_and_one",
) -> BoolResult:
    """Histological response between baseline and follow-up skin biopsies (§7.1).

    Fibrosis grade (1-3, Verrecchia 2007 [S74]) must fall. With ``require="fibrosis_and_one"``
    (default) either CD31 microvessel density (vessels/mm²) or epidermal thickness (µm) must
    also rise: after HSCT fibrosis fell while vessel density stayed unchanged ([S29]; only
    5/7 patients regained capillaries [S77]), so demanding both would miss real responders.
    Epidermal thickening counts as recovery from the epithelial atrophy of SSc skin.
    ``require="all"`` demands all three.

    Changes are strict (any fall / rise). Missing pairs follow three-valued logic: the result is
    ``<NA>`` only when the known changes cannot decide it (e.g. fibrosis unchanged -> False
    whatever the vessels show).
    """
    if require not in MORPHOLOGY_RULES:
        raise ValueError(f"require must be one of {MORPHOLOGY_RULES}, got {require!r}")
    shape = _shape_of(
        fibrosis_grade_baseline,
        fibrosis_grade_followup,
        microvessel_density_baseline,
        microvessel_density_followup,
        epidermal_thickness_baseline_um,
        epidermal_thickness_followup_um,
    )
    fibrosis_fell = _rose(fibrosis_grade_followup, fibrosis_grade_baseline)
    vessels_rose = _rose(microvessel_density_baseline, microvessel_density_followup)
    epidermis_rose = _rose(epidermal_thickness_baseline_um, epidermal_thickness_followup_um)
    combine = _and if require == "all" else _or
    value, missing = _and(fibrosis_fell, combine(vessels_rose, epidermis_rose))
    return _bool_result(value, missing, shape)
