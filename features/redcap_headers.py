"""Label headers of a REDCap export back to variable names.

REDCap's "CSV / Microsoft Excel (labels)" export (and the API's ``rawOrLabelHeaders=label``)
heads each column with the field label instead of the variable name: ``Event Name``,
``Repeat Instrument``, ``Repeat Instance`` for the system columns, ``Complete?`` for every form
status, and ``<field label> (choice=<choice label>)`` for each checkbox column. The project's
labels are generated (:mod:`features.redcap_dictionary`) and unique, so each maps back to one
variable; a header that is already a variable name is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from ssc_response.features.redcap_dictionary import (
    ANTIBODY_CHECKBOX,
    ANTIBODY_LABELS,
    redcap_dictionary_rows,
)

__all__ = ["STATUS_HEADER", "has_label_headers", "variable_names"]

STATUS_HEADER = re.compile(r"^complete\?(\.\d+)?$")  # pandas renames repeats "Complete?.1"
_SYSTEM_LABELS = {"event name": "redcap_event_name",
                  "repeat instrument": "redcap_repeat_instrument",
                  "repeat instance": "redcap_repeat_instance",
                  "data access group": "redcap_data_access_group",
                  "survey identifier": "redcap_survey_identifier"}


@cache
def _field_labels() -> dict[str, str]:
    """Lower-cased field label -> variable name, for every non-checkbox field."""
    return {row["Field Label"].lower(): row["Variable / Field Name"]
            for row in redcap_dictionary_rows() if row["Field Type"] != "checkbox"}


def _checkbox_labels(missing_codes: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased ``label (choice=...)`` header -> ``box___code`` (missing codes included)."""
    labels = {row["Variable / Field Name"]: row["Field Label"] for row in redcap_dictionary_rows()}
    headers = {}
    for box, members in ANTIBODY_CHECKBOX.items():
        choices = {code: ANTIBODY_LABELS[code] for code in members}
        choices |= {code.lower(): label for code, label in missing_codes.items()}
        for code, choice in choices.items():
            headers[f"{labels[box]} (choice={choice})".lower()] = f"{box}___{code}"
    return headers


def has_label_headers(names: list[str]) -> bool:
    """Do these headers look like a label export's (a form status or a system label)?"""
    lowered = [name.strip().lower() for name in names]
    return any(STATUS_HEADER.match(n) or n in _SYSTEM_LABELS or "(choice=" in n
               for n in lowered)


def variable_names(names: list[str], missing_codes: Mapping[str, str]) -> list[str]:
    """Each header as its variable name (lower case); form statuses as ``_complete`` names."""
    known = _field_labels() | _SYSTEM_LABELS | _checkbox_labels(missing_codes)
    out = []
    for position, name in enumerate(names):
        lowered = name.strip().lower()
        if STATUS_HEADER.match(lowered):
            out.append(f"form_{position}_complete")
        else:
            out.append(known.get(lowered, lowered))
    return out
