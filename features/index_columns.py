"""Baseline clinical indices of a cohort or a batch of records, from data-dictionary fields.

Input columns are those of ``features/data_dictionary.csv``; any optional column may be absent
and is then treated as all-missing. The input frame is never modified.

Missing items (:mod:`features.index_formulas`): an index is its recorded items' points when the
missing ones cannot change its class (active / criteria met), else NaN ("not assessable"), and
its ``*_active`` flag is then ``<NA>``. :mod:`features.index_gaps` names, per patient and index,
the blank fields that could still add points, and words them.

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
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features import index_formulas
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


def item_inputs(col: Column) -> dict[str, np.ndarray]:
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


def score_range(index: str, inputs: dict[str, np.ndarray]) -> index_formulas.ScoreRange:
    """One index's range of scores, from :func:`item_inputs` (the calculators' item order)."""
    return _RANGES[index](*(inputs[name] for name in INDEX_FIELDS[index]))


def reported_score(index: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
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
    inputs = item_inputs(col)
    escsg = reported_score("escsg_activity_index", inputs)
    eustar = reported_score("eustar_activity_index", inputs)
    return {
        "mrss_total": inputs["mrss_total"],
        "hypocomplementemia": inputs["hypocomplementemia"],
        "escsg_activity_index": escsg,
        "escsg_active": _flag_values(index_formulas.escsg_active(escsg)),
        "eustar_activity_index": eustar,
        "eustar_active": _flag_values(index_formulas.eustar_active(eustar)),
        "acr_eular_2013_score": reported_score("acr_eular_2013_score", inputs),
    }


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
