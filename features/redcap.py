"""Reading a REDCap export of the project :mod:`features.redcap_dictionary` describes.

:func:`from_redcap_export` turns the records export (CSV from "Data Exports" or the API's
``content=record``, flat format, raw variable names as headers) into the contract's table, one
row per patient, as text, ready for :func:`features.validation.validate_frame`. It follows the
conventions of REDCap 14 exports (also those PyCap and REDCapR read):

* values may be raw codes or labels ("raw" or "label" export): ``1``/``0`` or ``Yes``/``No``
  for yes/no fields, the code or the label of a dropdown choice;
* a checkbox is exported as one column per choice, ``field___code``, holding ``1``/``0`` (raw)
  or ``Checked``/``Unchecked`` (labels);
* missing-data codes (project setting "Missing Data Codes", HL7 nullFlavor style: ``UNK``,
  ``NASK``, ``ND``...) are read as missing; on a checkbox they are extra choices
  (``field___unk``), and a ticked one makes the whole checkbox missing;
* a longitudinal project has ``redcap_event_name`` (``baseline_arm_1`` raw, ``Baseline (Arm 1:
  Arm 1)`` as label): baseline fields come from the baseline event and follow-up fields from
  the follow-up event (``month_12`` by default);
* a repeating follow-up (instrument or event) has ``redcap_repeat_instrument`` /
  ``redcap_repeat_instance``: of several follow-up visits the one nearest 12 months
  (``followup_months``; the EUSTAR window is 12 ± 2 months) is kept, the first on a tie;
* form status columns (``<instrument>_complete``), survey timestamps (``<instrument>_timestamp``)
  and REDCap's other system columns are dropped;
* headers may be variable names or labels (:mod:`features.redcap_headers`).

Columns outside the project are passed through, so validation names them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from ssc_response.features.redcap_dictionary import (
    ANTIBODY_CHECKBOX,
    FORM_ORDER,
    choice_labels,
)
from ssc_response.features.redcap_headers import has_label_headers, variable_names
from ssc_response.features.schema import fields

__all__ = ["DEFAULT_MISSING_CODES", "RedcapExportError", "contract_table", "from_redcap_export",
           "is_redcap_export"]

# REDCap's suggested missing-data codes (HL7 nullFlavor) plus ND, often configured; code -> label.
DEFAULT_MISSING_CODES: Mapping[str, str] = MappingProxyType({
    "NI": "No information", "INV": "Invalid", "UNK": "Unknown", "NASK": "Not asked",
    "ASKU": "Asked but unknown", "NAV": "Temporarily unavailable", "MSK": "Masked",
    "NA": "Not applicable", "NAVU": "Not available", "NP": "Not present", "OTH": "Other",
    "ND": "Not done",
})
EVENT = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
SYSTEM_COLUMNS = (EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE, "redcap_data_access_group",
                  "redcap_survey_identifier")
TARGET_FOLLOWUP_MONTHS = 12.0
_YESNO = {"yes": "true", "no": "false", "1": "true", "0": "false"}
_TICK = {"1": True, "checked": True, "0": False, "unchecked": False}
_ID = "patient_id"


class RedcapExportError(ValueError):
    """A REDCap export this project cannot read, with the reason in words."""


def is_redcap_export(frame: pd.DataFrame) -> bool:
    """Does ``frame`` look like a REDCap records export (system, form-status or checkbox
    columns of this project)?"""
    names = {str(name).strip().lower() for name in frame.columns}
    statuses = {f"{form}_complete" for form in FORM_ORDER}
    boxes = {name.split("___")[0] for name in names if "___" in name}
    return bool(names & set(SYSTEM_COLUMNS) or names & statuses
                or boxes & set(ANTIBODY_CHECKBOX) or has_label_headers(list(names)))


def from_redcap_export(
    frame: pd.DataFrame,
    *,
    missing_codes: Mapping[str, str] = DEFAULT_MISSING_CODES,
    baseline_event: str = "baseline",
    followup_event: str = "month_12",
) -> pd.DataFrame:
    """The contract's table (text, '' when missing, one row per patient) from a REDCap export.

    ``baseline_event`` / ``followup_event``: the events' names without the arm (``month_12``
    matches ``month_12_arm_1`` and the label "Month 12 (Arm 1: Arm 1)").
    Raises :class:`RedcapExportError` when the export cannot be read as one row per patient.
    """
    text = _as_text(frame, missing_codes)
    if _ID not in text.columns:
        raise RedcapExportError(f"the REDCap export has no '{_ID}' column (the record id of "
                                "the project made from 'ssc-response redcap-dictionary')")
    text = _blank_missing_codes(text, missing_codes)
    text = _decode_values(_decode_checkboxes(text, missing_codes))
    baseline, followup = _split_visits(text, baseline_event, followup_event)
    return _one_row_per_patient(baseline, followup)


def contract_table(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` as read from a file, converted when it is a REDCap export (else unchanged):
    what a reader of patient files calls before validation."""
    return from_redcap_export(raw) if is_redcap_export(raw) else raw


def _as_text(frame: pd.DataFrame, missing_codes: Mapping[str, str]) -> pd.DataFrame:
    """Every cell as stripped text ('' when missing); headers as lower-case variable names,
    form statuses and survey timestamps dropped (no contract field ends in ``_complete`` or
    ``_timestamp``)."""
    text = frame.astype(object).where(frame.notna(), "").map(lambda v: str(v).strip())
    names = [str(name) for name in frame.columns]
    text.columns = (variable_names(names, missing_codes) if has_label_headers(names)
                    else [name.strip().lower() for name in names])
    statuses = [name for name in text.columns if name.endswith(("_complete", "_timestamp"))]
    return text.drop(columns=statuses).reset_index(drop=True)


def _blank_missing_codes(text: pd.DataFrame, codes: Mapping[str, str]) -> pd.DataFrame:
    """A missing-data code, or its label, becomes '' in every data column."""
    words = {word.lower() for pair in codes.items() for word in pair}
    data = [name for name in text.columns if name not in SYSTEM_COLUMNS and name != _ID]
    out = text.copy()
    out[data] = text[data].where(~text[data].apply(lambda c: c.str.lower().isin(words)), "")
    return out


def _tick(column: pd.Series, name: str) -> pd.Series:
    """A checkbox column as True/False/None ('' is not known)."""
    lowered = column.str.lower()
    unknown = sorted(set(lowered[(lowered != "") & ~lowered.isin(list(_TICK))]))
    if unknown:
        raise RedcapExportError(f"checkbox column '{name}' holds {unknown[:3]}: expected 1/0 "
                                "or Checked/Unchecked")
    return lowered.map(_TICK)


def _decode_checkboxes(text: pd.DataFrame, codes: Mapping[str, str]) -> pd.DataFrame:
    """``box___code`` columns -> the contract's yes/no fields ('true'/'false'/'')."""
    out = text.copy()
    for box, members in ANTIBODY_CHECKBOX.items():
        present = [f"{box}___{code}" for code in members if f"{box}___{code}" in text]
        if not present:
            continue
        flagged = [f"{box}___{code.lower()}" for code in codes if f"{box}___{code.lower()}" in text]
        missing = np.zeros(len(text), dtype=bool)
        for name in flagged:
            missing |= _tick(text[name], name).fillna(False).to_numpy(dtype=bool)
        for code, field in members.items():
            name = f"{box}___{code}"
            ticks = _tick(text[name], name) if name in text else pd.Series(None, text.index)
            words = ticks.map({True: "true", False: "false"}).fillna("")
            out[field] = words.where(~missing, "")
        out = out.drop(columns=present + flagged)
    return out


def _decode_values(text: pd.DataFrame) -> pd.DataFrame:
    """Yes/No labels and dropdown labels -> the contract's values; raw codes stay as they are."""
    out = text.copy()
    for name in text.columns:
        field = fields().get(name)
        if field is None:
            continue
        if field.type == "boolean":
            out[name] = text[name].map(lambda v: _YESNO.get(v.lower(), v))
        elif field.type == "category":
            by_label = {label.lower(): code for code, label in choice_labels(field).items()}
            out[name] = text[name].map(lambda v, m=by_label: m.get(v.lower(), v))
    return out


def _event_key(name: str) -> str:
    """'month_12_arm_1' and 'Month 12 (Arm 1: Arm 1)' -> 'month_12'."""
    name = re.sub(r"\s*\(arm \d+:.*\)\s*$", "", name.lower())
    name = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    return re.sub(r"_arm_\d+$", "", name)


def _split_visits(text: pd.DataFrame, baseline_event: str,
                  followup_event: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(baseline rows, follow-up rows) by event, else by repeating instrument."""
    if EVENT in text.columns:
        keys = text[EVENT].map(_event_key)
        wanted = {_event_key(baseline_event), _event_key(followup_event)}
        if _event_key(baseline_event) not in set(keys):
            raise RedcapExportError(
                f"no '{baseline_event}' event in the export's {EVENT} (found "
                f"{sorted(set(text[EVENT]))}); name the baseline event")
        others = sorted(set(text.loc[~keys.isin(wanted), EVENT]))
        if others and _event_key(followup_event) not in set(keys):
            raise RedcapExportError(f"no '{followup_event}' event in the export's {EVENT} "
                                    f"(found {sorted(set(text[EVENT]))}); name the follow-up event")
        return (text[keys == _event_key(baseline_event)],
                text[keys == _event_key(followup_event)])
    if REPEAT_INSTRUMENT in text.columns and (text[REPEAT_INSTRUMENT] != "").any():
        repeating = text[REPEAT_INSTRUMENT] != ""
        return text[~repeating], text[repeating]
    return text, text


def _nearest_target(followup: pd.DataFrame) -> pd.DataFrame:
    """One follow-up row per patient: the one nearest 12 months, the first on a tie."""
    distance = pd.Series(np.inf, index=followup.index)
    if "followup_months" in followup.columns:
        months = pd.to_numeric(followup["followup_months"], errors="coerce")
        distance = (months - TARGET_FOLLOWUP_MONTHS).abs().fillna(np.inf)
    order = followup.assign(_distance=distance, _position=np.arange(len(followup)))
    chosen = order.sort_values(["_distance", "_position"], kind="stable")
    return chosen.drop_duplicates(_ID).sort_values("_position").drop(
        columns=["_distance", "_position"])


def _one_row_per_patient(baseline: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    repeated = baseline[_ID][baseline[_ID].duplicated()]
    if not repeated.empty:
        raise RedcapExportError(f"patient '{repeated.iloc[0]}' has more than one baseline row "
                                "in the REDCap export; one baseline visit per patient is read")
    dropped = set(SYSTEM_COLUMNS)
    outcome = [n for n, f in fields().items() if f.role == "outcome" and n in followup.columns]
    base_columns = [n for n in baseline.columns if n not in dropped and n not in outcome]
    later = _nearest_target(followup)[[_ID, *outcome]]
    # Outer join: a follow-up without a baseline row stays, so validation reports it.
    merged = baseline[base_columns].merge(later, on=_ID, how="outer", sort=False)
    with_values = merged.fillna("")
    ordered = [n for n in fields() if n in with_values.columns]
    extra = [n for n in with_values.columns if n not in fields()]
    return with_values[ordered + extra].reset_index(drop=True)
