"""EScSG (Valentini) whole-series activity index (§2) and its complement item, public through
:mod:`features.index_formulas`.

Input and output conventions, and the score ranges of items left missing:
:mod:`features.index_formulas`. Sections and keys such as ``§2.1 [S34]`` refer to
``shared/clinical-reference.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ssc_response.features._arrays import (
    ArrayInput,
    BoolResult,
    FloatResult,
    ScoreRange,
    _above_item,
    _as_float,
    _at_least,
    _below_item,
    _bool_result,
    _decided_score,
    _flag_item,
    _range_of,
    _shape_of,
)

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
