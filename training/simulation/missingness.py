"""Realistic missingness: whole panels missing together, mostly at random, a little MAR.

Each group of fields is blanked for a fraction of patients given by a ``Scenario`` rate. Some
groups are missing at random given an observed covariate (probability ``rate * 2 *
expit(mar_strength * z)``, whose cohort mean stays close to ``rate``). Required fields
(``features.schema.REQUIRED_FIELDS``), ``mrss_total`` and the clinical examination items are
never blanked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ssc_response.features.schema import MRSS_SITE_FIELDS, field_names, fields
from ssc_response.training.simulation.sampling import BoolArray, standardise
from ssc_response.training.simulation.scenarios import Scenario

HISTOLOGY_FIELDS: tuple[str, ...] = tuple(
    name for name, f in fields().items() if f.group == "histology"
)
FOLLOWUP_BIOPSY_FIELDS: tuple[str, ...] = (
    "fibrosis_grade_followup",
    "microvessel_density_per_mm2_followup",
    "epidermal_thickness_um_followup",
)
FOLLOWUP_ITEMS: tuple[str, ...] = (
    "fvc_pct_pred_followup",
    "haq_di_followup",
    "patient_global_followup",
    "physician_global_followup",
    "raynaud_condition_score_followup",
)
# Panels blanked together: (Scenario rate field, MAR covariate or None for MCAR, fields).
# MAR reasons (assumptions): long-standing patients' older work-ups lack complement; more
# disabled patients return fewer questionnaires.
BASELINE_PANELS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("missing_site_scores", None, MRSS_SITE_FIELDS),  # total only, no site sheet
    ("missing_complement", "disease_duration_months", ("c3_g_l", "c4_g_l", "hypocomplementemia")),
    ("missing_nvc_density", None, ("nvc_capillary_density_per_mm",)),
    ("missing_sf36", "haq_di", ("sf36_pcs", "sf36_mcs")),
    ("missing_labs", None, ("esr_mm_h",)),
    ("missing_labs", None, ("crp_mg_l",)),
    ("missing_antibodies", None, ("anti_topo1", "anti_centromere", "anti_rnap3")),
    ("missing_lung_function", None, ("fvc_pct_pred", "dlco_pct_pred")),
    ("missing_echo", None, ("lvef_pct",)),
    ("missing_patient_reported", None, ("haq_di",)),
    ("missing_patient_reported", None, ("patient_global",)),
    ("missing_patient_reported", None, ("physician_global",)),
    ("missing_patient_reported", None, ("raynaud_condition_score",)),
)


def _mcar(rng: np.random.Generator, n: int, rate: float) -> BoolArray:
    return np.asarray(rng.uniform(size=n) < rate, dtype=bool)


def _mar(rng: np.random.Generator, covariate: pd.Series, rate: float, strength: float) -> BoolArray:
    """Missing more often where the covariate is high; cohort-mean probability about ``rate``."""
    z = standardise(covariate.to_numpy(dtype=float, na_value=np.nan))
    probability = np.clip(rate * 2.0 * expit(strength * np.nan_to_num(z)), 0.0, 1.0)
    return np.asarray(rng.uniform(size=len(z)) < probability, dtype=bool)


def _blank(frame: pd.DataFrame, rows: BoolArray, columns: tuple[str, ...] | list[str]) -> None:
    for column in columns:
        frame[column] = frame[column].mask(rows)  # keeps the dtype; NaN or <NA>


LAB_PANELS = ("missing_labs", "missing_antibodies")


def _rows(
    rng: np.random.Generator, frame: pd.DataFrame, rate: float, covariate: str | None, sc: Scenario
) -> BoolArray:
    if covariate is None:
        return _mcar(rng, len(frame), rate)
    return _mar(rng, frame[covariate], rate, sc.mar_strength)


def _lab_rows(rng: np.random.Generator, frame: pd.DataFrame, rate: float,
              columns: tuple[str, ...], sc: Scenario) -> BoolArray:
    """Blank labs or antibodies by the scenario's ``lab_mechanism``: "mnar" on the panel's own
    first value (blank when low or negative), "mar" on age, else completely at random."""
    if sc.lab_mechanism == "mnar":
        own = pd.to_numeric(frame[columns[0]].astype("Float64"), errors="coerce")
        return _mar(rng, -own, rate, sc.mnar_strength)
    if sc.lab_mechanism == "mar":
        return _mar(rng, frame["age_years"], rate, sc.mnar_strength)
    return _mcar(rng, len(frame), rate)


def _baseline(rng: np.random.Generator, frame: pd.DataFrame, sc: Scenario) -> BoolArray:
    """Blank baseline panels in place; return the rows without a baseline biopsy."""
    # Older patients are biopsied less often (assumption: a little MAR).
    no_biopsy = _mar(rng, frame["age_years"], sc.missing_histology, sc.mar_strength)
    _blank(frame, no_biopsy, HISTOLOGY_FIELDS)
    for rate_field, covariate, columns in BASELINE_PANELS:
        rate = getattr(sc, rate_field)
        if rate_field in LAB_PANELS and sc.lab_mechanism != "random":
            rows = _lab_rows(rng, frame, rate, columns, sc)
        else:
            rows = _rows(rng, frame, rate, covariate, sc)
        _blank(frame, rows, columns)
    return no_biopsy


def _followup(
    rng: np.random.Generator, frame: pd.DataFrame, sc: Scenario, no_biopsy: BoolArray
) -> None:
    """Blank follow-up fields in place: repeat biopsies, single items, lost visits."""
    n = len(frame)
    no_repeat = no_biopsy | _mcar(rng, n, sc.missing_followup_biopsy)
    _blank(frame, no_repeat, FOLLOWUP_BIOPSY_FIELDS)
    for item in FOLLOWUP_ITEMS:
        _blank(frame, _mcar(rng, n, sc.missing_followup_item), (item,))
    # Loss to follow-up is a little commoner in older patients (assumption).
    lost = _mar(rng, frame["age_years"], sc.lost_to_followup, sc.mar_strength)
    _blank(frame, lost, field_names("outcome"))


def apply_missingness(rng: np.random.Generator, frame: pd.DataFrame, sc: Scenario) -> pd.DataFrame:
    """Blank fields of a complete typed cohort in place and return it."""
    no_biopsy = _baseline(rng, frame, sc)
    _followup(rng, frame, sc, no_biopsy)
    return frame
