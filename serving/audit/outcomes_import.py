"""Outcomes from a table (``ssc-response outcomes import``): one follow-up a row.

Columns: ``prediction_id``, or ``patient_id`` with ``visit_date``; ``visit_date`` (YYYY-MM-DD)
always; then the follow-up fields of the data dictionary. A blank cell is a missing value. Every
row is checked before anything is stored (:meth:`OutcomeStore.record`: all rows or none).
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from ssc_response.features.schema import outcome_fields
from ssc_response.features.validation import ContractError, Problem
from ssc_response.serving.audit.outcomes import OutcomeIn

IDENTIFYING = ("prediction_id", "patient_id", "visit_date")


def _cell(value: object) -> object:
    """A cell as given, ``None`` when blank or missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


def _visit_date(value: object, row: int) -> date | Problem:
    text = _cell(value)
    if text is None:
        return Problem(row, "visit_date", None, "required: the date of the follow-up visit "
                                                "(YYYY-MM-DD)")
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return Problem(row, "visit_date", text, "not a date; write it as YYYY-MM-DD")


def outcomes_from_frame(frame: pd.DataFrame) -> list[OutcomeIn]:
    """One :class:`OutcomeIn` a row; raises ``ContractError`` for columns or dates it cannot
    read (rows numbered from 1, as in the file)."""
    problems = [Problem(None, str(name), None, "not a follow-up field of the data dictionary; "
                        "an outcome file holds only follow-up fields and "
                        f"{', '.join(IDENTIFYING)}")
                for name in frame.columns if name not in (*IDENTIFYING, *outcome_fields())]
    if "prediction_id" not in frame.columns and "patient_id" not in frame.columns:
        problems.append(Problem(None, "prediction_id", None, "required column: give "
                                "prediction_id, or patient_id with visit_date"))
    if "visit_date" not in frame.columns:
        problems.append(Problem(None, "visit_date", None, "required column: the date of the "
                                "follow-up visit (YYYY-MM-DD)"))
    if problems:
        raise ContractError(problems)
    outcomes = []
    for number, row in enumerate(frame.to_dict("records"), start=1):
        visit = _visit_date(row["visit_date"], number)
        if isinstance(visit, Problem):
            problems.append(visit)
            continue
        values = {name: _cell(row[name]) for name in outcome_fields() if name in row}
        prediction_id, patient_id = _cell(row.get("prediction_id")), _cell(row.get("patient_id"))
        outcomes.append(OutcomeIn(visit, {k: v for k, v in values.items() if v is not None},
                                  None if prediction_id is None else str(prediction_id),
                                  None if patient_id is None else str(patient_id)))
    if problems:
        raise ContractError(problems)
    return outcomes
