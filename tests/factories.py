"""Plain factory functions for test data: valid by default, overridden per test.

``make_patient`` returns a complete, valid baseline record (every baseline field of the data
dictionary, the 17 mRSS site scores adding up to ``mrss_total``); ``make_followup`` returns the
follow-up (outcome) fields only; merge the two for a record with outcomes:
``{**make_patient(), **make_followup()}``.
"""

from __future__ import annotations

from ssc_response.features.schema import MRSS_SITE_FIELDS

# Site scores of a typical diffuse patient (hands and forearms worst); they add up to 22.
SITE_SCORES: dict[str, int] = dict(
    zip(MRSS_SITE_FIELDS, (1, 1, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1), strict=True)
)

_DEMOGRAPHICS_AND_DISEASE: dict[str, object] = {
    "patient_id": "SSC-0001",
    "age_years": 45.0,
    "sex": "F",
    "disease_duration_months": 24.0,
    "raynaud_duration_months": 36.0,
    "cutaneous_subset": "diffuse",
}

_CLINICAL: dict[str, object] = {
    "delta_skin": True,
    "scleredema": False,
    "tendon_friction_rubs": False,
    "digital_ulcers_active": True,
    "digital_pitting_scars": True,
    "telangiectasia": False,
    "puffy_fingers": True,
    "sclerodactyly": True,
    "skin_thickening_proximal_mcp": True,
    "raynaud_phenomenon": True,
    "delta_vascular": False,
    "raynaud_condition_score": 5.0,
    "nvc_pattern": "active",
    "nvc_capillary_density_per_mm": 5.5,
    "arthritis": False,
    "joint_contractures": True,
    "delta_cardiopulmonary": False,
    "ild_on_hrct": True,
    "pah": False,
    "fvc_pct_pred": 82.0,
    "dlco_pct_pred": 65.0,
    "lvef_pct": 60.0,
    "esr_mm_h": 28.0,
    "crp_mg_l": 6.0,
    "c3_g_l": 0.95,
    "c4_g_l": 0.18,
    "hypocomplementemia": False,  # consistent with C3 >= 0.9 g/L and C4 >= 0.1 g/L
    "anti_topo1": True,
    "anti_centromere": False,
    "anti_rnap3": False,
    "haq_di": 1.25,
    "patient_global": 6.0,
    "physician_global": 5.0,
    "sf36_pcs": 35.0,
    "sf36_mcs": 45.0,
}

_TREATMENT_AND_HISTOLOGY: dict[str, object] = {
    "prior_immunosuppressants": 2,
    "cell_product": "auto_bm_msc",
    "cell_dose_million_per_kg": 1.0,
    "biopsy_site": "forearm",
    "dermal_thickness_mm": 2.4,
    "epidermal_thickness_um": 45.0,
    "rete_ridge_flattening": 2,
    "fibrosis_grade": 2,
    "hyalinized_collagen_score": 2,
    "myofibroblast_score": 1,
    "inflammatory_infiltrate_score": 1,
    "microvessel_density_per_mm2": 120.0,
    "collagen_area_fraction_pct": 55.0,
    "interstitial_edema_pct": 10.0,
    "adnexal_atrophy": 1,
}

_FOLLOWUP: dict[str, object] = {
    "followup_months": 12.0,
    "mrss_total_followup": 14,
    "fvc_pct_pred_followup": 84.0,
    "haq_di_followup": 0.875,
    "patient_global_followup": 4.0,
    "physician_global_followup": 3.0,
    "criss_organ_event_followup": False,
    "raynaud_condition_score_followup": 3.0,
    "fibrosis_grade_followup": 1,
    "microvessel_density_per_mm2_followup": 140.0,
    "epidermal_thickness_um_followup": 50.0,
}


def make_patient(**overrides: object) -> dict[str, object]:
    """A valid, complete baseline record; ``overrides`` replace fields (None = missing).

    When site scores are overridden but ``mrss_total`` is not, the total follows the sites so the
    record stays consistent (only if every site is then an int; otherwise the total is kept).
    """
    record: dict[str, object] = {
        **_DEMOGRAPHICS_AND_DISEASE,
        "mrss_total": sum(SITE_SCORES.values()),
        **SITE_SCORES,
        **_CLINICAL,
        **_TREATMENT_AND_HISTOLOGY,
    }
    record.update(overrides)
    sites = [record[name] for name in MRSS_SITE_FIELDS]
    if "mrss_total" not in overrides and all(isinstance(s, int) for s in sites):
        record["mrss_total"] = sum(s for s in sites if isinstance(s, int))
    return record


def make_followup(**overrides: object) -> dict[str, object]:
    """Valid follow-up (outcome) fields only; merge with ``make_patient()`` for a full record."""
    return {**_FOLLOWUP, **overrides}
