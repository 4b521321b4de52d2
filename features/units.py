"""The fixed list of unit conversions a centre's mapping file may ask for.

Only true changes of unit are here: a constant factor between two ways of writing the same
quantity (1 dL = 0.1 L, so 1 mg/dL = 10 mg/L; 1 year = 12 months). A value that needs more than
a factor is refused with the reason, e.g. DLCO in mmol/min/kPa: per cent of predicted depends on
the patient's own reference value (age, sex, height; the GLI equations), which no factor gives.
"""

from __future__ import annotations

from ssc_response.features.schema import fields

# (dictionary field, the centre's unit) -> factor to the dictionary's unit
CONVERSIONS: dict[tuple[str, str], float] = {
    ("crp_mg_l", "mg/dL"): 10.0,  # shared/clinical-reference.md: CRP 1 mg/dL = 10 mg/L
    ("c3_g_l", "mg/dL"): 0.01,
    ("c3_g_l", "g/dL"): 10.0,
    ("c4_g_l", "mg/dL"): 0.01,
    ("c4_g_l", "g/dL"): 10.0,
    ("disease_duration_months", "years"): 12.0,
    ("raynaud_duration_months", "years"): 12.0,
    ("followup_months", "years"): 12.0,
    ("epidermal_thickness_um", "mm"): 1000.0,
    ("epidermal_thickness_um", "µm"): 1.0,
    ("dermal_thickness_mm", "um"): 0.001,
    ("dermal_thickness_mm", "µm"): 0.001,
    ("dermal_thickness_mm", "cm"): 10.0,
}

_PREDICTED = ("per cent of predicted needs the patient's own reference value (from age, sex and "
              "height, e.g. the GLI equations), which no unit factor gives: give {field} as the "
              "lung-function laboratory reports it, in % predicted")
# Units a centre may well hold, that are not a unit change of the dictionary's field.
NOT_CONVERSIONS: dict[tuple[str, str], str] = {
    ("dlco_pct_pred", "mmol/min/kPa"): "DLCO in mmol/min/kPa is an absolute gas transfer; "
                                       + _PREDICTED,
    ("dlco_pct_pred", "mL/min/mmHg"): "DLCO in mL/min/mmHg is an absolute gas transfer; "
                                      + _PREDICTED,
    ("fvc_pct_pred", "L"): "FVC in litres is an absolute volume; " + _PREDICTED,
    ("fvc_pct_pred", "mL"): "FVC in millilitres is an absolute volume; " + _PREDICTED,
}


class UnitProblem(ValueError):
    """A unit conversion the fixed list does not hold (the message says why, or what it holds)."""


def conversion_factor(field: str, unit: str) -> float:
    """The factor taking ``field`` from the centre's ``unit`` to the dictionary's unit."""
    if field not in fields():
        raise UnitProblem(f"{field!r} is not a field of the data dictionary")
    target = fields()[field].unit
    if _same(unit, target):
        return 1.0
    for (name, source), factor in CONVERSIONS.items():
        if name == field and _same(unit, source):
            return factor
    for (name, source), reason in NOT_CONVERSIONS.items():
        if name == field and _same(unit, source):
            raise UnitProblem(f"{reason.format(field=field)} (not a unit conversion)")
    known = [source for name, source in CONVERSIONS if name == field and source != "µm"]
    offer = f"from {', '.join(known)}" if known else "from no other unit"
    raise UnitProblem(f"{field} is in {target or 'no unit'}; it can be converted {offer}, "
                      f"not from {unit!r}")


def _same(first: str, second: str) -> bool:
    """Units compared without regard to case or spaces; 'u' stands for 'µ' (micro)."""
    def key(unit: str) -> str:
        return unit.replace("µ", "u").replace("μ", "u").replace(" ", "").casefold()
    return key(first) == key(second)
