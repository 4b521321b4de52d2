"""Baseline clinical indices of a cohort or a batch of records, from data-dictionary fields.

Input columns are those of ``features/data_dictionary.csv``; any optional column may be absent
and is then treated as all-missing (an absent index item scores 0 points). The input frame is
never modified.

Data mapping (dictionary field -> calculator item):

- EScSG digital necrosis, EUSTAR digital ulcers and ACR/EULAR digital tip ulcers <-
  ``digital_ulcers_active``; ACR/EULAR pitting scars <- ``digital_pitting_scars``;
  ACR/EULAR ILD <- ``ild_on_hrct``.
- ACR/EULAR abnormal nailfold capillaries <- ``nvc_pattern`` in {early, active, late}, the
  Cutolo "scleroderma patterns" (§7.2); "normal" and "nonspecific" are not SSc patterns.

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


def escsg_from(col: Column, mrss: ArrayLike, hypocomplementemia: ArrayLike) -> ArrayLike:
    """EScSG index with the data dictionary's fields mapped to its items."""
    return index_formulas.escsg_activity_index(
        mrss_total=mrss,
        scleredema=col("scleredema"),
        delta_skin=col("delta_skin"),
        digital_necrosis=col("digital_ulcers_active"),
        delta_vascular=col("delta_vascular"),
        arthritis=col("arthritis"),
        dlco_pct_pred=col("dlco_pct_pred"),
        delta_cardiopulmonary=col("delta_cardiopulmonary"),
        esr_mm_h=col("esr_mm_h"),
        hypocomplementemia=hypocomplementemia,
    )


def eustar_from(col: Column, mrss: ArrayLike) -> ArrayLike:
    """Revised EUSTAR index from dictionary fields (CRP stays in mg/L; the calculator converts)."""
    return index_formulas.eustar_activity_index(
        delta_skin=col("delta_skin"),
        mrss_total=mrss,
        digital_ulcers=col("digital_ulcers_active"),
        tendon_friction_rubs=col("tendon_friction_rubs"),
        crp_mg_l=col("crp_mg_l"),
        dlco_pct_pred=col("dlco_pct_pred"),
    )


def acr_eular_from(col: Column, abnormal_nailfold_capillaries: ArrayLike) -> ArrayLike:
    """ACR/EULAR 2013 score from dictionary fields."""
    return index_formulas.acr_eular_2013_score(
        skin_thickening_proximal_mcp=col("skin_thickening_proximal_mcp"),
        puffy_fingers=col("puffy_fingers"),
        sclerodactyly=col("sclerodactyly"),
        digital_tip_ulcers=col("digital_ulcers_active"),
        pitting_scars=col("digital_pitting_scars"),
        telangiectasia=col("telangiectasia"),
        abnormal_nailfold_capillaries=abnormal_nailfold_capillaries,
        pah=col("pah"),
        ild=col("ild_on_hrct"),
        raynaud_phenomenon=col("raynaud_phenomenon"),
        anti_centromere=col("anti_centromere"),
        anti_topo1=col("anti_topo1"),
        anti_rnap3=col("anti_rnap3"),
    )


def baseline_index_values(col: Column) -> dict[str, np.ndarray]:
    """:data:`BASELINE_DERIVED_COLUMNS` as float64 arrays: flags 1.0 / 0.0, NaN where unknown.

    ``col(name)``: a field's values, float64 for numbers and booleans (1/0), an object array for
    category fields, all-NaN when the field is absent. ``mrss_total`` is filled from the 17 site
    scores and ``hypocomplementemia`` from C3/C4 (default limits) only where missing; given
    values are kept and the indices use the filled values. The one definition behind both
    :func:`add_baseline_indices` (cohort tables) and the model's ``indices`` step
    (:class:`features.pipeline.ClinicalIndices`).
    """
    mrss = _filled_mrss(col)
    complement = index_formulas.hypocomplementemia_from_complement(col("c3_g_l"), col("c4_g_l"))
    hypocomplementemia = _given_else(col("hypocomplementemia"), _flag_values(complement))
    escsg = np.asarray(escsg_from(col, mrss, hypocomplementemia), dtype="float64")
    eustar = np.asarray(eustar_from(col, mrss), dtype="float64")
    # Object comparison: an absent pattern is an all-NaN float column.
    capillaries = np.isin(np.asarray(col("nvc_pattern"), dtype=object), SSC_NVC_PATTERNS)
    return {
        "mrss_total": mrss,
        "hypocomplementemia": hypocomplementemia,
        "escsg_activity_index": escsg,
        "escsg_active": _flag_values(index_formulas.escsg_active(escsg)),
        "eustar_activity_index": eustar,
        "eustar_active": _flag_values(index_formulas.eustar_active(eustar)),
        "acr_eular_2013_score": np.asarray(acr_eular_from(col, capillaries), dtype="float64"),
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
