"""The auditor's pages: the list of served predictions, one stored prediction, replay, the chain.

Reads go through the same :class:`serving.audit.AuditStore` and replay function as
``/v1/audit``. Opening a stored prediction, replaying it and exporting the list are themselves
recorded (:class:`serving.audit.access.AccessLog`).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ssc_response.features.schema import fields
from ssc_response.serving.audit import AuditRecord, AuditStore
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.filters import AuditFilters, filter_problems
from ssc_response.serving.audit.replay import ReplayError, replay_prediction
from ssc_response.serving.deps import AuditDep, ServicesDep
from ssc_response.serving.pages.deps import AuditorPage, CheckedForm, PageDenied, PagesDep, render
from ssc_response.serving.pages.views import ModelFacts, model_facts, prediction_view

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
EXPORT_LIMIT = 100_000
_TEXT_FILTERS = ("patient_id", "model_version", "key_id")


def read_filters(query: dict[str, str]) -> tuple[AuditFilters, dict[str, str], dict[str, str]]:
    """The list's filters from the query string: (filters, values as typed, problems by name).

    Dates are days (UTC): ``from`` inclusive, ``to`` inclusive (up to the end of that day).
    """
    values = {name: query.get(name, "").strip() for name in ("from", "to", *_TEXT_FILTERS)}
    given: dict[str, str | None] = {n: values[n] or None for n in _TEXT_FILTERS}
    problems = filter_problems(given)
    since, until = _day(values["from"], problems, "from"), _day(values["to"], problems, "to")
    if until is not None:
        until += timedelta(days=1)
    return AuditFilters(since, until, **given), values, problems


def _day(text: str, problems: dict[str, str], name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        problems[name] = "a date, e.g. 2025-01-31"
        return None


def _list(audit: AuditStore, filters: AuditFilters, limit: int,
          offset: int) -> tuple[list[AuditRecord], int]:
    return audit.list(since=filters.since, until=filters.until, patient_id=filters.patient_id,
                      model_version=filters.model_version, key_id=filters.key_id,
                      limit=limit, offset=offset)


@router.get("/audit")
def audit_list(request: Request, signed: AuditorPage, pages: PagesDep, audit: AuditDep) -> Any:
    """Served predictions, filtered and paged, with the chain status panel."""
    filters, values, problems = read_filters(dict(request.query_params))
    offset = _offset(request.query_params.get("offset"))
    records, total = ([], 0) if problems else _list(audit, filters, PAGE_SIZE, offset)
    query = {k: v for k, v in values.items() if v}
    context = {"signed": signed, "entries": [_row(r) for r in records], "total": total,
               "offset": offset, "page_size": PAGE_SIZE, "values": values,
               "problems": problems, "query": query, "chain": pages.chain.last,
               "prev_href": _page_href(query, offset - PAGE_SIZE) if offset > 0 else None,
               "next_href": _page_href(query, offset + PAGE_SIZE)
               if offset + PAGE_SIZE < total else None}
    return render(request, pages, "audit_list.html", context, 422 if problems else 200)


def _page_href(query: dict[str, str], offset: int) -> str:
    return "/audit?" + urlencode({**query, "offset": max(0, offset)})


def _offset(text: str | None) -> int:
    try:
        return max(0, min(int(text or 0), 1_000_000_000))
    except ValueError:
        return 0


def _row(record: AuditRecord) -> dict[str, Any]:
    output = record.output
    return {"r": record, "probability": output["probability_response"]["estimate"],
            "delta": output["predicted_delta_mrss"]["estimate"]}


@router.get("/audit/export.csv")
def export_csv(request: Request, signed: AuditorPage, services: ServicesDep) -> Response:
    """The filtered list as CSV (every matching entry, up to 100,000)."""
    filters, values, problems = read_filters(dict(request.query_params))
    if problems:
        raise PageDenied(422, "The filters are not valid; correct them on the list page.")
    records, _total = _list(services.audit, filters, EXPORT_LIMIT, 0)
    detail = json.dumps({k: v for k, v in values.items() if v}, sort_keys=True)
    AccessLog(services.engine).record(signed.key.key_id, "export", detail=detail)
    headers = {"Content-Disposition": 'attachment; filename="audit-predictions.csv"'}
    return Response(_csv(records), media_type="text/csv", headers=headers)


def _csv(records: list[AuditRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "prediction_id", "created_at", "key_id", "patient_id", "model_name",
                     "model_version", "probability_response", "predicted_delta_mrss",
                     "entry_hash"])
    for row in map(_row, records):
        r = row["r"]
        writer.writerow([r.seq, r.prediction_id, r.created_at, r.key_id, r.patient_id,
                         r.model_name, r.model_version, row["probability"], row["delta"],
                         r.entry_hash])
    return out.getvalue()


@router.get("/audit/predictions/{prediction_id}")
def prediction_page(request: Request, prediction_id: UUID, signed: AuditorPage,
                    pages: PagesDep, services: ServicesDep) -> Any:
    """One stored prediction; the view itself is recorded as an auditor access."""
    record = _found(services.audit, prediction_id)
    AccessLog(services.engine).record(signed.key.key_id, "view", record.prediction_id)
    return _entry_page(request, signed, pages, services, record, None)


def _found(audit: AuditStore, prediction_id: UUID) -> AuditRecord:
    record = audit.get(prediction_id)
    if record is None:
        raise PageDenied(404, "No prediction with this id is in the audit trail.")
    return record


def _entry_page(request: Request, signed: Any, pages: PagesDep, services: ServicesDep,
                record: AuditRecord, replay: dict[str, Any] | None) -> Any:
    requester = services.keys.store.get(record.key_id) if record.key_id else None
    prediction = {**record.output, "prediction_id": record.prediction_id,
                  "explanation": record.explanation}
    served = services.models.current
    same_model = (served.ref.name, served.ref.version) == (record.model_name,
                                                           record.model_version)
    facts = model_facts(served) if same_model else ModelFacts(
        record.model_name, record.model_version, None, None)
    context = {"signed": signed, "r": record, "requester": requester, "model": facts,
               "input": in_dictionary_order(record.input), "replay": replay,
               "chain": pages.chain.last,
               "accesses": AccessLog(services.engine).for_prediction(record.prediction_id),
               **prediction_view(prediction)}
    return render(request, pages, "audit_entry.html", context)


def in_dictionary_order(record: Any) -> dict[str, Any]:
    """A stored input (kept with sorted keys) in data-dictionary order, unknown names last."""
    if not isinstance(record, dict):
        return {"(input)": record}
    order = {name: i for i, name in enumerate(fields())}
    return dict(sorted(record.items(), key=lambda item: order.get(item[0], len(order))))


@router.post("/audit/predictions/{prediction_id}/replay")
def replay(request: Request, prediction_id: UUID, signed: AuditorPage, _form: CheckedForm,
           pages: PagesDep, services: ServicesDep) -> Any:
    """Re-run a stored prediction with its logged model version; match or mismatch."""
    record = _found(services.audit, prediction_id)
    AccessLog(services.engine).record(signed.key.key_id, "replay", record.prediction_id)
    try:
        result = replay_prediction(record, services.versions)
    except ReplayError as error:
        outcome: dict[str, Any] = {"error": str(error)}
    else:
        outcome = {"match": result.match, "differences": result.differences,
                   "max_abs": result.distance.max_abs, "max_rel": result.distance.max_rel,
                   "version": result.model_version}
    return _entry_page(request, signed, pages, services, record, outcome)


@router.post("/audit/verify")
async def verify(request: Request, signed: AuditorPage, _form: CheckedForm, pages: PagesDep,
                 services: ServicesDep) -> Any:
    """Recompute the whole hash chain now; back to the page the button was on."""
    await run_in_threadpool(pages.chain.check, services.audit)
    await run_in_threadpool(AccessLog(services.engine).record, signed.key.key_id, "verify")
    back = request.headers.get("referer", "/audit")
    target = back if back.startswith(str(request.base_url)) else "/audit"
    return Response(status_code=303, headers={"Location": target})
