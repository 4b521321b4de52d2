"""The follow-up form: a clinician records the outcome of one of their served predictions.

Reached from the prediction's result page. The outcome goes through the same checks as
``POST /v1/outcomes`` (:class:`serving.audit.outcomes.OutcomeStore`); a refusal is shown beside
its field and nothing is stored. Once recorded, the page shows the outcome, who recorded it and
when (reading it is an audited access, as every read of the trail).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from ssc_response.features.schema import fields, outcome_fields
from ssc_response.features.validation import ContractError
from ssc_response.serving.audit import AuditRecord
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.outcomes import OutcomeIn, OutcomeStore
from ssc_response.serving.audit.outcomes_metrics import refresh
from ssc_response.serving.deps import ServicesDep
from ssc_response.serving.pages.deps import CheckedForm, ClinicianPage, PageDenied, PagesDep, render

router = APIRouter(include_in_schema=False)


def _own_prediction(services: Any, prediction_id: UUID, key_id: str) -> AuditRecord:
    record = services.audit.get(prediction_id)
    if record is None or record.key_id != key_id:
        raise PageDenied(404, "None of your predictions has this id.")
    return record


def _context(signed: Any, record: AuditRecord, values: dict[str, str],
             errors: dict[str, list[str]], stored: Any = None) -> dict[str, Any]:
    return {"signed": signed, "record": record, "values": values, "errors": errors,
            "stored": stored, "fields": [fields()[name] for name in outcome_fields()],
            "today": datetime.now(UTC).date().isoformat()}


@router.get("/patient/predictions/{prediction_id}/outcome")
def followup_form(request: Request, prediction_id: UUID, signed: ClinicianPage,
                  pages: PagesDep, services: ServicesDep) -> Any:
    """The follow-up form, or the outcome already recorded for this prediction."""
    record = _own_prediction(services, prediction_id, signed.key.key_id)
    AccessLog(services.engine).record(signed.key.key_id, "view", record.prediction_id,
                                      "outcome")
    stored = OutcomeStore(services.engine).for_prediction(record.prediction_id)
    return render(request, pages, "followup.html", _context(signed, record, {}, {}, stored))


@router.post("/patient/predictions/{prediction_id}/outcome")
async def record_followup(request: Request, prediction_id: UUID, signed: ClinicianPage,
                          form: CheckedForm, pages: PagesDep, services: ServicesDep) -> Any:
    """Record the follow-up; refused fields are shown beside their input, nothing stored."""
    record = await run_in_threadpool(_own_prediction, services, prediction_id, signed.key.key_id)
    values = {name: str(form.get(name) or "").strip() for name in outcome_fields()}
    given = {name: value for name, value in values.items() if value}
    values["visit_date"] = str(form.get("visit_date") or "").strip()
    try:
        visit = date.fromisoformat(values["visit_date"])
    except ValueError:
        unreadable = {"visit_date": ["Give the date of the follow-up visit (YYYY-MM-DD)."]}
        return render(request, pages, "followup.html",
                      _context(signed, record, values, unreadable), 422)
    outcome = OutcomeIn(visit, given, prediction_id=record.prediction_id)
    store = OutcomeStore(services.engine)
    try:
        stored = (await run_in_threadpool(store.record, [outcome], signed.key.key_id, False))[0]
    except ContractError as error:
        errors: dict[str, list[str]] = {}
        for problem in error.problems:
            errors.setdefault(problem.field, []).append(problem.rule)
        return render(request, pages, "followup.html",
                      _context(signed, record, values, errors), 422)
    await run_in_threadpool(refresh, services.metrics.registry, services.engine,
                            services.models.current)
    return render(request, pages, "followup.html", _context(signed, record, {}, {}, stored))
