"""The REDCap project of the data dictionary: instruments, choices and the data dictionary file.

A centre creates its REDCap project by uploading the file :func:`write_redcap_dictionary`
writes ("Project Setup > Data Dictionary > Upload"). It follows the data-dictionary format of
REDCap 14 (the LTS line; unchanged since REDCap 8 added ``Field Annotation``): the 18 columns of
:data:`COLUMNS`, one row per field, instruments in the order their fields first appear, the
record id first. The contract (``features/data_dictionary.csv``) stays the one source of truth:
every row here is generated from it.

Conventions, shared with the reader (:mod:`features.redcap`):

* variable names are the contract's field names (lower case, letters, digits and underscores,
  as REDCap requires), so an export's columns need no renaming;
* yes/no fields are ``yesno`` (raw 1/0, labels Yes/No); categories are ``dropdown`` whose
  codes are the contract's own values (``F``, ``diffuse``...), with readable labels;
* numbers are ``text`` with validation ``number`` or ``integer`` and the contract's range;
* the three SSc autoantibodies are one ``checkbox`` (:data:`ANTIBODY_CHECKBOX`), as a
  clinician's form asks "positive antibodies, tick all that apply"; an unticked box is a
  negative test, so an untested panel must be entered as a missing-data code (ND, NASK...);
* the follow-up visit is its own instrument, ``follow_up``; in a longitudinal project the
  baseline instruments go to a ``baseline`` event and ``follow_up`` to a ``month_12`` event.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from types import MappingProxyType

from ssc_response.features.schema import REQUIRED_FIELDS, Field, fields

__all__ = [
    "ANTIBODY_CHECKBOX",
    "ANTIBODY_LABELS",
    "CHOICE_LABELS",
    "COLUMNS",
    "INSTRUMENTS",
    "choice_labels",
    "field_label",
    "instrument_of",
    "event_mapping_text",
    "redcap_dictionary_rows",
    "redcap_dictionary_text",
]

COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

# Contract group -> instrument, in the order of the clinician's form.
INSTRUMENTS: Mapping[str, str] = MappingProxyType({
    "identity": "demographics_and_history",
    "demographics": "demographics_and_history",
    "disease": "demographics_and_history",
    "treatment": "demographics_and_history",
    "skin": "activity_items",  # the mRSS fields are split off by name (instrument_of)
    "vascular": "activity_items",
    "musculoskeletal": "activity_items",
    "labs": "laboratory",
    "cardiopulmonary": "lungs_and_heart",
    "function": "quality_of_life",
    "histology": "skin_biopsy",
    "followup": "follow_up",
})
MRSS_INSTRUMENT = "mrss"
BASELINE_EVENT = "baseline_arm_1"
FOLLOWUP_EVENT = "month_12_arm_1"
FORM_ORDER: tuple[str, ...] = ("demographics_and_history", MRSS_INSTRUMENT, "activity_items",
                               "laboratory", "lungs_and_heart", "quality_of_life",
                               "skin_biopsy", "follow_up")

# checkbox variable -> (choice code -> contract field); codes are what REDCap puts after "___".
ANTIBODY_CHECKBOX: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "ssc_antibodies": MappingProxyType({
        "topo1": "anti_topo1", "centromere": "anti_centromere", "rnap3": "anti_rnap3"}),
})
ANTIBODY_LABELS = {"topo1": "Anti-topoisomerase I (anti-Scl-70)",
                    "centromere": "Anticentromere", "rnap3": "Anti-RNA polymerase III"}

# Category labels a clinician reads; a code not listed here is shown as its words.
CHOICE_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "sex": {"F": "Female", "M": "Male"},
    "cutaneous_subset": {"diffuse": "Diffuse cutaneous", "limited": "Limited cutaneous"},
    "cell_product": {
        "auto_bm_msc": "Autologous bone-marrow MSC",
        "auto_bm_mnc": "Autologous bone-marrow mononuclear cells",
        "allo_bm_msc": "Allogeneic bone-marrow MSC",
        "uc_msc": "Umbilical-cord MSC",
        "ad_svf": "Adipose stromal vascular fraction",
    },
})


def instrument_of(field: Field) -> str:
    """The REDCap instrument (form name) a contract field belongs to."""
    if field.name.startswith("mrss_") and field.role == "baseline":
        return MRSS_INSTRUMENT
    return INSTRUMENTS[field.group]


def choice_labels(field: Field) -> dict[str, str]:
    """Code -> label of a category field, in the contract's order."""
    given = CHOICE_LABELS.get(field.name, {})
    return {code: given.get(code, code.replace("_", " ").capitalize()) for code in field.allowed}


# Where the description's first clause is not a question a form can show.
_FIELD_LABELS: Mapping[str, str] = MappingProxyType({
    "patient_id": "Pseudonymous patient id (never a name or a national ID number)",
    "cell_product": "Cell product",
})


# Headers a clinician reads above a field (REDCap's "Section Header").
SECTION_HEADERS: Mapping[str, str] = MappingProxyType({
    "mrss_face": "Skin thickness by palpation at 17 sites: 0 normal, 1 mild, 2 moderate, "
                 "3 severe (unable to pinch)",
    "followup_months": "Follow-up visit, 12 ± 2 months after transplantation",
})


def field_label(field: Field) -> str:
    """A short question text: the description up to its first ';' (details go to the note)."""
    return _FIELD_LABELS.get(field.name) or field.description.split(";")[0].strip()


def _choices_text(labels: Mapping[str, str]) -> str:
    return " | ".join(f"{code}, {label}" for code, label in labels.items())


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _row(field: Field, **cells: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update({"Variable / Field Name": field.name, "Form Name": instrument_of(field),
                "Field Label": field_label(field), "Field Note": field.unit})
    if field.name in REQUIRED_FIELDS:
        row["Required Field?"] = "y"
    row["Section Header"] = SECTION_HEADERS.get(field.name, "")
    row.update(cells)
    return row


def _field_row(field: Field) -> dict[str, str]:
    if field.type == "string":  # the pseudonymous id, the only identifier
        return _row(field, **{"Field Type": "text", "Identifier?": "y"})
    if field.type == "boolean":
        return _row(field, **{"Field Type": "yesno"})
    if field.type == "category":
        choices = _choices_text(choice_labels(field))
        return _row(field, **{"Field Type": "dropdown",
                              "Choices, Calculations, OR Slider Labels": choices})
    validation = "integer" if field.type == "integer" else "number"
    return _row(field, **{"Field Type": "text",
                          "Text Validation Type OR Show Slider Number": validation,
                          "Text Validation Min": _number(field.min),
                          "Text Validation Max": _number(field.max)})


def _checkbox_row(name: str, codes: Mapping[str, str]) -> dict[str, str]:
    first = fields()[next(iter(codes.values()))]
    row = _row(first, **{
        "Variable / Field Name": name,
        "Field Type": "checkbox",
        "Field Label": "SSc-specific autoantibodies: tick every positive test",
        "Choices, Calculations, OR Slider Labels": _choices_text(
            {code: ANTIBODY_LABELS[code] for code in codes}),
        "Field Note": "an unticked box is a negative test; enter ND if the panel was not done",
    })
    return row


def redcap_dictionary_rows() -> list[dict[str, str]]:
    """Every row of the REDCap data dictionary, instruments in :data:`FORM_ORDER`."""
    in_checkbox = {f: name for name, codes in ANTIBODY_CHECKBOX.items() for f in codes.values()}
    rows: dict[str, list[dict[str, str]]] = {form: [] for form in FORM_ORDER}
    for field in fields().values():
        box = in_checkbox.get(field.name)
        if box is None:
            rows[instrument_of(field)].append(_field_row(field))
        elif field.name == next(iter(ANTIBODY_CHECKBOX[box].values())):
            rows[instrument_of(field)].append(_checkbox_row(box, ANTIBODY_CHECKBOX[box]))
    return [row for form in FORM_ORDER for row in rows[form]]


def redcap_dictionary_text() -> str:
    """The data dictionary as CSV text, ready to upload to REDCap."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(redcap_dictionary_rows())
    return buffer.getvalue()


def event_mapping_text() -> str:
    """The instrument-event mapping of a longitudinal project (REDCap's "Designate
    Instruments for My Events" upload: ``arm_num,unique_event_name,form``): every baseline
    instrument in ``baseline_arm_1``, ``follow_up`` in ``month_12_arm_1``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["arm_num", "unique_event_name", "form"])
    for form in FORM_ORDER:
        event = FOLLOWUP_EVENT if form == "follow_up" else BASELINE_EVENT
        writer.writerow(["1", event, form])
    return buffer.getvalue()
