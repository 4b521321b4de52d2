"""Named parameter sets for the synthetic cohorts.

Every number carries the key of its source in ``shared/clinical-reference.md`` (``[S15]`` etc.);
"assumption" marks values with no verified source (§10.1 flags them ⚠️). This module imports no
numeric library so that the CLI can list scenario names without slowing ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Order of the categories in the probability tuples below.
NVC_PATTERNS: tuple[str, ...] = ("normal", "nonspecific", "early", "active", "late")
ANTIBODY_PROFILES: tuple[str, ...] = ("anti_topo1", "anti_centromere", "anti_rnap3", "none")


class UnknownScenarioError(ValueError):
    """A scenario name that is not in ``SCENARIOS``."""


@dataclass(frozen=True)
class Scenario:
    """Parameters of one synthetic cohort: baseline marginals, outcome model and missingness.

    Build variants with ``dataclasses.replace``, e.g. the natural-history arm is
    ``replace(SCENARIOS["founding_centre"], treatment_effect_points=0.0)``.
    """

    name: str
    description: str
    # --- demographics -----------------------------------------------------------------------
    age_mean: float = 45.0  # Astana 45 ± 11 y [S42]
    age_sd: float = 11.0  # [S42]
    age_min: float = 18.0  # adults only (data dictionary)
    age_max: float = 70.0  # transplant eligibility upper age ~65-70 [S26], [S66]
    p_male: float = 0.07  # Astana 2/28 [S42]
    # --- disease duration (months, from first non-Raynaud symptom) -------------------------
    duration_mean_months: float = 144.0  # Astana 12 ± 5.4 y [S42]
    duration_sd_months: float = 65.0  # [S42]
    duration_min_months: float = 12.0  # refractory: >= 1 failed agent takes about a year
    duration_max_months: float = 360.0  # §10.1 range 12-360
    raynaud_lead_mean_months: float = 24.0  # RP precedes other symptoms, Gamma mean 24 (§10.1)
    # --- skin ---------------------------------------------------------------------------------
    mrss_mean: float = 24.0  # N(24, 8) for MSC/HSCT candidates (§10.1; [S29] median 24)
    mrss_sd: float = 8.0  # §10.1
    mrss_min: int = 14  # eligibility mRSS >= 15 ([S66]; ASSIST > 14 [S18])
    mrss_max: int = 51  # scale maximum [S1]
    p_tendon_friction_rubs: float = 0.15  # 15.4% EUSTAR 2019 [S15]
    p_scleredema: float = 0.40  # §10.1 (Krivoruchko indication: dense oedema [S40])
    p_puffy_fingers: float = 0.25  # assumption: oedematous phase is past in long disease
    # --- vascular, organs ----------------------------------------------------------------
    nvc_probabilities: tuple[float, ...] = (0.0, 0.0, 0.15, 0.35, 0.50)  # §10.1 (assumption)
    p_ild: float = 0.58  # 56.8-60.1% [S15], [S24]
    p_pah: float = 0.07  # 5-10% (§10.1)
    # --- autoantibodies: one dominant profile (they are nearly mutually exclusive) ---------
    antibody_probabilities: tuple[float, ...] = (0.55, 0.07, 0.10, 0.28)  # [S24] topo/ACA, §10.1
    # --- treatment -------------------------------------------------------------------------
    min_prior_immunosuppressants: int = 1  # refractory disease is an indication [S40], [S42]
    extra_immunosuppressants_mean: float = 1.2  # assumption: Poisson count above the minimum
    cell_products: tuple[str, ...] = ("auto_bm_msc", "auto_bm_mnc")  # [S40] MSC, [S42] MNC
    cell_product_probabilities: tuple[float, ...] = (0.5, 0.5)  # §9.5: both labels in use
    biopsy_site: str = "lower_leg"  # Astana used tibial skin [S42]
    # --- outcome: natural history (points of ΔmRSS at 12 ± 2 months; §10.2) ----------------
    regression_to_mean_per_point: float = 0.50  # b1: higher baseline improves more [S12], [S23]
    regression_centre: float = 20.0  # mRSS at which the b1 term is zero (§10.2)
    early_worsening_points: float = 3.0  # b2: duration < 18 months worsens [S15], [S17], [S33]
    early_cutoff_months: float = 18.0  # [S33]
    late_drift_points: float = 0.5  # b3: duration >= 24 months drifts down [S23]
    late_cutoff_months: float = 24.0  # [S23]
    tendon_friction_rub_points: float = 3.0  # b4: TFR reduces improvement [S12]
    rnap3_early_points: float = 3.0  # b5: anti-RNAP3 peaks early [S17], [S32]
    male_points: float = 2.0  # b6: progressors enriched in men (38.5% vs 23.1%) [S15]
    noise_sd: float = 4.5  # inter-rater SD 4.6-5.4 [S9]; at baseline = regression_centre
    noise_distribution: str = "normal"  # or "student_t": heavy tails (assumption)
    noise_df: float = 4.0  # degrees of freedom of the t noise
    noise_sd_per_baseline_point: float = 0.0  # spread grows with baseline (assumption)
    # --- outcome: non-linear effects and an interaction (0 = off; assumptions) -------------
    nonlinear_mrss_points: float = 0.0  # extra improvement ((b - knee) / 10)^2 points above
    nonlinear_mrss_knee: float = 25.0  # the knee: thick skin regresses faster [S12] (shape)
    inflamed_thick_skin_points: float = 0.0  # extra improvement with CRP > 10 mg/L and
    # mRSS > 25 together (the §10.2 hypothesis that active inflamed disease responds more)
    # --- outcome: treatment effect (MSC) ---------------------------------------------------
    treatment_effect_points: float = 5.0  # T 5-7 (§10.2): 20.1 -> 13.8 [S30]; 0 = none
    inflammation_modifier: float = 0.60  # hypothesis (§10.2, not verified): inflamed respond more
    histology_modifier: float = 0.40  # hypothesis: myofibroblast-rich, less fibrotic respond more
    # --- follow-up -------------------------------------------------------------------------
    followup_mean_months: float = 12.0  # EUSTAR window 12 ± 2 months [S12]
    followup_sd_months: float = 1.0  # assumption; truncated to the ± 2 window
    p_organ_event: float = 0.03  # assumption: rare new organ involvement in a year (CRISS step 1)
    raynaud_improvement_points: float = 0.5  # modest; less Raynaud's [S40], RCS n.s. [S67]
    microvessel_response_gain: float = 0.3  # uncertain: unchanged [S29] vs up [S77], [S43]
    epidermal_response_gain: float = 0.2  # restored epidermis [S43] (assumption: magnitude)
    # --- missingness (fractions of patients; MCAR plus a little MAR) -----------------------
    missing_site_scores: float = 0.20  # total only, no site sheet (assumption)
    missing_histology: float = 0.20  # no baseline biopsy (Astana biopsied 15 of 28 [S42])
    missing_followup_biopsy: float = 0.35  # fewer repeat biopsies (9 of 15 [S42])
    missing_complement: float = 0.20  # C3/C4 not in every work-up (assumption)
    missing_nvc_density: float = 0.25  # capillary counts often not reported (assumption)
    missing_sf36: float = 0.15  # questionnaire not returned (assumption)
    missing_labs: float = 0.05  # ESR, CRP (assumption)
    missing_antibodies: float = 0.03  # assumption
    missing_lung_function: float = 0.08  # FVC, DLCO (assumption)
    missing_echo: float = 0.10  # LVEF (assumption)
    missing_patient_reported: float = 0.05  # HAQ-DI, globals, RCS (assumption)
    missing_followup_item: float = 0.05  # each secondary follow-up measure (assumption)
    lost_to_followup: float = 0.04  # whole follow-up visit missing (assumption)
    mar_strength: float = 0.5  # log-odds slope of missingness on an observed covariate
    # Why labs (ESR, CRP) and antibodies are blank: "random" (MCAR, as above); "mnar" (a centre
    # that orders them when it suspects inflammation or an antibody: blank more often when the
    # value itself is low or negative); "mar" (blank more often in older patients, an observed
    # covariate). Assumptions, to show what missing indicators cost when centres differ.
    lab_mechanism: str = "random"
    # The deployment centre's mechanism, when it differs (the study's fresh patients use it).
    deployment_lab_mechanism: str | None = None
    mnar_strength: float = 1.5  # log-odds slope of "mnar" blanks on the (standardised) value


FOUNDING_CENTRE = Scenario(
    name="founding_centre",
    description="Astana-like refractory long-standing dcSSc, autologous BM cells",
)

EARLY_TRIAL = Scenario(
    name="early_trial",
    description="trial-like early dcSSc, duration <= 48 months, forearm biopsies",
    age_mean=48.0,  # faSScinate 48 ± 12.9 [S11]
    age_sd=12.9,  # [S11]
    p_male=0.22,  # 21.7-24.3% [S15], [S24]; trials 20-26% [S11]
    duration_mean_months=19.5,  # faSScinate 19.5 ± 17.0 months [S11]
    duration_sd_months=17.0,  # [S11]
    duration_min_months=2.0,  # assumption: diagnosis and work-up take a few months
    duration_max_months=48.0,  # trial inclusion <= 4 years [S18], [S53]
    mrss_mean=25.0,  # medians 21 ESOS [S17], 26 faSScinate [S11], 29 SCOT [S26]
    mrss_sd=7.0,  # faSScinate SD 5.9-7.2 [S11]
    mrss_min=15,  # mRSS >= 15 [S66], ASTIS [S53]
    p_tendon_friction_rubs=0.20,  # 20.2% [S24]; commoner early (assumption)
    p_scleredema=0.55,  # oedematous phase early (§10.1 "higher with short duration")
    p_puffy_fingers=0.50,  # assumption
    nvc_probabilities=(0.0, 0.05, 0.30, 0.45, 0.20),  # assumption: fewer late patterns early
    antibody_probabilities=(0.40, 0.07, 0.20, 0.33),  # ESOS 39.9% / 6.7% / 20.2% [S17]
    min_prior_immunosuppressants=0,  # trials enrol before failure of therapy
    extra_immunosuppressants_mean=0.8,  # assumption
    cell_products=("auto_bm_msc", "allo_bm_msc"),  # assumption; allogeneic trial [S66]
    cell_product_probabilities=(0.7, 0.3),  # assumption
    biopsy_site="forearm",  # usual research site [S3], [S73], [S76]
)

# Harder mechanisms than the ΔmRSS model's own assumptions (near-linear, additive, Gaussian with
# one SD): the simulation study runs on each (``ssc-response study --scenario ...``).
HETEROSCEDASTIC = replace(
    FOUNDING_CENTRE,
    name="heteroscedastic",
    description="founding centre with heavy-tailed noise (t, 4 df) whose SD grows with baseline",
    noise_distribution="student_t",
    noise_df=4.0,
    noise_sd_per_baseline_point=0.15,  # SD 3.6 at mRSS 14, 4.5 at 20, 7.5 at 40 (assumption)
)

LOW_SIGNAL = replace(
    FOUNDING_CENTRE,
    name="low_signal",
    description="founding centre with weak effects: baseline findings explain ~15 % of the "
                "variance of ΔmRSS, as published skin-progression models suggest ([S17]: AUC 0.67)",
    regression_to_mean_per_point=0.22,
    early_worsening_points=1.5,
    tendon_friction_rub_points=1.5,
    rnap3_early_points=1.5,
    male_points=1.0,
    inflammation_modifier=0.25,
    histology_modifier=0.15,
    noise_sd=5.0,
)

NONLINEAR = replace(
    FOUNDING_CENTRE,
    name="nonlinear",
    description="founding centre with a curved baseline effect (thick skin regresses faster "
                "above mRSS 25) and an interaction (CRP > 10 mg/L with mRSS > 25)",
    regression_to_mean_per_point=0.30,
    nonlinear_mrss_points=2.5,
    inflamed_thick_skin_points=4.0,
)

MISSINGNESS_SHIFT = replace(
    FOUNDING_CENTRE,
    name="missingness_shift",
    description="the development centre leaves ESR, CRP and antibodies blank when it expects "
                "them normal (MNAR); the deployment centre leaves them blank in older patients "
                "(MAR); both about a third of patients (assumption)",
    missing_labs=0.30,
    missing_antibodies=0.25,
    lab_mechanism="mnar",
    deployment_lab_mechanism="mar",
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (FOUNDING_CENTRE, EARLY_TRIAL, HETEROSCEDASTIC, LOW_SIGNAL, NONLINEAR,
                        MISSINGNESS_SHIFT)
}


def deployment_scenario(scenario: str | Scenario) -> Scenario:
    """The scenario as the deployment centre sees it: its own lab-missingness mechanism, when
    the scenario gives one (else the scenario itself)."""
    sc = get_scenario(scenario)
    if sc.deployment_lab_mechanism is None:
        return sc
    return replace(sc, lab_mechanism=sc.deployment_lab_mechanism)


def get_scenario(scenario: str | Scenario) -> Scenario:
    """Return the scenario itself, or the registered one of that name."""
    if isinstance(scenario, Scenario):
        return scenario
    try:
        return SCENARIOS[scenario]
    except KeyError:
        choices = ", ".join(sorted(SCENARIOS))
        raise UnknownScenarioError(
            f"unknown scenario {scenario!r}; expected one of: {choices}"
        ) from None
