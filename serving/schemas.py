"""Wire shapes of the HTTP API: request models built from the data dictionary, typed responses.

The prediction request is an envelope, ``{"patients": [record, ...]}`` with 1..max_batch objects:
pydantic checks only that shape. Each record is then validated once, field by field and across
fields, by the data contract itself (:func:`serving.inference.validate_patients`). The OpenAPI
document still describes every record field (type, unit, range, allowed values): the record's
JSON schema is generated from ``features.schema.fields()``, so it can never drift from the
contract it documents.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, RootModel, create_model
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from ssc_response.features.schema import REQUIRED_FIELDS, baseline_fields, fields
from ssc_response.features.schema import Field as DictionaryField
from ssc_response.features.validation import ID_MAX_LENGTH, ID_PATTERN

# Stable ``detail`` strings: clients and tests match on them, so change them only deliberately.
DETAIL_UNAUTHENTICATED = "missing or invalid API key"
DETAIL_FORBIDDEN = "this API key's role may not use this endpoint"
DETAIL_PREDICTION_UNAVAILABLE = "prediction failed; nothing was recorded, retry later"
DETAIL_AUDIT_UNAVAILABLE = "audit trail unavailable; the prediction was not recorded, retry later"
DETAIL_SERVICE_UNAVAILABLE = "service temporarily unavailable, retry later"
DETAIL_NOT_READY = "not ready"
DETAIL_AUDIT_NOT_FOUND = "no audit entry with this prediction_id"
DETAIL_MODEL_NOT_FOUND = "no registered model version answers to the requested version or alias"
DETAIL_MODEL_LOAD_FAILED = "the model could not be loaded; the previous model is still served"

Scalar = float | int | bool | str | None


# --- request: an envelope, its records documented from the data dictionary ---------------------


def _python_type(field: DictionaryField) -> Any:
    """The pydantic type of one dictionary field (before optionality)."""
    if field.type == "category":
        return Literal[field.allowed]
    return {"float": float, "integer": int, "boolean": bool, "string": str}[field.type]


def _field_info(field: DictionaryField) -> Any:
    """Description with unit and range, JSON-schema bounds, required or default ``None``."""
    extras: dict[str, Any] = {}
    notes = [field.description.rstrip(".") + "."]
    if field.unit:
        notes.append(f"Unit: {field.unit}.")
    if field.is_numeric and field.min is not None and field.max is not None:
        extras = {"ge": field.min, "le": field.max}
        notes.append(f"Range {field.min:g}-{field.max:g} (inclusive).")
    if field.type == "float":
        extras["allow_inf_nan"] = False
    if field.name == "patient_id":
        extras = {"min_length": 1, "max_length": ID_MAX_LENGTH, "pattern": f"^{ID_PATTERN}$"}
    required = field.name in REQUIRED_FIELDS
    default: Any = ... if required else None
    return Field(default, description=" ".join(notes), **extras)


@cache
def patient_record_model() -> type[BaseModel]:
    """``PatientRecord``: the baseline fields of the data dictionary, unknown fields refused.

    Documentation only: its JSON schema describes a record in the OpenAPI document; records are
    validated by the data contract (:mod:`features.validation`), not by this model.
    """
    definitions: dict[str, Any] = {}
    for name in ["patient_id", *baseline_fields()]:
        field = fields()[name]
        kind = _python_type(field)
        annotation = kind if name in REQUIRED_FIELDS else kind | None
        definitions[name] = (annotation, _field_info(field))
    return create_model(
        "PatientRecord",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__="Baseline data of one patient (data-dictionary fields; missing = omitted/null).",
        **definitions,
    )


class PatientRecord(RootModel[dict[str, Any]]):
    """One patient's record: any JSON object at run time (the data contract judges its fields);
    documented as the data dictionary's baseline fields."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return patient_record_model().model_json_schema()


@cache
def prediction_request_model(max_batch: int) -> type[BaseModel]:
    """``PredictionRequest``: ``{"patients": [record, ...]}`` with 1..max_batch JSON objects."""
    record = PatientRecord
    patients = Field(..., min_length=1, max_length=max_batch, description="One record per patient.")
    return create_model(
        "PredictionRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="A batch of patients to predict for (one model call, one audit transaction).",
        patients=(list[record], patients),  # type: ignore[valid-type]
    )


# --- responses -----------------------------------------------------------------------------------


class ModelRef(BaseModel):
    """A registered model version."""

    name: str
    version: str
    run_id: str | None = None


class Interval(BaseModel):
    """The predicted change in mRSS with its CV+ interval."""

    estimate: float
    lower: float
    upper: float
    level: float = Field(description=(
        "Nominal coverage of [lower, upper] for the patient's observed change, e.g. 0.90 (CV+ "
        "conformal interval; the simulation study reports the coverage it reached)."))
    unit: str


class ModelUncertainty(BaseModel):
    """The probability of a skin response, and how much it varies across refitted models."""

    estimate: float = Field(description="The served model's probability of a skin response.")
    lower: float = Field(description=(
        "Lower end of the probability's spread across models refitted on bootstrap resamples "
        "of the training cohort: expit(log-odds - z x SD of the refits' log-odds)."))
    upper: float = Field(description="Upper end of that spread: expit(log-odds + z x SD).")
    level: float = Field(description=(
        "The normal-quantile level z is taken at (0.95: z = 1.96). Model (estimation) "
        "uncertainty only: it is not a coverage of the patient's true probability, which the "
        "project's simulation study measured at 57-93 % for a nominal 90 %."))
    unit: str
    basis: str = Field(description="The same in words, e.g. 'model uncertainty: across 50 "
                                   "models refitted on resampled training cohorts ...'.")


class FieldToRecord(BaseModel):
    """A blank field, and how much recording it would narrow the probability."""

    field: str = Field(description="The data-dictionary field.")
    narrows_by: float = Field(description=(
        "Standard deviation of the probability when only this field takes plausible values "
        "(the others at their imputed values): larger = recording it narrows the answer more."))


class MissingData(BaseModel):
    """How much the patient's blank model fields could change the probability."""

    lower: float = Field(description="Smallest probability over the stochastic imputations.")
    upper: float = Field(description="Largest probability over the stochastic imputations.")
    draws: int = Field(description="Stochastic imputations of the blank fields (chained "
                                   "equations, drawn from their predictive distribution).")
    fields_to_record: list[FieldToRecord] = Field(description="Blank fields, most informative "
                                                              "first.")
    text: str = Field(description="The same in words.")


class Indices(BaseModel):
    """Clinical indices derived from the record."""

    mrss_total: float | None = Field(description="Modified Rodnan skin score (points, 0-51).")
    escsg_activity_index: float | None = Field(description="EScSG activity index (points).")
    escsg_active: bool | None
    eustar_activity_index: float | None = Field(description="Revised EUSTAR index (points).")
    eustar_active: bool | None
    acr_eular_2013_score: float | None = Field(description="ACR/EULAR 2013 criteria (points).")
    hypocomplementemia: bool | None


class Contribution(BaseModel):
    """One input field's SHAP contribution to the output (in ``output_space``)."""

    feature: str
    value: Scalar = Field(description=(
        "The patient's value of the field; for a blank field the model reads, the value the "
        "imputation gave it (then ``imputed`` is true); null for a blank field it does not read."))
    unit: str
    contribution: float = Field(description="The contribution of that value (never of a blank).")
    imputed: bool = Field(False, description="The value was imputed from the other fields.")
    note: str | None = Field(None, description=(
        "A caution, e.g. that few training patients shared this category ('12 men in the "
        "training cohort')."))


class Explanation(BaseModel):
    """``base_value + sum(contributions) == output_value`` in ``output_space``."""

    base_value: float
    output_space: str = Field(description="'logit', 'probability' or 'delta_mrss'.")
    output_value: float
    contributions: list[Contribution]


class Prediction(BaseModel):
    """The answer for one patient, recorded in the audit trail under ``prediction_id``."""

    prediction_id: UUID
    patient_id: str
    model: ModelRef
    probability_response: ModelUncertainty = Field(description=(
        "Probability of a skin response, with its model uncertainty."))
    predicted_delta_mrss: Interval = Field(description="Predicted change in mRSS (points).")
    indices: Indices
    explanation: Explanation
    warnings: list[str]
    missing_data: MissingData | None = Field(None, description=(
        "When model fields are blank: the probability's range over plausible values of them, "
        "and the fields to record first; null when every field the model reads is recorded."))


class PredictionsOut(BaseModel):
    """One prediction per patient, in request order."""

    predictions: list[Prediction]


class ErrorItem(BaseModel):
    """One broken rule of the request."""

    loc: list[str | int] = Field(description="Where: FastAPI-style location in the request.")
    field: str | None = Field(description="The data-dictionary field (or parameter) concerned.")
    rule: str = Field(description="What the value must satisfy.")
    value: Scalar = Field(None, description="The value received (scalars only, shortened).")
    row: int | None = Field(None, description="1-based patient number in the batch.")


class ValidationErrorOut(BaseModel):
    """422: every broken rule of the request; for a patient outside the model's population,
    the field and the population rule; for too little information, one item per field to
    record (rule "needed for a prediction"), most informative first."""

    detail: list[ErrorItem]


class MessageOut(BaseModel):
    """An error with a stable ``detail`` string."""

    detail: str
