"""Baseline (pre-transplant) fields of a synthetic cohort, complete (missingness comes later).

Shared standard-normal factors induce the correlations: ``skin`` (mRSS, histological fibrosis,
function), ``inflammation`` (CRP, ESR, infiltrate, oedema, friction rubs; higher in short
disease), ``vascular`` (ulcers, capillaroscopy, Raynaud's), ``lung`` (ILD, FVC, DLCO) and
``duration``. Distributions follow clinical-reference §8 and §10.1; sources are beside each
number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssc_response.features.schema import MRSS_SITE_FIELDS
from ssc_response.training.simulation.sampling import (
    FloatArray,
    binary,
    categorical,
    lognormal,
    mix,
    ordinal,
    round_to,
    standardise,
    truncated_normal,
)
from ssc_response.training.simulation.scenarios import ANTIBODY_PROFILES, NVC_PATTERNS, Scenario
from ssc_response.training.simulation.sites import allocate_sites

Columns = dict[str, np.ndarray]

# Mean nailfold capillary density (loops/mm) by Cutolo pattern: reduced below 7/mm [S85],
# dcSSc median about 5 [S86]; ~9-10 normal (assumption). SD 1.2 (assumption).
NVC_DENSITY_BY_PATTERN: tuple[float, ...] = (9.5, 8.0, 7.0, 5.5, 4.0)


@dataclass(frozen=True)
class Latents:
    """Shared standard-normal factors (one value per patient)."""

    skin: FloatArray
    inflammation: FloatArray
    vascular: FloatArray
    lung: FloatArray
    duration: FloatArray


def demographics(rng: np.random.Generator, n: int, sc: Scenario) -> Columns:
    """Age, sex, disease and Raynaud's durations, subset."""
    age = truncated_normal(rng.standard_normal(n), sc.age_mean, sc.age_sd, sc.age_min, sc.age_max)
    duration = truncated_normal(
        rng.standard_normal(n),
        sc.duration_mean_months,
        sc.duration_sd_months,
        sc.duration_min_months,
        sc.duration_max_months,
    )
    # Raynaud's precedes the first non-Raynaud symptom by a Gamma(mean 24 months) lead (§10.1).
    lead = rng.gamma(1.5, sc.raynaud_lead_mean_months / 1.5, size=n)
    return {
        "age_years": round_to(age, 0.1, sc.age_min, sc.age_max),
        "sex": np.where(rng.uniform(size=n) < sc.p_male, "M", "F").astype(object),
        "disease_duration_months": round_to(duration, 0.1, 0.0, 600.0),
        "raynaud_duration_months": round_to(duration + lead, 0.1, 0.0, 900.0),
        "cutaneous_subset": np.full(n, "diffuse", dtype=object),  # service scope (§10.1)
    }


def make_latents(rng: np.random.Generator, duration_months: FloatArray) -> Latents:
    """Shared factors; inflammation is higher in short disease (oedematous phase, [S33])."""
    duration = standardise(np.log(duration_months))
    inflammation = mix(rng, -duration, 0.3)
    return Latents(
        skin=mix(rng, inflammation, 0.2),
        inflammation=inflammation,
        vascular=mix(rng, duration, 0.3),  # capillary loss accrues with time [S86]
        lung=rng.standard_normal(len(duration)),
        duration=duration,
    )


def _proximal(site: Columns, side: str) -> np.ndarray:
    """Thickening proximal to the MCPs on one side: dorsum of the hand or the forearm."""
    return np.asarray((site[f"mrss_hands_{side}"] + site[f"mrss_forearms_{side}"]) > 0)


def skin(rng: np.random.Generator, sc: Scenario, lat: Latents) -> Columns:
    """mRSS total, the 17 site scores and the clinical skin items."""
    total = truncated_normal(
        lat.skin, sc.mrss_mean, sc.mrss_sd, sc.mrss_min - 0.5, sc.mrss_max + 0.49
    )
    mrss = np.floor(total + 0.5).astype(np.int64)
    site = dict(zip(MRSS_SITE_FIELDS, allocate_sites(rng, mrss).T, strict=True))
    cols: Columns = {"mrss_total": mrss, **site}
    cols.update(
        {
            "delta_skin": binary(mix(rng, lat.inflammation, 0.5), 0.40),  # p 0.4 (§10.1)
            "scleredema": binary(mix(rng, lat.inflammation, 0.5), sc.p_scleredema),
            # Rubs mark active disease (a EUSTAR activity item [S39a]).
            "tendon_friction_rubs": binary(
                mix(rng, lat.inflammation, 0.4), sc.p_tendon_friction_rubs
            ),
            "puffy_fingers": binary(mix(rng, lat.inflammation, 0.4), sc.p_puffy_fingers),
            # ACR/EULAR items follow from the site scores so that they never contradict them.
            "sclerodactyly": (site["mrss_fingers_r"] + site["mrss_fingers_l"]) > 0,
            # Thickening proximal to the MCPs: dorsum of hand or forearm, on both sides.
            "skin_thickening_proximal_mcp": _proximal(site, "r") & _proximal(site, "l"),
        }
    )
    return cols


def vascular(rng: np.random.Generator, sc: Scenario, lat: Latents) -> Columns:
    """Ulcers, Raynaud's, capillaroscopy."""
    n = len(lat.vascular)
    pattern = ordinal(mix(rng, lat.vascular, 0.6), sc.nvc_probabilities)
    density_mean = np.asarray(NVC_DENSITY_BY_PATTERN)[pattern]
    density = truncated_normal(rng.standard_normal(n), density_mean, 1.2, 0.0, 15.0)
    rcs = truncated_normal(mix(rng, lat.vascular, 0.5), 4.5, 2.5, 0.0, 10.0)  # §10.1 assumption
    return {
        "digital_ulcers_active": binary(mix(rng, lat.vascular, 0.6), 0.20),  # [S15], [S24]
        "digital_pitting_scars": binary(mix(rng, lat.vascular, 0.5), 0.40),  # §10.1
        "telangiectasia": binary(mix(rng, lat.duration, 0.3), 0.60),  # §10.1
        "raynaud_phenomenon": rng.uniform(size=n) < 0.98,  # [S15]
        "delta_vascular": binary(mix(rng, lat.vascular, 0.4), 0.30),  # §10.1
        "raynaud_condition_score": round_to(rcs, 0.1, 0.0, 10.0),
        "nvc_pattern": np.asarray(NVC_PATTERNS, dtype=object)[pattern],
        "nvc_capillary_density_per_mm": round_to(density, 0.1, 0.0, 15.0),
    }


def organs(rng: np.random.Generator, sc: Scenario, lat: Latents) -> Columns:
    """Joints, lung, heart."""
    n = len(lat.lung)
    ild = binary(mix(rng, lat.lung, 0.8), sc.p_ild)
    pah = binary(mix(rng, lat.lung, 0.3), sc.p_pah)
    # FVC 85 ± 18 overall ([S15], [S11]): ILD lowers it; DLCO 65 ± 17 ([S17], [S11]): ILD and PAH.
    fvc = truncated_normal(rng.standard_normal(n), np.where(ild, 79.0, 94.0), 15.0, 20.0, 160.0)
    dlco_mean = np.where(ild, 61.0, 71.0) - 10.0 * pah
    dlco = truncated_normal(rng.standard_normal(n), dlco_mean, 14.0, 10.0, 160.0)
    lvef = truncated_normal(rng.standard_normal(n), 60.0, 6.0, 10.0, 85.0)  # §10.1
    return {
        "arthritis": binary(mix(rng, lat.inflammation, 0.4), 0.19),  # 17.7-21.4% [S15], [S24]
        "joint_contractures": binary(mix(rng, lat.skin, 0.4), 0.50),  # about 50% [S24]
        "delta_cardiopulmonary": binary(mix(rng, lat.lung, 0.4), 0.20),  # §10.1
        "ild_on_hrct": ild,
        "pah": pah,
        "fvc_pct_pred": round_to(fvc, 0.1, 20.0, 160.0),
        "dlco_pct_pred": round_to(dlco, 0.1, 10.0, 160.0),
        "lvef_pct": round_to(lvef, 0.1, 10.0, 85.0),
    }


def labs(rng: np.random.Generator, sc: Scenario, lat: Latents) -> Columns:
    """Acute-phase reactants, complement and autoantibodies."""
    n = len(lat.inflammation)
    # ESR log-normal, median 25, 90th centile about 60 ([S26], [S95]): sigma = ln(60/25)/1.2816.
    esr = lognormal(mix(rng, lat.inflammation, 0.7), 25.0, 0.683, 1.0, 150.0)
    # CRP log-normal, median 4.5, mean about 9 mg/L ([S95], [S11]): sigma = sqrt(2 ln 2).
    crp = lognormal(mix(rng, lat.inflammation, 0.7), 4.5, 1.177, 0.1, 300.0)
    complement = rng.standard_normal(n)
    # C3/C4 set so that about 10% fall below 0.9 / 0.1 g/L (§10.1, prevalence an assumption).
    c3 = round_to(
        truncated_normal(mix(rng, complement, 0.6), 1.16, 0.20, 0.05, 3.0), 0.01, 0.05, 3.0
    )
    c4 = round_to(
        truncated_normal(mix(rng, complement, 0.6), 0.26, 0.07, 0.01, 1.0), 0.01, 0.01, 1.0
    )
    profile = categorical(rng, n, ANTIBODY_PROFILES, sc.antibody_probabilities)
    return {
        "esr_mm_h": round_to(esr, 1.0, 0.0, 150.0),
        "crp_mg_l": round_to(crp, 0.1, 0.0, 300.0),
        "c3_g_l": c3,
        "c4_g_l": c4,
        "hypocomplementemia": (c3 < 0.9) | (c4 < 0.1),  # dictionary default limits
        "anti_topo1": profile == "anti_topo1",
        "anti_centromere": profile == "anti_centromere",
        "anti_rnap3": profile == "anti_rnap3",
    }


def function_scores(rng: np.random.Generator, lat: Latents) -> Columns:
    """HAQ-DI, SF-36, global assessments."""
    # HAQ-DI 1.2 ± 0.7, r about 0.4-0.5 with mRSS (§10.1; 1.09-1.26 in dcSSc [S89], [S90]).
    own = rng.standard_normal(len(lat.skin))
    disability = standardise(0.45 * lat.skin + 0.3 * lat.inflammation + 0.85 * own)
    haq = truncated_normal(disability, 1.2, 0.7, 0.0, 3.0)
    pcs = truncated_normal(mix(rng, -disability, 0.6), 36.7, 11.2, 0.0, 100.0)  # [S92]
    mcs = truncated_normal(mix(rng, -disability, 0.3), 49.0, 11.7, 0.0, 100.0)  # [S92]
    patient = truncated_normal(mix(rng, disability, 0.6), 6.0, 2.0, 0.0, 10.0)  # [S11] / 10
    physician = truncated_normal(mix(rng, lat.skin, 0.5), 6.0, 1.5, 0.0, 10.0)  # [S11] / 10
    return {
        "haq_di": round_to(haq, 0.125, 0.0, 3.0),  # mean of 8 items: multiples of 1/8 (§9.6)
        "patient_global": round_to(patient, 0.1, 0.0, 10.0),
        "physician_global": round_to(physician, 0.1, 0.0, 10.0),
        "sf36_pcs": round_to(pcs, 0.1, 0.0, 100.0),
        "sf36_mcs": round_to(mcs, 0.1, 0.0, 100.0),
    }


def treatment(rng: np.random.Generator, sc: Scenario, n: int) -> Columns:
    """Prior immunosuppression, cell product and dose."""
    prior = sc.min_prior_immunosuppressants + rng.poisson(sc.extra_immunosuppressants_mean, n)
    product = categorical(rng, n, sc.cell_products, sc.cell_product_probabilities)
    # MNC: 88 x 10^6 cells in a ~65 kg adult, about 1.35 x 10^6/kg [S42]; MSC 1-3 x 10^6/kg [S66].
    median = np.where(product == "auto_bm_mnc", 1.35, 1.5)
    dose = median * np.exp(rng.normal(0.0, 0.3, size=n))
    return {
        "prior_immunosuppressants": np.minimum(prior, 10).astype(np.int64),
        "cell_product": product,
        "cell_dose_million_per_kg": round_to(dose, 0.01, 0.1, 10.0),
    }
