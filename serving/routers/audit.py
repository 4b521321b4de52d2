"""``/v1/audit``: read, verify and replay the audit trail (auditor role).

Every read is itself recorded in ``audit_access`` (:class:`serving.audit.access.AccessLog`),
as the web pages record theirs: a listing as an ``export`` with its filters and page (it returns
the entries' inputs, outputs and explanations), one entry as a ``view``, a replay and a chain
verification under their names. The access is committed before the answer is sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import AfterValidator, BaseModel, Field

from ssc_response.features.validation import ID_MAX_LENGTH
from ssc_response.serving.audit import AuditRecord
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.filters import KEY_ID_PATTERN, PATIENT_PATTERN, VERSION_PATTERN
from ssc_response.serving.audit.replay import ReplayError, replay_prediction
from ssc_response.serving.audit.watch import AuditWatch
from ssc_response.serving.deps import AuditorKey, ServicesDep
from ssc_response.serving.schemas import (
    DETAIL_AUDIT_NOT_FOUND,
    MessageOut,
    ModelRef,
    ValidationErrorOut,
)


class AuditEntryOut(BaseModel):
    """One audit-trail entry, JSON fields parsed."""

    seq: int
    prediction_id: str
    created_at: str
    key_id: str | None
    patient_id: str | None
    model_name: str
    model_version: str
    model_run_id: str | None
    input: Any
    output: Any
    explanation: Any
    prev_hash: str
    entry_hash: str


class AuditPage(BaseModel):
    """One page of audit entries and the number matching the filters."""

    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


class AccessChainOut(BaseModel):
    """The access log's chain (who viewed, replayed, exported, verified)."""

    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


class FindingOut(BaseModel):
    """A disagreement between the chains and a signed checkpoint."""

    chain: str = Field(description="predictions or accesses")
    kind: str = Field(description="truncated, rewritten or signature")
    first_entry: int | None = Field(description="The first entry concerned, when known.")
    message: str


class VerifyOut(BaseModel):
    """Result of re-computing both hash chains and checking them against signed checkpoints.

    ``ok`` is the whole trail's verdict; the other top-level fields describe the predictions'
    chain, as before the access chain and checkpoints existed.
    """

    ok: bool
    checked: int
    first_broken_seq: int | None
    first_broken_prediction_id: str | None
    reason: str | None
    head_seq: int | None
    head_hash: str | None
    accesses: AccessChainOut
    checkpoints: int = Field(description="Signed checkpoints the chains were checked against.")
    findings: list[FindingOut]


class Difference(BaseModel):
    """One recorded value that the replay did not reproduce."""

    path: str
    recorded: Any
    replayed: Any


class ReplayOut(BaseModel):
    """Whether re-running the recorded model on the recorded input reproduces the output."""

    prediction_id: str
    model: ModelRef
    match: bool = Field(description="Every number within relative 1e-9 of the recorded one.")
    differences: list[Difference]
    largest_abs_difference: float = Field(
        description="Largest absolute difference between a recorded and a replayed number.")
    largest_rel_difference: float = Field(
        description="Largest relative difference between a recorded and a replayed number.")


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": MessageOut, "description": "Missing or invalid API key."},
    403: {"model": MessageOut, "description": "The key's role is not auditor."},
    422: {"model": ValidationErrorOut, "description": "Invalid parameters."},
}

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=_RESPONSES)


def _as_utc(moment: datetime) -> datetime:
    """Naive times are UTC; times that cannot be expressed in UTC are refused (422)."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range once converted to UTC") from None


UtcTime = Annotated[datetime, AfterValidator(_as_utc)]
Since = Annotated[UtcTime | None, Query(description="Inclusive lower bound (ISO 8601).")]
Until = Annotated[UtcTime | None, Query(description="Exclusive upper bound (ISO 8601).")]
PatientFilter = Annotated[str | None, Query(max_length=ID_MAX_LENGTH, pattern=PATIENT_PATTERN)]
VersionFilter = Annotated[str | None, Query(pattern=VERSION_PATTERN)]
KeyFilter = Annotated[str | None, Query(pattern=KEY_ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


@router.get("/predictions", response_model=AuditPage)
def list_predictions(
    key: AuditorKey, services: ServicesDep, since: Since = None, until: Until = None,
    patient_id: PatientFilter = None, model_version: VersionFilter = None,
    key_id: KeyFilter = None, limit: Limit = 100, offset: Offset = 0,
) -> AuditPage:
    """List recorded predictions by sequence, filtered and paged (auditor)."""
    records, total = services.audit.list(
        since=since, until=until, patient_id=patient_id, model_version=model_version,
        key_id=key_id, limit=limit, offset=offset,
    )
    query = {"since": since, "until": until, "patient_id": patient_id,
             "model_version": model_version, "key_id": key_id, "limit": limit, "offset": offset}
    detail = json.dumps({k: str(v) for k, v in query.items() if v is not None}, sort_keys=True)
    AccessLog(services.engine).record(key.key_id, "export", detail=detail)
    return AuditPage(items=[_entry(r) for r in records], total=total, limit=limit, offset=offset)


@router.get("/predictions/{prediction_id}", response_model=AuditEntryOut,
            responses={404: {"model": MessageOut}})
def get_prediction(prediction_id: UUID, key: AuditorKey, services: ServicesDep) -> AuditEntryOut:
    """One recorded prediction (auditor)."""
    record = _found(services.audit.get(prediction_id))
    AccessLog(services.engine).record(key.key_id, "view", record.prediction_id)
    return _entry(record)


async def get_watch(request: Request) -> AuditWatch:
    """The app's audit watch (lifespan state): it verifies, and keeps the outcome for the pages."""
    watch: AuditWatch = request.state.audit_watch
    return watch


@router.get("/verify", response_model=VerifyOut)
def verify(key: AuditorKey, services: ServicesDep,
           watch: Annotated[AuditWatch, Depends(get_watch)]) -> VerifyOut:
    """Recompute both hash chains, check them against the signed checkpoints (auditor)."""
    AccessLog(services.engine).record(key.key_id, "verify")
    report = watch.verify_now().report
    return VerifyOut.model_validate({
        **report.predictions.model_dump(), "ok": report.ok,
        "accesses": report.accesses.model_dump(), "checkpoints": report.checkpoints,
        "findings": [vars(finding) for finding in report.findings],
    })


@router.post("/predictions/{prediction_id}/replay", response_model=ReplayOut,
             responses={404: {"model": MessageOut}, 409: {"model": MessageOut}})
def replay(prediction_id: UUID, key: AuditorKey, services: ServicesDep) -> ReplayOut:
    """Recompute a recorded prediction with its logged model version and compare (auditor)."""
    record = _found(services.audit.get(prediction_id))
    AccessLog(services.engine).record(key.key_id, "replay", record.prediction_id)
    try:
        result = replay_prediction(record, services.versions)
    except ReplayError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return ReplayOut.model_validate({
        "prediction_id": result.prediction_id,
        "model": {"name": result.model_name, "version": result.model_version,
                  "run_id": result.model_run_id},
        "match": result.match,
        "differences": [vars(d) for d in result.differences],
        "largest_abs_difference": result.distance.max_abs,
        "largest_rel_difference": result.distance.max_rel,
    })


def _found(record: AuditRecord | None) -> AuditRecord:
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DETAIL_AUDIT_NOT_FOUND)
    return record


def _entry(record: AuditRecord) -> AuditEntryOut:
    """A stored row with its JSON columns parsed."""
    fields = record.model_dump(exclude={"input_json", "output_json", "explanation_json"})
    return AuditEntryOut(**fields, input=record.input, output=record.output,
                         explanation=record.explanation)
