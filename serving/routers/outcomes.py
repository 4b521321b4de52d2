"""``/v1/outcomes``: a clinician records the follow-up of a served prediction; an auditor reads
who recorded what.

The outcome is checked against its prediction and the data contract
(:class:`serving.audit.outcomes.OutcomeStore`) and appended to the audit trail's outcome chain
with the caller's key id; a refusal is a 422 naming the field, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from fastapi.concurrency import run_in_threadpool

from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.filters import VERSION_PATTERN
from ssc_response.serving.audit.outcomes import OutcomeIn, OutcomeStore
from ssc_response.serving.audit.outcomes_metrics import refresh
from ssc_response.serving.deps import AuditorKey, ClinicianKey, ServicesDep
from ssc_response.serving.outcome_schemas import OutcomeOut, OutcomesOut, outcome_in_model
from ssc_response.serving.schemas import MessageOut, ValidationErrorOut

router = APIRouter(prefix="/v1", tags=["outcomes"])
OutcomeBody = outcome_in_model()


@router.post("/outcomes", status_code=status.HTTP_201_CREATED, response_model=OutcomeOut,
             responses={401: {"model": MessageOut}, 403: {"model": MessageOut},
                        422: {"model": ValidationErrorOut}})
async def record_outcome(key: ClinicianKey, services: ServicesDep,
                         body: OutcomeBody = Body(...)) -> OutcomeOut:  # type: ignore[valid-type]
    """Record the follow-up of one served prediction (clinician)."""
    given: dict[str, Any] = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    identifying = ("prediction_id", "patient_id", "visit_date")
    outcome = OutcomeIn(
        visit_date=given["visit_date"],
        values={k: v for k, v in given.items() if k not in identifying and v is not None},
        prediction_id=None if given.get("prediction_id") is None else str(given["prediction_id"]),
        patient_id=given.get("patient_id"))
    store = OutcomeStore(services.engine)
    stored = (await run_in_threadpool(store.record, [outcome], key.key_id, False))[0]
    await run_in_threadpool(refresh, services.metrics.registry, services.engine,
                            services.models.current)
    return OutcomeOut(seq=stored.seq, prediction_id=stored.prediction_id,
                      recorded_at=stored.recorded_at, recorded_by=stored.recorded_by,
                      visit_date=stored.visit_date, values=stored.values)


@router.get("/outcomes", response_model=OutcomesOut,
            responses={401: {"model": MessageOut}, 403: {"model": MessageOut}})
def list_outcomes(key: AuditorKey, services: ServicesDep,
                  model_version: Annotated[str, Query(pattern=VERSION_PATTERN)]) -> OutcomesOut:
    """Every outcome recorded for one model version's predictions: who recorded what, and when
    (auditor); the read is recorded as an export."""
    AccessLog(services.engine).record(key.key_id, "export",
                                      detail=f"outcomes of model version {model_version}")
    stored, waiting = OutcomeStore(services.engine).for_version(model_version)
    return OutcomesOut(waiting=waiting, outcomes=[
        OutcomeOut(seq=o.seq, prediction_id=o.prediction_id, recorded_at=o.recorded_at,
                   recorded_by=o.recorded_by, visit_date=o.visit_date, values=o.values)
        for o in stored])
