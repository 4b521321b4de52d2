"""``POST /v1/predictions``: predict for a batch and record every answer before returning it.

No ``from __future__ import annotations`` here: the request model is built at app creation (its
batch limit is a setting), and FastAPI must see the real class in the endpoint's signature.
"""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, HTTPException, status

from features.validation import ContractError
from models.registry import ServedModel
from serving.audit import AuditEntryIn, AuditStore
from serving.deps import AuditDep, ClinicianKey, ModelDep, ServicesDep
from serving.keys import ApiKey
from serving.metrics import log_failure
from serving.replay import run_model
from serving.schemas import (
    DETAIL_AUDIT_UNAVAILABLE,
    DETAIL_PREDICTION_UNAVAILABLE,
    MessageOut,
    PredictionsOut,
    ValidationErrorOut,
    prediction_request_model,
)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": MessageOut, "description": "Missing or invalid API key."},
    403: {"model": MessageOut, "description": "The key's role is not clinician."},
    422: {"model": ValidationErrorOut, "description": "Each broken rule, by field and patient."},
    503: {"model": MessageOut, "description": "Nothing was recorded; retry later."},
}


def build_router(max_batch: int) -> APIRouter:
    """The predictions router for batches of at most ``max_batch`` patients."""
    request_model = prediction_request_model(max_batch)
    router = APIRouter(prefix="/v1/predictions", tags=["predictions"])

    @router.post("", response_model=PredictionsOut, responses=_RESPONSES)
    def create_predictions(
        body: request_model,  # type: ignore[valid-type]  # built from the data dictionary
        key: ClinicianKey,
        served: ModelDep,
        audit: AuditDep,
        services: ServicesDep,
    ) -> PredictionsOut:
        """Predict skin response for each patient (clinician); answers are audited first."""
        batch: Any = body  # a class made at runtime: mypy cannot know its fields
        records = [patient.model_dump(exclude_unset=True) for patient in batch.patients]
        outputs = _predict(served, records)
        predictions, entries = _assemble(served, key, records, outputs)
        # Checked before recording, so a recorded answer cannot then fail response validation.
        answer = _checked(predictions)
        _record(audit, entries)
        services.metrics.predictions.labels(served.ref.version).inc(len(predictions))
        return answer

    return router


def _predict(served: ServedModel, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One vectorised model call; a contract breach is the client's (422), anything else 503."""
    try:
        return run_model(served.model, records)
    except ContractError:
        raise
    except Exception as error:
        raise _unavailable(error, "prediction", DETAIL_PREDICTION_UNAVAILABLE) from None


def _assemble(
    served: ServedModel, key: ApiKey, records: Sequence[Mapping[str, Any]],
    outputs: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[AuditEntryIn]]:
    """Response items and their audit entries, sharing one prediction_id each."""
    ref = served.ref
    model = {"name": ref.name, "version": ref.version, "run_id": ref.run_id}
    predictions, entries = [], []
    for record, output in zip(records, outputs, strict=True):
        prediction_id = uuid4()
        answer = {
            "patient_id": output["patient_id"],
            "model": model,
            "probability_response": output["probability_response"],
            "predicted_delta_mrss": output["predicted_delta_mrss"],
            "indices": output["indices"],
            "warnings": output["warnings"],
        }
        entries.append(AuditEntryIn(
            prediction_id=prediction_id, key_id=key.key_id, patient_id=output["patient_id"],
            model_name=ref.name, model_version=ref.version, model_run_id=ref.run_id,
            input=record, output=answer, explanation=output["explanation"],
        ))
        predictions.append({"prediction_id": prediction_id, **answer,
                            "explanation": output["explanation"]})
    return predictions, entries


def _checked(predictions: list[dict[str, Any]]) -> PredictionsOut:
    """The response model of the answers; a model output of the wrong shape is a 503."""
    try:
        return PredictionsOut.model_validate({"predictions": predictions})
    except ValueError as error:
        raise _unavailable(error, "prediction output", DETAIL_PREDICTION_UNAVAILABLE) from None


def _record(audit: AuditStore, entries: Sequence[AuditEntryIn]) -> None:
    """Durably commit the batch's entries; an answer never leaves unrecorded."""
    try:
        audit.append_many(entries)
    except Exception as error:
        raise _unavailable(error, "audit write", DETAIL_AUDIT_UNAVAILABLE) from None


def _unavailable(error: Exception, stage: str, detail: str) -> HTTPException:
    """Log the failure without its message (it may quote patient values); a 503 to raise."""
    log_failure(error, stage)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, {"Retry-After": "1"})
