"""Clinical words for the data dictionary's fields and category values: forms, charts, warnings.

The dictionary's descriptions are written for data managers ("Modified Rodnan skin score total;
may be omitted when ..."); a chart needs "mRSS". Names not listed here fall back to the first
clause of the description, so a field added to the dictionary is never nameless. Category values
(``auto_bm_msc``, ``lower_leg``) get their words from the dictionary's description where it
lists them in the order of ``allowed`` (``cell_product``), else from :data:`_VALUE_WORDS`;
``tests/features/test_clinical_labels.py`` checks that every allowed value has words.
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


# Words for category values the dictionary's description does not spell out.
_VALUE_WORDS: dict[str, dict[str, str]] = {
    "sex": {"F": "female", "M": "male"},
    "cutaneous_subset": {"diffuse": "diffuse cutaneous SSc", "limited": "limited cutaneous SSc"},
    "nvc_pattern": {"normal": "normal", "nonspecific": "non-specific abnormalities",
                    "early": "early scleroderma pattern", "active": "active scleroderma pattern",
                    "late": "late scleroderma pattern"},
    "biopsy_site": {"forearm": "forearm", "lower_leg": "lower leg", "other": "other site"},
}
YES_NO = {True: "yes", False: "no"}


@cache
def value_words(name: str) -> dict[str, str]:
    """Words for each allowed value of a category field ({} for other fields)."""
    field = fields().get(name)
    if field is None or field.type != "category":
        return {}
    if name in _VALUE_WORDS:
        return dict(_VALUE_WORDS[name])
    # "Cell product: autologous bone-marrow MSC; autologous ...": one clause per allowed value.
    clauses = field.description.split(": ", 1)[-1].split("; ")
    if len(clauses) == len(field.allowed):
        return dict(zip(field.allowed, clauses, strict=True))
    return {value: value.replace("_", " ") for value in field.allowed}


def value_label(name: str, value: object) -> str:
    """A field's value as a clinician reads it: category words, yes/no, the number as given."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool) or (is_flag(name) and value in (0, 1, "true", "false")):
        return YES_NO[value in (True, 1, "true")]
    if isinstance(value, str):
        return value_words(name).get(value, value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
