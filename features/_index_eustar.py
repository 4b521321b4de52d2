"""Revised EUSTAR activity index, Valentini 2017 (§3), public through
:mod:`features.index_formulas`.

Input and output conventions, and the score ranges of items left missing:
:mod:`features.index_formulas`. Sections and keys such as ``§3 [S39a]`` refer to
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
    _at_least,
    _below_item,
    _decided_score,
    _flag_item,
    _range_of,
    _shape_of,
)

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
