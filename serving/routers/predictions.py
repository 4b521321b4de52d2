"""``POST /v1/predictions``: predict for a batch and record every answer before returning it.

Concurrent requests are coalesced (``serving/batcher.py``): the route queues its records and
awaits, holding no thread, while the batcher's worker runs :func:`predict_batch` for everything
waiting: one validation, one vectorised model call and one audit transaction for the whole batch,
and only then the answers. The audit transaction is the batch's staged step: the batcher commits it
on its committer thread while the next batch is validated and predicted, and returns the answers
only once it is committed. One request's invalid input is its own 422; a model or audit failure
is a 503 for every request of the batch, with nothing recorded and nothing returned.

The request model is built at app creation (its batch limit is a setting); the body is read with it
by :func:`serving.request_body.parse_json_body` and documented through ``openapi_extra``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Request, Response, status

from features.validation import ValidatedRecords
from models.registry import ServedModel
from serving.audit import AuditEntryIn, AuditStore
from serving.batcher import BatcherClosed, Pending, Staged
from serving.deps import BatcherDep, ClinicianKey, ModelDep
from serving.keys import ApiKey
from serving.metrics import ServiceMetrics, log_failure
from serving.replay import run_model, validate_requests
from serving.request_body import documented_body, parse_json_body
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


@dataclass(frozen=True)
class Answer:
    """One request's recorded answer: its ``PredictionsOut`` as JSON, and how many it holds."""

    body: bytes
    predictions: int


def build_router(max_batch: int) -> APIRouter:
    """The predictions router for batches of at most ``max_batch`` patients."""
    request_model = prediction_request_model(max_batch)
    body_docs, _ = documented_body(request_model)
    router = APIRouter(prefix="/v1/predictions", tags=["predictions"])

    @router.post("", response_model=PredictionsOut, responses=_RESPONSES,
                 openapi_extra=body_docs)
    async def create_predictions(
        request: Request,
        key: ClinicianKey,
        served: ModelDep,
        batcher: BatcherDep,
    ) -> Response:
        """Predict skin response for each patient (clinician); answers are audited first."""
        # Read here rather than as a body parameter: see serving/request_body.py.
        batch: Any = await parse_json_body(request, request_model)
        records = [patient.model_dump(exclude_unset=True) for patient in batch.patients]
        try:
            answer: Answer = await batcher.predict(records, key, served)
        except BatcherClosed as error:
            raise _unavailable(error, "prediction queue", DETAIL_PREDICTION_UNAVAILABLE) from None
        # Already checked against PredictionsOut and serialised by the batch handler.
        return Response(answer.body, media_type="application/json")

    return router


def body_components(max_batch: int) -> dict[str, Any]:
    """OpenAPI component schemas of the request body (for the app's document)."""
    return documented_body(prediction_request_model(max_batch))[1]


def predict_batch(audit: AuditStore, metrics: ServiceMetrics, served: ServedModel,
                  batch: Sequence[Pending]) -> list[object] | Staged:
    """The batcher's handler: answers for the valid requests, recorded in one transaction.

    One outcome per request: its :class:`Answer` (recorded), its ``ContractError`` (422), or
    the 503 ``HTTPException`` of a failure (nothing of it recorded). When there is something to
    record, the outcomes come as a :class:`Staged` result whose ``finish`` commits the entries
    and only then returns them.
    """
    try:
        rows, outcomes = validate_requests([pending.records for pending in batch])
    except Exception as error:  # a server fault, not the clients'
        return [_unavailable(error, "validation", DETAIL_PREDICTION_UNAVAILABLE)] * len(batch)
    valid = [i for i, outcome in enumerate(outcomes) if outcome is None]
    results: list[object] = list(outcomes)
    if rows is None:
        return results
    try:
        answers, entries = _answer(served, [batch[i] for i in valid], rows)
    except HTTPException as error:  # the whole batch: nothing recorded, nothing returned
        return _counted(metrics, served, _merged(results, valid, [error] * len(valid)))

    def finish() -> list[object]:
        try:
            _record(audit, entries)
        except HTTPException as error:  # the whole batch: nothing recorded, nothing returned
            return _counted(metrics, served, _merged(results, valid, [error] * len(valid)))
        return _counted(metrics, served, _merged(results, valid, answers))

    return Staged(finish)


def _counted(metrics: ServiceMetrics, served: ServedModel, results: list[object]) -> list[object]:
    """``results``, with the predictions among them counted as served."""
    served_count = sum(a.predictions for a in results if isinstance(a, Answer))
    metrics.predictions.labels(served.ref.version).inc(served_count)
    return results


def _merged(results: list[object], valid: Sequence[int],
            answers: Sequence[object]) -> list[object]:
    """``results`` with the valid requests' outcomes put in their places."""
    merged = list(results)
    for i, answer in zip(valid, answers, strict=True):
        merged[i] = answer
    return merged


def _answer(served: ServedModel, requests: Sequence[Pending], rows: ValidatedRecords,
            ) -> tuple[list[Answer | HTTPException], list[AuditEntryIn]]:
    """One model call for ``rows`` (the requests' records): the answers and their audit entries."""
    try:
        outputs = _predict(served, rows)
        return _answers(served, requests, outputs)
    except HTTPException:
        raise
    except Exception as error:  # e.g. a model output without a field the answer needs
        raise _unavailable(error, "prediction output", DETAIL_PREDICTION_UNAVAILABLE) from None


def _predict(served: ServedModel, rows: ValidatedRecords) -> list[dict[str, Any]]:
    """One vectorised model call on validated rows; any failure is a 503."""
    try:
        outputs = run_model(served.model, rows)
        if len(outputs) != len(rows):
            raise RuntimeError(f"{len(outputs)} predictions for {len(rows)} patients")
    except Exception as error:
        raise _unavailable(error, "prediction", DETAIL_PREDICTION_UNAVAILABLE) from None
    return outputs


def _answers(
    served: ServedModel, requests: Sequence[Pending], outputs: Sequence[Mapping[str, Any]],
) -> tuple[list[Answer | HTTPException], list[AuditEntryIn]]:
    """Each request's checked answer and the audit entries of those that passed the check."""
    answers: list[Answer | HTTPException] = []
    entries: list[AuditEntryIn] = []
    start = 0
    for pending in requests:
        chunk, start = outputs[start:start + pending.size], start + pending.size
        predictions, request_entries = _assemble(served, pending.key, pending.records, chunk)
        try:
            # Checked before recording, so a recorded answer cannot then fail response validation.
            answers.append(_checked(predictions))
        except HTTPException as error:
            answers.append(error)
            continue
        entries += request_entries
    return answers, entries


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


def _checked(predictions: list[dict[str, Any]]) -> Answer:
    """The answers checked against the response model and serialised (in the batch worker, so the
    event loop only sends bytes); a model output of the wrong shape is a 503."""
    try:
        checked = PredictionsOut.model_validate({"predictions": predictions})
    except ValueError as error:
        raise _unavailable(error, "prediction output", DETAIL_PREDICTION_UNAVAILABLE) from None
    return Answer(checked.model_dump_json().encode(), len(predictions))


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
