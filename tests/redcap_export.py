"""A REDCap records export made from a cohort, as REDCap 14 writes one (test helper).

Written independently of :mod:`features.redcap` (the reader): from REDCap's export conventions
and the dictionary the project is created from, so that a round trip tests the reader.
"""

from __future__ import annotations

import pandas as pd

from ssc_response.features.redcap_dictionary import (
    ANTIBODY_CHECKBOX,
    ANTIBODY_LABELS,
    choice_labels,
    instrument_of,
    redcap_dictionary_rows,
)
from ssc_response.features.schema import fields

BASELINE_EVENT = {False: "baseline_arm_1", True: "Baseline (Arm 1: Arm 1)"}
FOLLOWUP_EVENT = {False: "month_12_arm_1", True: "Month 12 (Arm 1: Arm 1)"}
STATUS = {False: "2", True: "Complete"}  # the <instrument>_complete value of a filled form
MISSING_LABELS = {"UNK": "Unknown", "ND": "Not done", "NASK": "Not asked"}
SYSTEM_LABELS = {"redcap_event_name": "Event Name"}


def _cell(name: str, value: object, labels: bool) -> str:
    """One value as REDCap exports it (raw code or label); '' when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    field = fields()[name]
    if field.type == "boolean":
        return ("Yes" if value else "No") if labels else ("1" if value else "0")
    if field.type == "category":
        return choice_labels(field)[str(value)] if labels else str(value)
    if field.type == "integer":
        return str(int(value))  # type: ignore[call-overload]
    return repr(float(value)) if field.type == "float" else str(value)  # type: ignore[arg-type]


def _checkbox_cells(row: pd.Series, labels: bool, missing_code: str | None) -> dict[str, str]:
    ticked, unticked = ("Checked", "Unchecked") if labels else ("1", "0")
    cells: dict[str, str] = {}
    for box, members in ANTIBODY_CHECKBOX.items():
        known = all(pd.notna(row.get(field)) for field in members.values())
        for code, field in members.items():
            cells[f"{box}___{code}"] = ticked if known and bool(row[field]) else unticked
        if missing_code is not None:
            cells[f"{box}___{missing_code.lower()}"] = unticked if known else ticked
    return cells


def _visit(row: pd.Series, role: set[str], labels: bool, missing_code: str | None) -> dict:
    boxed = {f for members in ANTIBODY_CHECKBOX.values() for f in members.values()}
    cells: dict[str, str] = {}
    forms: set[str] = set()
    for name, field in fields().items():
        if field.role in role and name not in boxed and name != "patient_id":
            cell = _cell(name, row.get(name), labels)
            if cell == "" and missing_code is not None:
                cell = missing_code
            cells[name] = cell
            forms.add(instrument_of(field))
    if "baseline" in role:
        cells.update(_checkbox_cells(row, labels, missing_code))
    cells.update({f"{form}_complete": STATUS[labels] for form in sorted(forms)})
    return cells


def to_redcap_export(cohort: pd.DataFrame, labels: bool, *, longitudinal: bool = True,
                     missing_code: str | None = None, headers: bool = False) -> pd.DataFrame:
    """The records export of ``cohort`` (all text): one baseline row per patient and, when
    ``longitudinal``, a follow-up event row for those with any follow-up value (else one row
    per patient). ``missing_code`` (e.g. 'UNK') is written for every missing value and ticked on
    checkboxes whose panel is missing, as a project with missing-data codes exports them.
    ``headers``: label headers (the "CSV (labels)" export) instead of variable names."""
    outcome_names = [n for n, f in fields().items() if f.role == "outcome" and n in cohort]
    rows = []
    for _, row in cohort.iterrows():
        record = {"patient_id": str(row["patient_id"])}
        if not longitudinal:
            rows.append(record | _visit(row, {"baseline", "outcome"}, labels, missing_code))
            continue
        rows.append(record | {"redcap_event_name": BASELINE_EVENT[labels]}
                    | _visit(row, {"baseline"}, labels, missing_code))
        if row[outcome_names].notna().any():
            rows.append(record | {"redcap_event_name": FOLLOWUP_EVENT[labels]}
                        | _visit(row, {"outcome"}, labels, missing_code))
    export = pd.DataFrame(rows).fillna("")
    return export.set_axis(label_headers(list(export.columns)), axis=1) if headers else export


def label_headers(names: list[str]) -> list[str]:
    """Headers as REDCap's labels export writes them: field labels, ``Event Name``,
    ``Complete?`` for every form status, ``<label> (choice=<choice label>)`` for checkboxes."""
    labels = {row["Variable / Field Name"]: row["Field Label"] for row in redcap_dictionary_rows()}
    out = []
    for name in names:
        box, _, code = name.partition("___")
        if code:
            choice = ANTIBODY_LABELS.get(code) or MISSING_LABELS[code.upper()]
            out.append(f"{labels[box]} (choice={choice})")
        elif name.endswith("_complete"):
            out.append("Complete?")
        else:
            out.append(SYSTEM_LABELS.get(name) or labels[name])
    return out
