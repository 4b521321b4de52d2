"""Outcome definitions after transplantation: skin response, CRISS, Raynaud's, HAQ, histology.

Pure, vectorised calculators (same input and output conventions as :mod:`features.index_formulas`).
Δ is follow-up minus baseline, so a **negative ΔmRSS is an improvement** (§9.7). Every threshold
is a keyword parameter whose default is the published one (§1.2, §5, §7.3, §10.3).

Missing inputs: an outcome whose required inputs are missing is NaN (numbers) or ``<NA>``
(yes/no results).

Rounding: a difference that lies within ``TOLERANCE`` (1e-9) of a cut-off counts as exactly on
it. Scores are entered with at most a few decimals, but their binary differences are not exact
(4.1 - 2.7 = 1.3999999999999995, not 1.4), so a patient exactly on a published cut-off would
otherwise fall either side of it by accident.

Sections and keys such as ``§5 [S47]`` refer to ``shared/clinical-reference.md``.
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

__all__ = [
    "CRISS_COEFFICIENTS",
    "MORPHOLOGY_RULES",
    "TOLERANCE",
    "change",
    "criss",
    "criss_improved",
    "criss_logit",
    "delta_mrss",
    "haq_responder",
    "minimal_responder_decrease",
    "morphological_responder",
    "pct_change_mrss",
    "raynaud_responder",
    "skin_progressor",
    "skin_responder",
    "skin_responder_mcid",
]

TOLERANCE = 1e-9

# Published defaults, shared with features.derived_columns (the outcome columns).
SKIN_ABS_THRESHOLD_POINTS = 5.0  # EUSTAR "> 5 points" [S12], [S14]
SKIN_REL_THRESHOLD = 0.25  # EUSTAR ">= 25 %"
SKIN_MCID_POINTS = 5.0  # dcSSc MCID, SLS-I/II [S1]
CRISS_IMPROVED_THRESHOLD = 0.60  # [S50]
RCS_MID_POINTS = 1.4  # 14 on the 0-100 scale, Khanna 2010 [S88], on the 0-10 RCS
HAQ_MID_POINTS = 0.14  # upper end of 0.10-0.14, D-penicillamine trial [S10]
MORPHOLOGY_RULES: tuple[str, ...] = ("fibrosis_and_one", "all")


# ---------------------------------------------------------------------------------------------
# mRSS change (§1.2, §10.3)
# ---------------------------------------------------------------------------------------------


def _paired(baseline: ArrayInput, followup: ArrayInput) -> tuple[np.ndarray, np.ndarray]:
    return _as_float(baseline), _as_float(followup)


def change(baseline: ArrayInput, followup: ArrayInput) -> FloatResult:
    """Δ = follow-up − baseline of any score, in its units. NaN if either value is missing."""
    shape = _shape_of(baseline, followup)
    before, after = _paired(baseline, followup)
    return _float_result(after - before, shape)


def delta_mrss(mrss_baseline: ArrayInput, mrss_followup: ArrayInput) -> FloatResult:
    """ΔmRSS = follow-up − baseline, in points (negative = improvement). NaN if either missing."""
    return change(mrss_baseline, mrss_followup)


def pct_change_mrss(mrss_baseline: ArrayInput, mrss_followup: ArrayInput) -> FloatResult:
    """Percent change of mRSS, ``100 × Δ / baseline`` (§10.3); NaN when the baseline is 0."""
    shape = _shape_of(mrss_baseline, mrss_followup)
    baseline, followup = _paired(mrss_baseline, mrss_followup)
    change = np.full(np.broadcast(baseline, followup).shape, np.nan)
    np.divide(100.0 * (followup - baseline), baseline, out=change, where=baseline != 0)
    return _float_result(change, shape)


def _passes(change: np.ndarray, threshold: float, *, strict: bool) -> np.ndarray:
    """``change > threshold`` (strict) or ``>=``, a difference within TOLERANCE being on it."""
    if strict:
        return change > threshold + TOLERANCE
    return change >= threshold - TOLERANCE


def _large_change(
    baseline: np.ndarray,
    change: np.ndarray,
    abs_threshold: float,
    rel_threshold: float,
    strict: bool,
) -> np.ndarray:
    """EUSTAR rule on a change in the improving or worsening direction (positive = that way)."""
    # Multiplying the threshold instead of dividing by the baseline keeps a zero baseline finite.
    relative = change >= rel_threshold * baseline - TOLERANCE
    return _passes(change, abs_threshold, strict=strict) & relative


def skin_responder(
    mrss_baseline: ArrayInput,
    mrss_followup: ArrayInput,
    abs_threshold: float = SKIN_ABS_THRESHOLD_POINTS,
    rel_threshold: float = SKIN_REL_THRESHOLD,
    strict: bool = True,
) -> BoolResult:
    """EUSTAR skin improvement: mRSS decrease > 5 points AND >= 25 % of baseline (§1.2 [S12]).

    ``strict=False`` reads the absolute rule as ">= 5" as some trials do (§9.1); the relative
    rule is always ">=". A baseline of 0 is never a response. ``<NA>`` if either value is missing.
    """
    shape = _shape_of(mrss_baseline, mrss_followup)
    baseline, followup = _paired(mrss_baseline, mrss_followup)
    passed = _large_change(baseline, baseline - followup, abs_threshold, rel_threshold, strict)
    return _bool_result(passed & (baseline > 0), np.isnan(baseline) | np.isnan(followup), shape)


def minimal_responder_decrease(
    mrss_baseline: ArrayInput,
    abs_threshold: float = SKIN_ABS_THRESHOLD_POINTS,
    rel_threshold: float = SKIN_REL_THRESHOLD,
    strict: bool = True,
) -> FloatResult:
    """The smallest whole-point mRSS decrease that :func:`skin_responder` counts as a response.

    mRSS is a sum of 17 whole-point site scores, so a decrease is a whole number and every rule
    is a cut on the integer grid: "> 5 points" means a decrease of at least 6, ">= 5" at least
    5, and ">= 25 % of 22" at least 6 (5.5 rounded up). The response rule of a patient with
    baseline ``b`` is then ``decrease >= minimal_responder_decrease(b)`` exactly, for every
    whole-point follow-up (the test checks this against :func:`skin_responder` on the whole grid).
    Pass ``rel_threshold=0, strict=False`` for the MCID rule (:func:`skin_responder_mcid`).

    ``inf`` where no decrease counts (a baseline of 0 is never a response) and NaN where the
    baseline is missing. A decrease can never exceed the baseline, so a value above ``b`` means
    a response is impossible for that patient.
    """
    shape = _shape_of(mrss_baseline)
    baseline = _as_float(mrss_baseline)
    absolute = np.floor(abs_threshold + TOLERANCE) + 1 if strict else np.ceil(
        abs_threshold - TOLERANCE)
    relative = np.ceil(rel_threshold * baseline - TOLERANCE)
    needed = np.maximum(np.maximum(absolute, relative), 0.0)
    needed = np.where(baseline > 0, needed, np.inf)
    return _float_result(np.where(np.isnan(baseline), np.nan, needed), shape)


def skin_progressor(
    mrss_baseline: ArrayInput,
    mrss_followup: ArrayInput,
    abs_threshold: float = SKIN_ABS_THRESHOLD_POINTS,
    rel_threshold: float = SKIN_REL_THRESHOLD,
    strict: bool = True,
) -> BoolResult:
    """EUSTAR skin progression: mRSS increase > 5 points AND >= 25 % (§1.2 [S14], [S15]).

    Same parameters as :func:`skin_responder`. From a baseline of 0 any increase is an infinite
    relative increase, so only the absolute rule decides. ``<NA>`` if either value is missing.
    """
    shape = _shape_of(mrss_baseline, mrss_followup)
    baseline, followup = _paired(mrss_baseline, mrss_followup)
    passed = _large_change(baseline, followup - baseline, abs_threshold, rel_threshold, strict)
    return _bool_result(passed, np.isnan(baseline) | np.isnan(followup), shape)


def _decrease_of_at_least(before: ArrayInput, after: ArrayInput, amount: float) -> BoolResult:
    """``before - after >= amount`` (within TOLERANCE); ``<NA>`` if either value is missing."""
    shape = _shape_of(before, after)
    baseline, followup = _paired(before, after)
    passed = _passes(baseline - followup, amount, strict=False)
    return _bool_result(passed, np.isnan(baseline) | np.isnan(followup), shape)


def skin_responder_mcid(
    mrss_baseline: ArrayInput, mrss_followup: ArrayInput, mcid: float = SKIN_MCID_POINTS
) -> BoolResult:
    """mRSS decrease >= ``mcid`` points (dcSSc MCID 5 [S1]; 4.7 in faSScinate [S11])."""
    return _decrease_of_at_least(mrss_baseline, mrss_followup, mcid)


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
