"""The auditor's pages: the list of served predictions, one stored prediction, replay, the chain.

Reads go through the same :class:`serving.audit.AuditStore` and replay function as
``/v1/audit``. Opening a stored prediction, replaying it and exporting the list are themselves
recorded (:class:`serving.audit.access.AccessLog`).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ssc_response.features.schema import fields
from ssc_response.serving.audit import AuditRecord, AuditStore
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.checkpoint import CheckpointFileError, parse_lines
from ssc_response.serving.audit.replay import ReplayError, replay_prediction
from ssc_response.serving.csv_cells import neutralised_row
from ssc_response.serving.deps import AuditDep, ServicesDep
from ssc_response.serving.pages.audit_query import SERVER_TIME_ZONE, ListQuery, read_query
from ssc_response.serving.pages.checkpoints import WatchDep, chain_context
from ssc_response.serving.pages.deps import AuditorPage, CheckedForm, PageDenied, PagesDep, render
from ssc_response.serving.pages.views import ModelFacts, model_facts, prediction_view

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
EXPORT_LIMIT = 100_000


def _list(audit: AuditStore, query: ListQuery, limit: int,
          offset: int) -> tuple[list[AuditRecord], int]:
    f = query.filters
    return audit.list(since=f.since, until=f.until, patient_id=f.patient_id,
                      model_version=f.model_version, key_id=f.key_id,
                      prediction_id=f.prediction_id, sort=query.sort,
                      descending=query.descending, limit=limit, offset=offset)


@router.get("/audit")
def audit_list(request: Request, signed: AuditorPage, pages: PagesDep, audit: AuditDep,
               watch: WatchDep) -> Any:
    """Served predictions, filtered, sorted (newest first) and paged, with the chain panel."""
    query = read_query(dict(request.query_params))
    offset = _offset(request.query_params.get("offset"))
    records, total = ([], 0) if query.problems else _list(audit, query, PAGE_SIZE, offset)
    context = {"signed": signed, "entries": [_row(r) for r in records], "total": total,
               "offset": offset, "page_size": PAGE_SIZE, "q": query,
               "values": query.values, "problems": query.problems,
               "time_zone": SERVER_TIME_ZONE, **chain_context(watch),
               "export_href": "/audit/export.csv?" + urlencode(  # in the order shown
                   {**query.kept, "sort": query.sort, "order": query.order}),
               "prev_href": query.href(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
               "next_href": query.href(offset + PAGE_SIZE)
               if offset + PAGE_SIZE < total else None}
    return render(request, pages, "audit_list.html", context, 422 if query.problems else 200)


def _offset(text: str | None) -> int:
    try:
        return max(0, min(int(text or 0), 1_000_000_000))
    except ValueError:
        return 0


def _row(record: AuditRecord) -> dict[str, Any]:
    """A list row; an output without the expected estimates (an edited entry) shows blanks."""
    output = record.output if isinstance(record.output, dict) else {}
    return {"r": record, "probability": _estimate(output, "probability_response"),
            "delta": _estimate(output, "predicted_delta_mrss")}


def _estimate(output: dict[str, Any], name: str) -> float | None:
    value = output.get(name)
    estimate = value.get("estimate") if isinstance(value, dict) else None
    return estimate if isinstance(estimate, int | float) else None


@router.get("/audit/export.csv")
def export_csv(request: Request, signed: AuditorPage, services: ServicesDep) -> Response:
    """The filtered list as CSV (every matching entry, up to 100,000)."""
    query = read_query(dict(request.query_params))
    if query.problems:
        raise PageDenied(422, "The filters are not valid; correct them on the list page.")
    records, _total = _list(services.audit, query, EXPORT_LIMIT, 0)
    detail = json.dumps(query.kept, sort_keys=True)
    AccessLog(services.engine).record(signed.key.key_id, "export", detail=detail)
    headers = {"Content-Disposition": 'attachment; filename="audit-predictions.csv"'}
    return Response(_csv(records), media_type="text/csv", headers=headers)


def _csv(records: list[AuditRecord]) -> str:
    """The rows as CSV; no text cell can run as a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "prediction_id", "created_at", "key_id", "patient_id", "model_name",
                     "model_version", "probability_response", "predicted_delta_mrss",
                     "entry_hash"])
    for row in map(_row, records):
        r = row["r"]
        writer.writerow(neutralised_row([r.seq, r.prediction_id, r.created_at, r.key_id,
                                         r.patient_id, r.model_name, r.model_version,
                                         row["probability"], row["delta"], r.entry_hash]))
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
               **chain_context(request.state.audit_watch),
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
async def verify(request: Request, signed: AuditorPage, _form: CheckedForm,
                 services: ServicesDep, watch: WatchDep) -> Any:
    """Verify the whole trail against its checkpoints now; back to the page the button was on."""
    await run_in_threadpool(watch.verify_now)
    await run_in_threadpool(AccessLog(services.engine).record, signed.key.key_id, "verify")
    back = request.headers.get("referer", "/audit")
    target = back if back.startswith(str(request.base_url)) else "/audit"
    return Response(status_code=303, headers={"Location": target})


@router.post("/audit/verify-copy")
async def verify_copy(request: Request, signed: AuditorPage, form: CheckedForm,
                      services: ServicesDep, watch: WatchDep) -> Any:
    """Verify the trail against checkpoints the auditor kept (pasted), as well as the server's."""
    try:
        own_copy = parse_lines(str(form.get("checkpoints", "")).splitlines(), "the pasted copy")
    except CheckpointFileError as error:
        raise PageDenied(422, f"The checkpoints could not be read: {error}. Paste the lines of "
                              "the downloaded file as they are.") from None
    if not own_copy:
        raise PageDenied(422, "Paste the lines of a checkpoint file you kept to check against.")
    await run_in_threadpool(watch.verify_now, own_copy)
    await run_in_threadpool(AccessLog(services.engine).record, signed.key.key_id, "verify",
                            None, f"against {len(own_copy)} checkpoints of the auditor's copy")
    return Response(status_code=303, headers={"Location": "/audit#chain-status"})


@router.get("/audit/checkpoints.jsonl")
def checkpoint_file(_signed: AuditorPage, watch: WatchDep) -> Response:
    """The signed checkpoints as they are on the server, to keep a copy elsewhere."""
    path = watch.config.checkpoint_path
    if not path.is_file():
        raise PageDenied(404, "No checkpoint has been signed yet.")
    headers = {"Content-Disposition": 'attachment; filename="audit-checkpoints.jsonl"'}
    return Response(path.read_bytes(), media_type="application/jsonl", headers=headers)
