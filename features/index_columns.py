"""Baseline clinical indices of a cohort or a batch of records, from data-dictionary fields.

Input columns are those of ``features/data_dictionary.csv``; any optional column may be absent
and is then treated as all-missing. The input frame is never modified.

Missing items (:mod:`features.index_formulas`): an index is its recorded items' points when the
missing ones cannot change its class (active / criteria met), else NaN ("not assessable"), and
its ``*_active`` flag is then ``<NA>``. :func:`index_gaps` names, per patient and index, the
blank fields that could still add points; :func:`index_warnings` words them.

The model (``derived_indices: true`` only; the default core does not read the indices) sees the
same values in training and at prediction: an undecided index is a missing number, filled by the
model's own imputer, which is fitted inside every resample like that of any other field.

Data mapping (dictionary field -> calculator item):

- EScSG digital necrosis, EUSTAR digital ulcers and ACR/EULAR digital tip ulcers <-
  ``digital_ulcers_active``; ACR/EULAR pitting scars <- ``digital_pitting_scars``;
  ACR/EULAR ILD <- ``ild_on_hrct``.
- ACR/EULAR abnormal nailfold capillaries <- ``nvc_pattern`` in {early, active, late}, the
  Cutolo "scleroderma patterns" (§7.2); "normal" and "nonspecific" are not SSc patterns; a
  blank pattern is a missing finding.

:func:`baseline_index_values` is the one definition, on float arrays; the model's ``indices``
step (:class:`features.pipeline.ClinicalIndices`) and cohort tables
(:func:`add_baseline_indices`) both call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features import index_formulas
from ssc_response.features.clinical_labels import label
from ssc_response.features.columns import model_columns, numeric_block
from ssc_response.features.schema import MRSS_SITE_FIELDS

ArrayLike = Any  # numpy arrays or pandas arrays
Column = Callable[[str], ArrayLike]  # field name -> its values (all-missing when absent)

BASELINE_DERIVED_COLUMNS: tuple[str, ...] = (
    "mrss_total",
    "hypocomplementemia",
    "escsg_activity_index",
    "escsg_active",
    "eustar_activity_index",
    "eustar_active",
    "acr_eular_2013_score",
)
SSC_NVC_PATTERNS: tuple[str, ...] = ("early", "active", "late")


def _given_else(given: np.ndarray, computed: np.ndarray) -> np.ndarray:
    """The given value where there is one, else the computed one."""
    return np.where(np.isnan(given), computed, given)


def _flag_values(flags: ArrayLike) -> np.ndarray:
    """A three-valued flag (True / False / <NA>) as 1.0 / 0.0 / NaN."""
    return np.asarray(pd.array(flags, dtype="boolean").to_numpy(dtype="float64", na_value=np.nan))


def _filled_mrss(col: Column) -> np.ndarray:
    """Baseline mRSS: the given total, else the sum of the 17 site scores."""
    sites = np.column_stack([col(name) for name in MRSS_SITE_FIELDS])
    return _given_else(col("mrss_total"), index_formulas.mrss_total_of_scores(sites))


def baseline_mrss(frame: pd.DataFrame) -> pd.Series:
    """Baseline mRSS of a cohort frame (the given total, else the sum of the 17 sites), as
    float64 on its index: the baseline of the mRSS outcomes."""
    names = ["mrss_total", *MRSS_SITE_FIELDS]
    values = dict(zip(names, numeric_block(frame, names).T, strict=True))
    return pd.Series(_filled_mrss(values.__getitem__), index=frame.index, dtype="float64")


# The dictionary fields each index reads, after mrss_total and hypocomplementemia are filled.
INDEX_FIELDS: dict[str, tuple[str, ...]] = {
    "escsg_activity_index": (
        "mrss_total", "scleredema", "delta_skin", "digital_ulcers_active", "delta_vascular",
        "arthritis", "dlco_pct_pred", "delta_cardiopulmonary", "esr_mm_h", "hypocomplementemia"),
    "eustar_activity_index": (
        "delta_skin", "mrss_total", "digital_ulcers_active", "tendon_friction_rubs", "crp_mg_l",
        "dlco_pct_pred"),
    "acr_eular_2013_score": (
        "skin_thickening_proximal_mcp", "puffy_fingers", "sclerodactyly", "digital_ulcers_active",
        "digital_pitting_scars", "telangiectasia", "nvc_pattern", "pah", "ild_on_hrct",
        "raynaud_phenomenon", "anti_centromere", "anti_topo1", "anti_rnap3"),
}
INDEX_NAMES: dict[str, str] = {
    "escsg_activity_index": "EScSG activity index",
    "eustar_activity_index": "Revised EUSTAR activity index",
    "acr_eular_2013_score": "ACR/EULAR 2013 classification score",
}


def _item_inputs(col: Column) -> dict[str, np.ndarray]:
    """Every field of :data:`INDEX_FIELDS` as float64 (1/0/NaN for yes/no findings): mRSS and
    hypocomplementaemia filled (:func:`baseline_index_values`), the capillaroscopy pattern as
    "abnormal nailfold capillaries"."""
    names = {name for fields in INDEX_FIELDS.values() for name in fields}
    inputs = {name: np.asarray(col(name), dtype="float64") for name in names
              if name not in ("mrss_total", "hypocomplementemia", "nvc_pattern")}
    complement = index_formulas.hypocomplementemia_from_complement(col("c3_g_l"), col("c4_g_l"))
    pattern = np.asarray(col("nvc_pattern"), dtype=object)  # absent: an all-NaN float column
    inputs["nvc_pattern"] = np.where(pd.isna(pattern), np.nan,
                                     np.isin(pattern, SSC_NVC_PATTERNS).astype("float64"))
    inputs["mrss_total"] = _filled_mrss(col)
    inputs["hypocomplementemia"] = _given_else(col("hypocomplementemia"),
                                               _flag_values(complement))
    return inputs


_RANGES: dict[str, Callable[..., index_formulas.ScoreRange]] = {
    "escsg_activity_index": index_formulas.escsg_activity_range,
    "eustar_activity_index": index_formulas.eustar_activity_range,
    "acr_eular_2013_score": index_formulas.acr_eular_2013_range,
}
_SCORES: dict[str, Callable[..., Any]] = {
    "escsg_activity_index": index_formulas.escsg_activity_index,
    "eustar_activity_index": index_formulas.eustar_activity_index,
    "acr_eular_2013_score": index_formulas.acr_eular_2013_score,
}


def _range(index: str, inputs: dict[str, np.ndarray]) -> index_formulas.ScoreRange:
    """One index's range of scores, from :func:`_item_inputs` (the calculators' item order)."""
    return _RANGES[index](*(inputs[name] for name in INDEX_FIELDS[index]))


def _decided(index: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The index as reported: the recorded points where the class is decided, else NaN."""
    score = _SCORES[index](*(inputs[name] for name in INDEX_FIELDS[index]))
    return np.asarray(score, dtype="float64")


def baseline_index_values(col: Column) -> dict[str, np.ndarray]:
    """:data:`BASELINE_DERIVED_COLUMNS` as float64 arrays: flags 1.0 / 0.0, NaN where unknown.

    ``col(name)``: a field's values, float64 for numbers and booleans (1/0), an object array for
    category fields, all-NaN when the field is absent. ``mrss_total`` is filled from the 17 site
    scores and ``hypocomplementemia`` from C3/C4 (default limits) only where missing; given
    values are kept and the indices use the filled values. An index whose missing items could
    change its class is NaN, and so is its flag. The one definition behind both
    :func:`add_baseline_indices` (cohort tables) and the model's ``indices`` step
    (:class:`features.pipeline.ClinicalIndices`).
    """
    inputs = _item_inputs(col)
    escsg = _decided("escsg_activity_index", inputs)
    eustar = _decided("eustar_activity_index", inputs)
    return {
        "mrss_total": inputs["mrss_total"],
        "hypocomplementemia": inputs["hypocomplementemia"],
        "escsg_activity_index": escsg,
        "escsg_active": _flag_values(index_formulas.escsg_active(escsg)),
        "eustar_activity_index": eustar,
        "eustar_active": _flag_values(index_formulas.eustar_active(eustar)),
        "acr_eular_2013_score": _decided("acr_eular_2013_score", inputs),
    }


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
    inputs = _item_inputs(lambda name: columns.get(name, absent))
    gaps: list[list[IndexGap]] = [[] for _ in range(len(frame))]
    for index, names in INDEX_FIELDS.items():
        scores = _range(index, inputs)
        low, high = np.asarray(scores.low, float), np.asarray(scores.high, float)
        decided = ~np.isnan(_decided(index, inputs))
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
    return blank & (np.asarray(_range(index, recorded).low, float) > low)


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
        klass = _CLASS_WORDS[gap.index][gap.low >= _THRESHOLDS[gap.index]]
        return (f"{INDEX_NAMES[gap.index]}: {items} ({names}); {klass} whatever they are "
                f"(at least {gap.low:g} points, at most {gap.high:g})")
    return (f"{INDEX_NAMES[gap.index]} not assessable: {items} ({names}); the score could be "
            f"{gap.low:g} to {gap.high:g} points, on both sides of the threshold of "
            f"{_THRESHOLDS[gap.index]:g}")


_THRESHOLDS = {"escsg_activity_index": index_formulas.ESCSG_THRESHOLD,
               "eustar_activity_index": index_formulas.EUSTAR_THRESHOLD,
               "acr_eular_2013_score": index_formulas.ACR_EULAR_2013_THRESHOLD}
_CLASS_WORDS = {"escsg_activity_index": {True: "active", False: "not active"},
                "eustar_activity_index": {True: "active", False: "not active"},
                "acr_eular_2013_score": {True: "criteria met", False: "criteria not met"}}


def add_baseline_indices(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :data:`BASELINE_DERIVED_COLUMNS` filled or added
    (:func:`baseline_index_values`), in the dictionary's dtypes: ``mrss_total`` ``Int64`` (float64
    if a total is fractional), the flags nullable ``boolean``, the indices float64. Needs no
    follow-up column."""
    columns = model_columns(frame)
    absent = np.full(len(frame), np.nan)
    values = baseline_index_values(lambda name: columns.get(name, absent))
    # Unvalidated or reindexed frames carry a float64 total: it stays float64.
    given_float = "mrss_total" in frame.columns and frame["mrss_total"].dtype == "float64"
    out = frame.copy()
    for name, array in values.items():
        out[name] = pd.Series(_typed(name, array, given_float), index=frame.index)
    return out


def _typed(name: str, values: np.ndarray, float_total: bool) -> ArrayLike:
    """A derived column in its documented dtype."""
    missing = np.isnan(values)
    if name in ("hypocomplementemia", "escsg_active", "eustar_active"):
        return pd.arrays.BooleanArray(np.where(missing, False, values == 1), missing)
    whole = np.array_equal(values[~missing], np.round(values[~missing]))
    if name == "mrss_total" and whole and not float_total:
        return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)
    return values
