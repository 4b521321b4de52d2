"""Clinical indices of systemic sclerosis: mRSS total, EScSG, revised EUSTAR, ACR/EULAR 2013.

Pure, vectorised calculators with units in their parameter names. Each accepts scalars, sequences,
numpy arrays or pandas Series (``float64``, ``Int64``, ``boolean`` or ``bool`` dtypes) and
returns a Python scalar for all-scalar input, a numpy ``float64`` array (or a pandas
``BooleanArray`` for yes/no results, which may be ``<NA>``) for array input, and a Series on the
shared index for Series input.

Missing items: an item whose input is missing (NaN, ``pd.NA`` or ``None``) may be present or
absent, so an index with missing items is a range of scores (``*_range``: :class:`ScoreRange`,
low = every missing item absent, high = every missing item present). An index reports the score of
its recorded items (the range's low end) when that range lies wholly on one side of its class
threshold (active / criteria met), so the class is decided whatever the missing items are; else
it is NaN ("not assessable"), and so is its class. The low end is then a lower bound, which
callers name with the missing items (:mod:`features.index_columns`).
Cut-offs on raw measurements (mRSS > 14, ESR > 30 mm/h, ...) are compared exactly: no arithmetic
comes between the measurement and the comparison, so no rounding tolerance is needed.

Sections and keys such as ``§2 [S34]`` refer to ``shared/clinical-reference.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from types import MappingProxyType

import numpy as np
import pandas as pd

from ssc_response.features._arrays import (
    ArrayInput,
    BoolResult,
    FloatResult,
    ScoreRange,
    _above_item,
    _any_item,
    _as_float,
    _at_least,
    _below_item,
    _bool_result,
    _decided_score,
    _flag_item,
    _float_result,
    _range_of,
    _shape_of,
)
from ssc_response.features.schema import MRSS_SITE_FIELDS

__all__ = [
    "ACR_EULAR_2013_THRESHOLD",
    "ACR_EULAR_2013_WEIGHTS",
    "ESCSG_THRESHOLD",
    "EUSTAR_THRESHOLD",
    "ESCSG_WEIGHTS",
    "EUSTAR_WEIGHTS",
    "ScoreRange",
    "acr_eular_2013_classified",
    "acr_eular_2013_range",
    "acr_eular_2013_score",
    "escsg_active",
    "escsg_activity_index",
    "escsg_activity_range",
    "eustar_active",
    "eustar_activity_index",
    "eustar_activity_range",
    "hypocomplementemia_from_complement",
    "mrss_total_from_sites",
    "mrss_total_of_scores",
]

# ---------------------------------------------------------------------------------------------
# mRSS (§1.1)
# ---------------------------------------------------------------------------------------------


def mrss_total_from_sites(sites: pd.DataFrame) -> pd.Series:
    """Modified Rodnan skin score total (0-51): the sum of the 17 site scores (§1.1 [S1], [S3]).

    Parameters
    ----------
    sites : DataFrame
        The 17 ``mrss_<site>`` columns of ``features.schema.MRSS_SITE_FIELDS`` (points, 0-3).

    Returns
    -------
    Series of float64 on ``sites.index``; NaN where any site score is missing, because a partial
    sum would understate the total.
    """
    absent = [name for name in MRSS_SITE_FIELDS if name not in sites.columns]
    if absent:
        raise KeyError(f"mrss_total_from_sites needs all 17 site columns; missing {absent}")
    scores = np.column_stack([_as_float(sites[name]) for name in MRSS_SITE_FIELDS])
    return pd.Series(mrss_total_of_scores(scores), index=sites.index, name="mrss_total",
                     dtype="float64")


def mrss_total_of_scores(scores: np.ndarray) -> np.ndarray:
    """The totals of a (patients x 17) array of site scores in
    :data:`features.schema.MRSS_SITE_FIELDS` order: NaN where any site is missing."""
    return np.asarray(scores, dtype="float64").sum(axis=1)


# ---------------------------------------------------------------------------------------------
# EScSG (Valentini) whole-series activity index (§2)
# ---------------------------------------------------------------------------------------------

ESCSG_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "mrss_gt14": 1.0,
        "scleredema": 0.5,
        "delta_skin": 2.0,
        "digital_necrosis": 0.5,
        "delta_vascular": 0.5,
        "arthritis": 0.5,
        "dlco_lt80": 0.5,
        "delta_cardiopulmonary": 2.0,
        "esr_gt30": 1.5,
        "hypocomplementemia": 1.0,
    }
)


ESCSG_THRESHOLD = 3.0  # active if >= 3 [S35] (§2.1, §9.2)


def escsg_activity_range(
    mrss_total: ArrayInput,
    scleredema: ArrayInput,
    delta_skin: ArrayInput,
    digital_necrosis: ArrayInput,
    delta_vascular: ArrayInput,
    arthritis: ArrayInput,
    dlco_pct_pred: ArrayInput,
    delta_cardiopulmonary: ArrayInput,
    esr_mm_h: ArrayInput,
    hypocomplementemia: ArrayInput,
) -> ScoreRange:
    """EScSG (Valentini 2001/2003) whole-series disease activity index, 0-10 (§2.1 [S34], [S35]):
    the range of scores its missing items allow (equal ends when none is missing).

    Points: mRSS > 14: 1; scleredema 0.5; Δskin 2; digital necrosis (active ulcers) 0.5;
    Δvascular 0.5; arthritis 0.5; DLCO < 80 % predicted 0.5; Δcardiopulmonary 2;
    ESR > 30 mm/h 1.5; hypocomplementaemia 1. All cut-offs are strict. Δ items are the patient's
    report of worsening in the month before the visit.

    Parameters
    ----------
    mrss_total : points (0-51).
    scleredema, delta_skin, digital_necrosis, delta_vascular, arthritis, delta_cardiopulmonary,
    hypocomplementemia : yes/no items.
    dlco_pct_pred : DLCO, % predicted.
    esr_mm_h : ESR, mm/h (Westergren).
    """
    values = (mrss_total, scleredema, delta_skin, digital_necrosis, delta_vascular, arthritis,
              dlco_pct_pred, delta_cardiopulmonary, esr_mm_h, hypocomplementemia)
    items = {
        "mrss_gt14": _above_item(mrss_total, 14.0),
        "scleredema": _flag_item(scleredema),
        "delta_skin": _flag_item(delta_skin),
        "digital_necrosis": _flag_item(digital_necrosis),
        "delta_vascular": _flag_item(delta_vascular),
        "arthritis": _flag_item(arthritis),
        "dlco_lt80": _below_item(dlco_pct_pred, 80.0),
        "delta_cardiopulmonary": _flag_item(delta_cardiopulmonary),
        "esr_gt30": _above_item(esr_mm_h, 30.0),
        "hypocomplementemia": _flag_item(hypocomplementemia),
    }
    return _range_of(items, ESCSG_WEIGHTS, _shape_of(*values))


def escsg_activity_index(
    mrss_total: ArrayInput,
    scleredema: ArrayInput,
    delta_skin: ArrayInput,
    digital_necrosis: ArrayInput,
    delta_vascular: ArrayInput,
    arthritis: ArrayInput,
    dlco_pct_pred: ArrayInput,
    delta_cardiopulmonary: ArrayInput,
    esr_mm_h: ArrayInput,
    hypocomplementemia: ArrayInput,
    *,
    threshold: float = ESCSG_THRESHOLD,
    inclusive: bool = True,
) -> FloatResult:
    """EScSG activity index in points (items and parameters: :func:`escsg_activity_range`).

    With every item recorded, the score. With items missing, the points of the recorded items
    when the missing ones cannot change the class at ``threshold`` (``>=``, or ``>`` if not
    ``inclusive``; pass the threshold :func:`escsg_active` will use), else NaN: not assessable.
    """
    scores = escsg_activity_range(
        mrss_total, scleredema, delta_skin, digital_necrosis, delta_vascular, arthritis,
        dlco_pct_pred, delta_cardiopulmonary, esr_mm_h, hypocomplementemia)
    return _decided_score(scores, threshold, inclusive, _shape_of(scores.low))


def escsg_active(index: ArrayInput, threshold: float = ESCSG_THRESHOLD,
                 inclusive: bool = True) -> BoolResult:
    """Active disease by the EScSG index: ``index >= threshold`` (``>`` if not ``inclusive``).

    The EHR form says "active if >= 3" [S35]; Valentini 2003 part III compared > 3 [S37]
    (§2.1, §9.2). The weights are multiples of 0.5, so sums are exact and need no tolerance.
    A missing index gives ``<NA>``.
    """
    return _at_least(index, threshold, inclusive=inclusive)


# ---------------------------------------------------------------------------------------------
# Revised EUSTAR activity index, Valentini 2017 (§3)
# ---------------------------------------------------------------------------------------------

EUSTAR_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "delta_skin": 1.5,
        "mrss_gt18": 1.5,
        "digital_ulcers": 1.5,
        "tendon_friction_rubs": 2.25,
        "crp_gt1_mg_dl": 2.25,
        "dlco_lt70": 1.0,
    }
)
MG_L_PER_MG_DL = 10.0
EUSTAR_CRP_CUTOFF_MG_DL = 1.0
EUSTAR_THRESHOLD = 2.5  # active if >= 2.5 [S39a] (§3)


def eustar_activity_range(
    delta_skin: ArrayInput,
    mrss_total: ArrayInput,
    digital_ulcers: ArrayInput,
    tendon_friction_rubs: ArrayInput,
    crp_mg_l: ArrayInput,
    dlco_pct_pred: ArrayInput,
) -> ScoreRange:
    """Revised EUSTAR activity index (Valentini 2017), 0-10 (§3 [S39a], [S39b]): the range of
    scores its missing items allow.

    Points: Δskin 1.5; mRSS > 18: 1.5; digital ulcers 1.5; tendon friction rubs 2.25;
    CRP > 1 mg/dL 2.25; DLCO < 70 % predicted 1.0. All cut-offs are strict.

    Parameters
    ----------
    delta_skin, digital_ulcers, tendon_friction_rubs : yes/no items.
    mrss_total : points (0-51).
    crp_mg_l : CRP in **mg/L**; the published rule is > 1 mg/dL, i.e. > 10 mg/L (§9.3).
    dlco_pct_pred : DLCO, % predicted.
    """
    values = (delta_skin, mrss_total, digital_ulcers, tendon_friction_rubs, crp_mg_l,
              dlco_pct_pred)
    # Compare in mg/L against 10.0 rather than dividing the input: 10 mg/L stays exactly 10.
    crp_cutoff_mg_l = EUSTAR_CRP_CUTOFF_MG_DL * MG_L_PER_MG_DL
    items = {
        "delta_skin": _flag_item(delta_skin),
        "mrss_gt18": _above_item(mrss_total, 18.0),
        "digital_ulcers": _flag_item(digital_ulcers),
        "tendon_friction_rubs": _flag_item(tendon_friction_rubs),
        "crp_gt1_mg_dl": _above_item(crp_mg_l, crp_cutoff_mg_l),
        "dlco_lt70": _below_item(dlco_pct_pred, 70.0),
    }
    return _range_of(items, EUSTAR_WEIGHTS, _shape_of(*values))


def eustar_activity_index(
    delta_skin: ArrayInput,
    mrss_total: ArrayInput,
    digital_ulcers: ArrayInput,
    tendon_friction_rubs: ArrayInput,
    crp_mg_l: ArrayInput,
    dlco_pct_pred: ArrayInput,
    *,
    threshold: float = EUSTAR_THRESHOLD,
) -> FloatResult:
    """Revised EUSTAR activity index in points (items: :func:`eustar_activity_range`).

    With items missing, the points of the recorded items when the missing ones cannot change
    the class at ``threshold`` (``>=``), else NaN: not assessable.
    """
    scores = eustar_activity_range(delta_skin, mrss_total, digital_ulcers,
                                   tendon_friction_rubs, crp_mg_l, dlco_pct_pred)
    return _decided_score(scores, threshold, True, _shape_of(scores.low))


def eustar_active(index: ArrayInput, threshold: float = EUSTAR_THRESHOLD) -> BoolResult:
    """Active disease by the revised EUSTAR index: ``index >= threshold`` (§3 [S39a]).

    The weights are multiples of 0.25, so sums such as 1.5 + 1.0 are exactly 2.5.
    A missing index gives ``<NA>``.
    """
    return _at_least(index, threshold, inclusive=True)


# ---------------------------------------------------------------------------------------------
# ACR/EULAR 2013 classification criteria (§4)
# ---------------------------------------------------------------------------------------------

ACR_EULAR_2013_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "skin_thickening_proximal_mcp": 9.0,
        "puffy_fingers": 2.0,
        "sclerodactyly": 4.0,
        "digital_tip_ulcers": 2.0,
        "pitting_scars": 3.0,
        "telangiectasia": 2.0,
        "abnormal_nailfold_capillaries": 2.0,
        "pah_or_ild": 2.0,
        "raynaud_phenomenon": 3.0,
        "ssc_autoantibody": 3.0,
    }
)


ACR_EULAR_2013_THRESHOLD = 9.0  # definite SSc if >= 9 [S44] (§4)
# Within a category only the highest weight counts (§4).
_ACR_CATEGORIES: tuple[tuple[str, ...], ...] = (
    ("skin_thickening_proximal_mcp", "puffy_fingers", "sclerodactyly"),
    ("digital_tip_ulcers", "pitting_scars"),
    ("telangiectasia",),
    ("abnormal_nailfold_capillaries",),
    ("pah_or_ild",),
    ("raynaud_phenomenon",),
    ("ssc_autoantibody",),
)


def _category_max(points: Mapping[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """Highest weight among the (present or possible) items of one category (0 if none)."""
    weighted = (ACR_EULAR_2013_WEIGHTS[name] * points[name] for name in names)
    return np.asarray(reduce(np.maximum, weighted), dtype="float64")


def acr_eular_2013_range(
    skin_thickening_proximal_mcp: ArrayInput,
    puffy_fingers: ArrayInput,
    sclerodactyly: ArrayInput,
    digital_tip_ulcers: ArrayInput,
    pitting_scars: ArrayInput,
    telangiectasia: ArrayInput,
    abnormal_nailfold_capillaries: ArrayInput,
    pah: ArrayInput,
    ild: ArrayInput,
    raynaud_phenomenon: ArrayInput,
    anti_centromere: ArrayInput,
    anti_topo1: ArrayInput,
    anti_rnap3: ArrayInput,
) -> ScoreRange:
    """ACR/EULAR 2013 classification score for SSc, 0-24 (§4 [S44]): the range of scores its
    missing findings allow.

    The sum of the highest weight in each category. Skin thickening proximal to the MCPs (the
    sufficient criterion, 9) shares one category with puffy fingers (2) and sclerodactyly (4),
    the common convention of §4; fingertip lesions: tip ulcers 2, pitting scars 3;
    telangiectasia 2; abnormal nailfold capillaries 2; PAH and/or ILD 2; Raynaud's 3;
    anticentromere / anti-topoisomerase I / anti-RNA polymerase III 3. All parameters are
    yes/no findings.
    """
    values = (skin_thickening_proximal_mcp, puffy_fingers, sclerodactyly, digital_tip_ulcers,
              pitting_scars, telangiectasia, abnormal_nailfold_capillaries, pah, ild,
              raynaud_phenomenon, anti_centromere, anti_topo1, anti_rnap3)
    flag = _flag_item
    items = {
        "skin_thickening_proximal_mcp": flag(skin_thickening_proximal_mcp),
        "puffy_fingers": flag(puffy_fingers),
        "sclerodactyly": flag(sclerodactyly),
        "digital_tip_ulcers": flag(digital_tip_ulcers),
        "pitting_scars": flag(pitting_scars),
        "telangiectasia": flag(telangiectasia),
        "abnormal_nailfold_capillaries": flag(abnormal_nailfold_capillaries),
        "pah_or_ild": _any_item(flag(pah), flag(ild)),
        "raynaud_phenomenon": flag(raynaud_phenomenon),
        "ssc_autoantibody": _any_item(flag(anti_centromere), flag(anti_topo1), flag(anti_rnap3)),
    }
    shape = _shape_of(*values)
    present = {name: item.present for name, item in items.items()}
    possible = {name: item.possible for name, item in items.items()}
    low = sum(_category_max(present, names) for names in _ACR_CATEGORIES)
    high = sum(_category_max(possible, names) for names in _ACR_CATEGORIES)
    return ScoreRange(_float_result(np.asarray(low, dtype="float64"), shape),
                      _float_result(np.asarray(high, dtype="float64"), shape))


def acr_eular_2013_score(
    skin_thickening_proximal_mcp: ArrayInput,
    puffy_fingers: ArrayInput,
    sclerodactyly: ArrayInput,
    digital_tip_ulcers: ArrayInput,
    pitting_scars: ArrayInput,
    telangiectasia: ArrayInput,
    abnormal_nailfold_capillaries: ArrayInput,
    pah: ArrayInput,
    ild: ArrayInput,
    raynaud_phenomenon: ArrayInput,
    anti_centromere: ArrayInput,
    anti_topo1: ArrayInput,
    anti_rnap3: ArrayInput,
    *,
    threshold: float = ACR_EULAR_2013_THRESHOLD,
) -> FloatResult:
    """ACR/EULAR 2013 score in points (findings: :func:`acr_eular_2013_range`).

    With findings missing, the points of the recorded findings when the missing ones cannot
    change whether the criteria are met (``>= threshold``), else NaN: not assessable.
    """
    scores = acr_eular_2013_range(
        skin_thickening_proximal_mcp, puffy_fingers, sclerodactyly, digital_tip_ulcers,
        pitting_scars, telangiectasia, abnormal_nailfold_capillaries, pah, ild,
        raynaud_phenomenon, anti_centromere, anti_topo1, anti_rnap3)
    return _decided_score(scores, threshold, True, _shape_of(scores.low))


def acr_eular_2013_classified(score: ArrayInput,
                              threshold: float = ACR_EULAR_2013_THRESHOLD) -> BoolResult:
    """Definite SSc by ACR/EULAR 2013: ``score >= threshold`` (§4 [S44]). Missing -> ``<NA>``."""
    return _at_least(score, threshold, inclusive=True)


# ---------------------------------------------------------------------------------------------
# Complement (EScSG item)
# ---------------------------------------------------------------------------------------------


def hypocomplementemia_from_complement(
    c3_g_l: ArrayInput,
    c4_g_l: ArrayInput,
    c3_lower_limit_g_l: float = 0.9,
    c4_lower_limit_g_l: float = 0.1,
) -> BoolResult:
    """Low C3 **or** low C4 (EScSG item, §2.1 [S34]); limits in g/L, strict ``<``.

    Three-valued, as for "or" with unknowns: True if any *known* value is below its limit
    (one low component suffices); False only when both are known and normal; ``<NA>`` otherwise
    (both missing, or one normal and the other missing), because the missing one might be low.
    """
    shape = _shape_of(c3_g_l, c4_g_l)
    c3, c4 = _as_float(c3_g_l), _as_float(c4_g_l)
    low = (c3 < c3_lower_limit_g_l) | (c4 < c4_lower_limit_g_l)
    both_normal = (c3 >= c3_lower_limit_g_l) & (c4 >= c4_lower_limit_g_l)
    return _bool_result(low, ~(low | both_normal), shape)
