"""Wire shapes of the follow-up outcomes API (``POST``/``GET /v1/outcomes``): the request built
from the data dictionary's follow-up fields, and the recorded outcomes.

A follow-up field is only documented here; its value is checked by the data contract
(:mod:`serving.audit.outcomes`), as a prediction's record is.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model

from ssc_response.features.schema import Field as DictionaryField
from ssc_response.features.schema import fields
from ssc_response.features.validation import ID_MAX_LENGTH, ID_PATTERN
from ssc_response.serving.schemas import Scalar


def _outcome_field(field: DictionaryField) -> Any:
    """A follow-up field as documented; its value is checked by the data contract."""
    unit = f" Unit: {field.unit}." if field.unit else ""
    bounds = (f" Range {field.min:g}-{field.max:g} (inclusive)."
              if field.is_numeric and field.min is not None and field.max is not None else "")
    return (Scalar, Field(None, description=f"{field.description.rstrip('.')}.{unit}{bounds}"))


class _OutcomeBase(BaseModel):
    """Which prediction, and when the follow-up visit took place."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: UUID | None = Field(
        None, description="The served prediction this outcome belongs to.")
    patient_id: str | None = Field(
        None, min_length=1, max_length=ID_MAX_LENGTH, pattern=f"^{ID_PATTERN}$",
        description="Instead of prediction_id: the patient's pseudonymous id; the outcome then "
                    "belongs to the patient's latest prediction served on or before visit_date.")
    visit_date: date = Field(description="Date of the follow-up visit (YYYY-MM-DD); not before "
                                         "the prediction, not in the future.")


@cache
def outcome_in_model() -> type[BaseModel]:
    """``OutcomeIn``: the identifying fields and the data dictionary's follow-up fields."""
    from ssc_response.features.schema import outcome_fields

    definitions = {name: _outcome_field(fields()[name]) for name in outcome_fields()}
    return create_model("OutcomeIn", __base__=_OutcomeBase, **definitions)


class OutcomeOut(BaseModel):
    """One recorded outcome, as stored in the audit trail's outcome chain."""

    seq: int = Field(description="Position in the outcome chain.")
    prediction_id: str
    recorded_at: str = Field(description="UTC ISO-8601 time it was recorded.")
    recorded_by: str = Field(description="Key id of whoever recorded it.")
    visit_date: str
    values: dict[str, Scalar] = Field(description="The follow-up fields as stored.")


class OutcomesOut(BaseModel):
    """The outcomes recorded for one model version's predictions (by visit date)."""

    waiting: int = Field(description="Predictions of the version still without an outcome.")
    outcomes: list[OutcomeOut]
