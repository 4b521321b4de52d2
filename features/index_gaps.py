"""Which blank fields keep a clinical index from being exact, and what that means, in words.

For each patient and index (EScSG, revised EUSTAR, ACR/EULAR 2013) whose missing items leave a
range of scores (:mod:`features.index_formulas`): the range, whether the class (active / criteria
met) is decided anyway, and the blank dictionary fields whose presence could add points. The
result page shows "not assessable: 4 items missing" from these; :func:`index_warnings` gives the
sentences a prediction's warnings can carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features import index_formulas
from ssc_response.features.clinical_labels import label
from ssc_response.features.columns import model_columns
from ssc_response.features.index_columns import (
    INDEX_FIELDS,
    INDEX_NAMES,
    item_inputs,
    reported_score,
    score_range,
)


@dataclass(frozen=True)
class IndexGap:
    """One index of one patient with items missing: its range and the fields that could move it.

    ``missing`` are the blank dictionary fields whose presence could add points (a blank antibody
    when another is positive cannot); ``assessable`` whether the class is decided anyway.
    """

    index: str
    low: float
    high: float
    missing: tuple[str, ...]
    assessable: bool


def index_gaps(frame: pd.DataFrame) -> list[list[IndexGap]]:
    """Per record of ``frame`` (validated, dictionary columns), the indices with missing items."""
    columns = model_columns(frame)
    absent = np.full(len(frame), np.nan)
    inputs = item_inputs(lambda name: columns.get(name, absent))
    gaps: list[list[IndexGap]] = [[] for _ in range(len(frame))]
    for index, names in INDEX_FIELDS.items():
        scores = score_range(index, inputs)
        low, high = np.asarray(scores.low, float), np.asarray(scores.high, float)
        decided = ~np.isnan(reported_score(index, inputs))
        could_add = {name: _could_add(index, inputs, name, low) for name in names}
        for row in np.flatnonzero(low < high):
            missing = tuple(name for name in names if could_add[name][row])
            gaps[row].append(IndexGap(index, float(low[row]), float(high[row]), missing,
                                      bool(decided[row])))
    return gaps


def _could_add(index: str, inputs: dict[str, np.ndarray], name: str,
               low: np.ndarray) -> np.ndarray:
    """Where ``name`` is blank and recording it as present would add points to the recorded
    ones (a blank antibody beside a positive one would not: the category counts once)."""
    blank = np.isnan(inputs[name])
    if not blank.any():
        return blank
    present_value = _PRESENT_VALUES.get(name, 1.0)
    recorded = {**inputs, name: np.where(blank, present_value, inputs[name])}
    return blank & (np.asarray(score_range(index, recorded).low, float) > low)


# A value beyond each measured item's cut-off (mRSS > 14/18, DLCO < 70/80, ESR > 30, CRP > 10).
_PRESENT_VALUES = {"mrss_total": 51.0, "dlco_pct_pred": 0.0, "esr_mm_h": 150.0, "crp_mg_l": 500.0}


def index_warnings(frame: pd.DataFrame) -> list[list[str]]:
    """Per record, one sentence per index with missing items, naming them in clinical words:
    "EScSG activity index not assessable: 4 items missing (ESR, DLCO, ...); the score could be
    1 to 5.5 points, on both sides of the threshold of 3"."""
    return [[gap_sentence(gap) for gap in row] for row in index_gaps(frame)]


def gap_sentence(gap: IndexGap) -> str:
    """One index gap in words (see :func:`index_warnings`)."""
    count = len(gap.missing)
    items = f"{count} item{'s' if count != 1 else ''} missing"
    names = ", ".join(label(name) for name in gap.missing)
    if gap.assessable:
        klass = _CLASS_WORDS[gap.index][bool(_CLASSIFIED[gap.index](gap.low))]
        return (f"{INDEX_NAMES[gap.index]}: {items} ({names}); {klass} whatever they are "
                f"(at least {gap.low:g} points, at most {gap.high:g})")
    return (f"{INDEX_NAMES[gap.index]} not assessable: {items} ({names}); the score could be "
            f"{gap.low:g} to {gap.high:g} points, on both sides of the threshold of "
            f"{_THRESHOLDS[gap.index]:g}")


_THRESHOLDS = {"escsg_activity_index": index_formulas.ESCSG_THRESHOLD,
               "eustar_activity_index": index_formulas.EUSTAR_THRESHOLD,
               "acr_eular_2013_score": index_formulas.ACR_EULAR_2013_THRESHOLD}
# The index's own class rule (active / criteria met), applied to the recorded points.
_CLASSIFIED: dict[str, Callable[[float], Any]] = {
    "escsg_activity_index": index_formulas.escsg_active,
    "eustar_activity_index": index_formulas.eustar_active,
    "acr_eular_2013_score": index_formulas.acr_eular_2013_classified,
}
_CLASS_WORDS = {"escsg_activity_index": {True: "active", False: "not active"},
                "eustar_activity_index": {True: "active", False: "not active"},
                "acr_eular_2013_score": {True: "criteria met", False: "criteria not met"}}
