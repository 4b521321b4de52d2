"""ACR/EULAR 2013 classification criteria for SSc (§4), public through
:mod:`features.index_formulas`.

Input and output conventions, and the score ranges of findings left missing:
:mod:`features.index_formulas`. Sections and keys such as ``§4 [S44]`` refer to
``shared/clinical-reference.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from types import MappingProxyType

import numpy as np

from ssc_response.features._arrays import (
    ArrayInput,
    BoolResult,
    FloatResult,
    ScoreRange,
    _any_item,
    _at_least,
    _decided_score,
    _flag_item,
    _float_result,
    _shape_of,
)

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
