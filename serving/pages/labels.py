"""Short clinical names of the data-dictionary fields, for form labels and explanation charts.

The dictionary's descriptions are written for data managers ("Modified Rodnan skin score total;
may be omitted when ..."); a chart needs "mRSS". Names not listed here fall back to the first
clause of the description, so a field added to the dictionary is never nameless.
"""

from __future__ import annotations

from functools import cache

from ssc_response.features.schema import MRSS_SITE_FIELDS, fields

_SHORT = {
    "patient_id": "Patient ID (pseudonymous)",
    "age_years": "Age",
    "disease_duration_months": "Disease duration",
    "raynaud_duration_months": "Raynaud's duration",
    "cutaneous_subset": "Cutaneous subset",
    "mrss_total": "mRSS",
    "delta_skin": "Worse skin (last month)",
    "scleredema": "Scleredema",
    "tendon_friction_rubs": "Tendon friction rubs",
    "digital_ulcers_active": "Active digital ulcers",
    "digital_pitting_scars": "Digital pitting scars",
    "telangiectasia": "Telangiectasia",
    "puffy_fingers": "Puffy fingers",
    "sclerodactyly": "Sclerodactyly",
    "skin_thickening_proximal_mcp": "Skin thickening proximal to MCPs",
    "raynaud_phenomenon": "Raynaud's phenomenon",
    "delta_vascular": "Worse vascular symptoms (last month)",
    "raynaud_condition_score": "Raynaud's Condition Score",
    "nvc_pattern": "Capillaroscopy pattern",
    "nvc_capillary_density_per_mm": "Capillary density",
    "arthritis": "Arthritis",
    "joint_contractures": "Joint contractures",
    "delta_cardiopulmonary": "Worse heart/lung symptoms (last month)",
    "ild_on_hrct": "ILD on HRCT",
    "pah": "PAH",
    "fvc_pct_pred": "FVC",
    "dlco_pct_pred": "DLCO",
    "lvef_pct": "LVEF",
    "esr_mm_h": "ESR",
    "crp_mg_l": "CRP",
    "c3_g_l": "C3",
    "c4_g_l": "C4",
    "hypocomplementemia": "Hypocomplementaemia",
    "anti_topo1": "Anti-Scl-70",
    "anti_centromere": "Anticentromere",
    "anti_rnap3": "Anti-RNA pol III",
    "haq_di": "HAQ-DI",
    "patient_global": "Patient global",
    "physician_global": "Physician global",
    "sf36_pcs": "SF-36 PCS",
    "sf36_mcs": "SF-36 MCS",
    "prior_immunosuppressants": "Prior immunosuppressants",
    "cell_product": "Cell product",
    "cell_dose_million_per_kg": "Cell dose",
    "biopsy_site": "Biopsy site",
    "dermal_thickness_mm": "Dermal thickness",
    "epidermal_thickness_um": "Epidermal thickness",
    "rete_ridge_flattening": "Rete ridge flattening",
    "fibrosis_grade": "Fibrosis grade",
    "hyalinized_collagen_score": "Hyalinised collagen",
    "myofibroblast_score": "Myofibroblasts (α-SMA)",
    "inflammatory_infiltrate_score": "Inflammatory infiltrate",
    "microvessel_density_per_mm2": "Microvessel density",
    "collagen_area_fraction_pct": "Collagen area fraction",
    "interstitial_edema_pct": "Interstitial oedema",
    "adnexal_atrophy": "Adnexal atrophy",
}
# Units as a clinician writes them (the dictionary keeps ASCII).
_UNITS = {"um": "µm", "vessels/mm2": "vessels/mm²", "10^6 cells/kg": "10⁶ cells/kg"}


@cache
def label(name: str) -> str:
    """The short clinical name of a field (or of an index the model derives)."""
    if name in _SHORT:
        return _SHORT[name]
    if name in MRSS_SITE_FIELDS:  # "mRSS site score: forearm right" -> "Forearm right"
        return fields()[name].description.split(": ", 1)[1].capitalize()
    field = fields().get(name)
    if field is None:
        return name.replace("_", " ")
    return field.description.split(";")[0].split(" (")[0]


def unit(name: str) -> str:
    """A field's unit as shown on the pages ('' when it has none)."""
    field = fields().get(name)
    raw = field.unit if field is not None else ""
    return _UNITS.get(raw, raw)


def is_flag(name: str) -> bool:
    """Whether a field is a yes/no item of the dictionary."""
    field = fields().get(name)
    return field is not None and field.type == "boolean"
