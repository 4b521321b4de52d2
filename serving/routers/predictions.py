"""``POST /v1/predictions``: predict for a batch and record every answer before returning it.

The route takes the request envelope (pydantic checks only ``{"patients": [object, ...]}``) and
queues its records; concurrent requests are coalesced (``serving/coalescing.py``) and the batcher's
worker runs :func:`predict_batch` for everything waiting. That handler follows
:mod:`serving.inference` step by step: each request's records are validated by the data contract
(one request's invalid input is its own 422), the valid ones share one model call, and every answer
gets its audit entry. The audit transaction is the batch's staged step: the batcher commits it on
its committer thread while the next batch is validated and predicted, and returns the answers only
once it is committed. A model or audit failure is a 503 for every valid request of the batch, with
nothing recorded and nothing returned.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from ssc_response.features.scope import NotEnoughInformationError, OutOfScopeError
from ssc_response.features.validation import ContractError
from ssc_response.models.registry import ServedModel
from ssc_response.serving import inference
from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.coalescing import BatcherClosed, Pending, Staged
from ssc_response.serving.deps import BatcherDep, ClinicianKey, ModelDep
from ssc_response.serving.prometheus import ServiceMetrics, log_failure
from ssc_response.serving.schemas import (
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
    422: {"model": ValidationErrorOut, "description": (
        "Each broken rule, by field and patient; a patient outside the model's population "
        "(the field and the rule); or too little recorded (one item per field to record, "
        "rule 'needed for a prediction', most informative first). Nothing was recorded.")},
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
    router = APIRouter(prefix="/v1/predictions", tags=["predictions"])

    @router.post("", response_model=PredictionsOut, responses=_RESPONSES)
    async def create_predictions(
        body: request_model,  # type: ignore[valid-type]
        key: ClinicianKey,
        served: ModelDep,
        batcher: BatcherDep,
    ) -> Response:
        """Predict skin response for each patient (clinician); answers are audited first."""
        records = [patient.root for patient in body.patients]  # type: ignore[attr-defined]
        try:
            answer: Answer = await batcher.predict(records, key, served)
        except BatcherClosed as error:
            raise _unavailable(error, "prediction queue", DETAIL_PREDICTION_UNAVAILABLE) from None
        # Already checked against PredictionsOut and serialised by the batch handler.
        return Response(answer.body, media_type="application/json")

    return router


def predict_batch(audit: AuditStore, metrics: ServiceMetrics, served: ServedModel,
                  batch: Sequence[Pending]) -> list[object] | Staged:
    """The batcher's handler: one outcome per request, recorded before it is returned.

    An outcome is the request's :class:`Answer`, its ``ContractError`` (a 422) or the 503
    ``HTTPException`` of a failure. When there is something to record, the outcomes come as a
    :class:`Staged` result whose ``finish`` commits the entries and only then returns them.
    """
    validated = inference.screen(
        served, inference.validate_requests([pending.records for pending in batch]))
    outcomes: list[object] = [_refusal(error) for error in validated.refused]
    valid = [i for i, error in enumerate(validated.refused) if error is None]
    if validated.records is None:
        return _counted(metrics, served, outcomes)
    try:
        answers, entries = _answer(served, [batch[i] for i in valid], validated)
    except HTTPException as error:  # the whole batch: nothing recorded, nothing returned
        return _counted(metrics, served, _merged(outcomes, valid, [error] * len(valid)))

    def finish() -> list[object]:
        try:
            inference.record(audit, entries)
        except Exception as error:  # the whole batch: nothing recorded, nothing returned
            failed = _unavailable(error, "audit write", DETAIL_AUDIT_UNAVAILABLE)
            return _counted(metrics, served, _merged(outcomes, valid, [failed] * len(valid)))
        return _counted(metrics, served, _merged(outcomes, valid, answers))

    return Staged(finish)


def _refusal(error: Exception | None) -> object:
    """A refused request's outcome: its ``ContractError`` (a 422), or a 503 for a server fault."""
    if error is None or isinstance(error, ContractError):
        return error
    return _unavailable(error, "validation", DETAIL_PREDICTION_UNAVAILABLE)


def _answer(served: ServedModel, requests: Sequence[Pending],
            validated: inference.ValidatedRequests,
            ) -> tuple[list[Answer | HTTPException | ContractError], list[AuditEntryIn]]:
    """One model call for the valid requests' records: each one's answer (or its refusal for
    too little information) and the audit entries."""
    frame = validated.records
    if frame is None:
        raise ValueError("no valid request to answer")
    try:
        outputs = inference.predict(served, [frame])[0]
    except Exception as error:
        raise _unavailable(error, "prediction", DETAIL_PREDICTION_UNAVAILABLE) from None
    answers: list[Answer | HTTPException | ContractError] = []
    entries: list[AuditEntryIn] = []
    start = 0
    for pending, size in zip(requests, validated.sizes, strict=True):
        records = frame.iloc[start:start + size]
        output, start = outputs[start:start + size], start + size
        refused = inference.refusal(served, records, output)
        if refused is not None:  # no number: nothing recorded, the fields to record instead
            answers.append(refused)
            continue
        try:
            predictions, request_entries = inference.answer_entries(
                served, pending.key.key_id, pending.records, output)
            # Checked before recording, so a recorded answer cannot then fail the response model.
            answers.append(_checked(predictions))
        except Exception as error:  # e.g. a model output without a field the answer needs
            answers.append(_unavailable(error, "prediction output", DETAIL_PREDICTION_UNAVAILABLE))
            continue
        entries += request_entries
    return answers, entries


def _checked(predictions: list[dict[str, Any]]) -> Answer:
    """The answers checked against the response model and serialised (in the batch worker, so the
    event loop only sends bytes)."""
    checked = PredictionsOut.model_validate({"predictions": predictions})
    return Answer(checked.model_dump_json().encode(), len(predictions))


def _counted(metrics: ServiceMetrics, served: ServedModel, results: list[object]) -> list[object]:
    """``results``, with the predictions among them counted as served and the refusals (out of
    scope, not enough information) counted by reason."""
    served_count = sum(a.predictions for a in results if isinstance(a, Answer))
    metrics.predictions.labels(served.ref.version).inc(served_count)
    for result in results:
        if isinstance(result, OutOfScopeError):
            metrics.refusals.labels("out_of_scope").inc()
        elif isinstance(result, NotEnoughInformationError):
            metrics.refusals.labels("not_enough_information").inc()
    return results


def _merged(results: list[object], valid: Sequence[int],
            answers: Sequence[object]) -> list[object]:
    """``results`` with the valid requests' outcomes put in their places."""
    merged = list(results)
    for i, answer in zip(valid, answers, strict=True):
        merged[i] = answer
    return merged


def _unavailable(error: Exception, stage: str, detail: str) -> HTTPException:
    """Log the failure without its message (it may quote patient values); a 503 to raise."""
    log_failure(error, stage)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, {"Retry-After": "1"})
