"""The structural outcome model: change in mRSS at 12 ± 2 months (clinical-reference §10.2).

The mechanism, with the coefficients named as ``Scenario`` fields (sources in ``scenarios``)::

    delta_mrss = natural_history + treatment_effect + noise
    natural_history =
        - regression_to_mean_per_point * (mrss_total - regression_centre)  # [S12] [S23]
        + early_worsening_points * I(disease_duration_months < 18)          # [S15] [S17] [S33]
        - late_drift_points * I(disease_duration_months >= 24)              # [S23]
        + tendon_friction_rub_points * tendon_friction_rubs                 # [S12]
        + rnap3_early_points * anti_rnap3 * I(disease_duration_months < 18)  # [S17] [S32]
        + male_points * I(sex == "M")                                       # [S15]
    treatment_effect =                                                      # [S30]
        - treatment_effect_points * max(0, 1 + inflammation_modifier * inflammation_z
                                             + histology_modifier * histology_z)
        inflammation_z = mean of z(log crp_mg_l), z(log esr_mm_h), z(inflammatory_infiltrate_score)
        histology_z = (z(myofibroblast_score) - z(fibrosis_grade)) / 2
        (the modifiers are a hypothesis, not verified: §10.2)
        - nonlinear_mrss_points * (max(0, mrss_total - knee) / 10)^2          # (off by default)
        - inflamed_thick_skin_points * I(crp_mg_l > 10) * I(mrss_total > 25)  # (off by default)
    noise: Normal, or Student t with noise_df degrees of freedom, of SD
        max(1, noise_sd + noise_sd_per_baseline_point * (mrss_total - regression_centre))
        (default: Normal, SD 4.5 for everyone)                             # [S9]
    mrss_total_followup = clip(round(mrss_total + delta_mrss), 0, 51)

Negative delta = improvement. Each z uses a fixed population reference (below), is capped at
± 2.5 so that outliers cannot make the treatment harmful, and is 0 (the reference) when the
input is missing; a missing boolean counts as absent. ``expected_delta_mrss`` is the noise-free
mean, exact for complete rows. The 10-14-month window is treated as one 12-month visit, as the
EUSTAR definition does [S12].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from ssc_response.features.outcomes import minimal_responder_decrease
from ssc_response.training.simulation.sampling import FloatArray
from ssc_response.training.simulation.scenarios import Scenario, get_scenario

Z_CAP = 2.5
# (centre, scale) of each modifier input on its analysis scale; §10.1 population values.
REFERENCE: dict[str, tuple[float, float]] = {
    "crp_mg_l": (float(np.log(4.5)), 1.177),  # log-normal median 4.5, mean ~9 [S95], [S11]
    "esr_mm_h": (float(np.log(25.0)), 0.683),  # median 25, 90th centile ~60 [S26], [S95]
    "inflammatory_infiltrate_score": (1.1, 0.94),  # grades 0-3 at 0.3/0.4/0.2/0.1
    "myofibroblast_score": (1.5, 0.92),  # grades 0-3 at 0.15/0.35/0.35/0.15
    "fibrosis_grade": (2.07, 0.57),  # grades 1-3 at 0.13/0.67/0.20 [S74]
}
LOG_SCALE = ("crp_mg_l", "esr_mm_h")

# The input fields behind each additive term of the mean (for ``true_drivers``).
TERM_FIELDS: dict[str, tuple[str, ...]] = {
    "baseline_mrss": ("mrss_total",),
    "early_disease": ("disease_duration_months",),
    "late_disease": ("disease_duration_months",),
    "tendon_friction_rubs": ("tendon_friction_rubs",),
    "rnap3_early": ("anti_rnap3", "disease_duration_months"),
    "male": ("sex",),
    "baseline_mrss_curve": ("mrss_total",),
    "inflamed_thick_skin": ("crp_mg_l", "mrss_total"),
    "treatment": (),
    "treatment_crp": ("crp_mg_l",),
    "treatment_esr": ("esr_mm_h",),
    "treatment_infiltrate": ("inflammatory_infiltrate_score",),
    "treatment_myofibroblast": ("myofibroblast_score",),
    "treatment_fibrosis": ("fibrosis_grade",),
}


def _flag(frame: pd.DataFrame, name: str) -> FloatArray:
    """A boolean column as 0/1 floats, missing counted as absent."""
    return frame[name].astype("boolean").fillna(False).to_numpy(dtype=float)


def _numeric(frame: pd.DataFrame, name: str) -> FloatArray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def reference_z(frame: pd.DataFrame, name: str) -> FloatArray:
    """Standardised modifier input against the population reference; missing -> 0."""
    values = _numeric(frame, name)
    if name in LOG_SCALE:
        values = np.log(np.maximum(values, 0.1))
    centre, scale = REFERENCE[name]
    z = np.clip((values - centre) / scale, -Z_CAP, Z_CAP)
    return np.nan_to_num(z, nan=0.0)


def natural_history_terms(frame: pd.DataFrame, sc: Scenario) -> dict[str, FloatArray]:
    """Additive natural-history terms (points of ΔmRSS)."""
    duration = _numeric(frame, "disease_duration_months")
    mrss = _numeric(frame, "mrss_total")
    early = (duration < sc.early_cutoff_months).astype(float)
    male = (frame["sex"].astype("string") == "M").fillna(False).to_numpy(dtype=float)
    return {
        "baseline_mrss": -sc.regression_to_mean_per_point
        * (mrss - sc.regression_centre),
        "early_disease": sc.early_worsening_points * early,
        "late_disease": -sc.late_drift_points * (duration >= sc.late_cutoff_months),
        "tendon_friction_rubs": sc.tendon_friction_rub_points
        * _flag(frame, "tendon_friction_rubs"),
        "rnap3_early": sc.rnap3_early_points * _flag(frame, "anti_rnap3") * early,
        "male": sc.male_points * male,
        "baseline_mrss_curve": -sc.nonlinear_mrss_points * (
            np.maximum(mrss - sc.nonlinear_mrss_knee, 0.0) / 10.0) ** 2,
        "inflamed_thick_skin": -sc.inflamed_thick_skin_points * (
            np.nan_to_num(_numeric(frame, "crp_mg_l")) > 10.0) * (mrss > 25.0),
    }


def treatment_terms(frame: pd.DataFrame, sc: Scenario) -> dict[str, FloatArray]:
    """Additive treatment terms: the base effect and each modifier input's share of it."""
    inflammation = sc.treatment_effect_points * sc.inflammation_modifier / 3.0
    histology = sc.treatment_effect_points * sc.histology_modifier / 2.0
    return {
        "treatment": np.full(len(frame), -sc.treatment_effect_points),
        "treatment_crp": -inflammation * reference_z(frame, "crp_mg_l"),
        "treatment_esr": -inflammation * reference_z(frame, "esr_mm_h"),
        "treatment_infiltrate": -inflammation * reference_z(frame, "inflammatory_infiltrate_score"),
        "treatment_myofibroblast": -histology * reference_z(frame, "myofibroblast_score"),
        "treatment_fibrosis": histology * reference_z(frame, "fibrosis_grade"),
    }


def delta_terms(frame: pd.DataFrame, scenario: str | Scenario) -> dict[str, FloatArray]:
    """Every additive term of the noise-free mean ΔmRSS, by term name (see ``TERM_FIELDS``)."""
    sc = get_scenario(scenario)
    return {**natural_history_terms(frame, sc), **treatment_terms(frame, sc)}


def expected_delta_mrss(frame: pd.DataFrame, scenario: str | Scenario) -> np.ndarray:
    """Noise-free mean ΔmRSS (points; negative = improvement) for each row of ``frame``."""
    sc = get_scenario(scenario)
    natural = sum(natural_history_terms(frame, sc).values())
    # The treatment never worsens skin: its modified effect is floored at zero.
    treatment = np.minimum(sum(treatment_terms(frame, sc).values()), 0.0)
    return np.asarray(natural + treatment, dtype=float)


def noise_sd(frame: pd.DataFrame, scenario: str | Scenario) -> np.ndarray:
    """SD of the rater noise around each patient's expected change (points)."""
    sc = get_scenario(scenario)
    baseline = _numeric(frame, "mrss_total")
    spread = sc.noise_sd + sc.noise_sd_per_baseline_point * (baseline - sc.regression_centre)
    return np.asarray(np.maximum(spread, 1.0), dtype=float)


def _noise_scale(sc: Scenario) -> float:
    """Scale of a unit-SD draw: a t variable with df degrees of freedom has SD sqrt(df/(df-2))."""
    if sc.noise_distribution == "student_t":
        return float(np.sqrt((sc.noise_df - 2.0) / sc.noise_df))
    return 1.0


def _draw_noise(rng: np.random.Generator, n: int, sc: Scenario) -> np.ndarray:
    if sc.noise_distribution == "student_t":
        return rng.standard_t(sc.noise_df, size=n) * _noise_scale(sc)
    if sc.noise_distribution != "normal":
        raise ValueError(f"unknown noise_distribution {sc.noise_distribution!r}")
    return rng.standard_normal(n)


def followup_mrss(rng: np.random.Generator, frame: pd.DataFrame, sc: Scenario) -> np.ndarray:
    """mRSS at follow-up: baseline + expected change + rater noise, rounded and clipped."""
    noise = _draw_noise(rng, len(frame), sc) * noise_sd(frame, sc)
    raw = _numeric(frame, "mrss_total") + expected_delta_mrss(frame, sc) + noise
    return np.clip(np.floor(raw + 0.5), 0, 51).astype(np.int64)


def true_response_probability(frame: pd.DataFrame, scenario: str | Scenario,
                              abs_threshold: float = 5.0, rel_threshold: float = 0.25,
                              strict: bool = True) -> np.ndarray:
    """P(skin response | complete baseline) under the mechanism: the truth a model estimates.

    Response needs a whole-point decrease of at least ``m(b)``
    (:func:`features.outcomes.minimal_responder_decrease`); the follow-up score is
    ``round(b + mean + noise)`` (floored at 0, which only adds to responses), so
    ``P = F((0.5 - m(b) - mean) / sd)`` with ``F`` the noise distribution, and 0 where ``m(b)``
    exceeds the baseline. ``frame`` must be the complete baseline (``complete_baseline``).
    """
    sc = get_scenario(scenario)
    baseline = _numeric(frame, "mrss_total")
    needed = np.asarray(minimal_responder_decrease(baseline, abs_threshold, rel_threshold,
                                                   strict), dtype=float)
    z = (0.5 - needed - expected_delta_mrss(frame, sc)) / noise_sd(frame, sc)
    if sc.noise_distribution == "student_t":
        probability = student_t.cdf(z / _noise_scale(sc), sc.noise_df)
    else:
        probability = norm.cdf(z)
    return np.where(needed <= baseline, probability, 0.0)
