"""The clinician's pages: one patient's form and result, and a file of several patients.

Both go through the JSON API's own path: they await the same
:class:`serving.prediction_service.PredictionService`, which validates the records with the data
contract, predicts, and records every answer in the audit trail before it is returned. A contract
problem (or a refusal: out of scope, too little recorded) comes back as the same
``ContractError`` the API turns into a 422; here it is shown beside its field (the form) or as a
table (a file), and nothing is recorded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from ssc_response.features.index_gaps import IndexGap, index_gaps
from ssc_response.features.scope import NEEDED_RULE
from ssc_response.features.validation import ContractError, Problem
from ssc_response.models.registry import ServedModel
from ssc_response.models.tabular import predictions_frame
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.csv_cells import neutralised_frame
from ssc_response.serving.deps import ModelDep, PredictionServiceDep, ServicesDep, SettingsDep
from ssc_response.serving.inference import validate_patients
from ssc_response.serving.keys import ApiKey
from ssc_response.serving.pages.deps import CheckedForm, ClinicianPage, PageDenied, PagesDep, render
from ssc_response.serving.pages.forms import (
    form_names,
    messages_by_field,
    problem_rows,
    record_from_form,
    sections_for,
)
from ssc_response.serving.pages.missing_words import MissingView, missing_view
from ssc_response.serving.pages.model_fields import model_fields_by_importance
from ssc_response.serving.pages.uploads import (
    ENCODINGS,
    UploadProblem,
    read_upload,
    saved_mappings,
)
from ssc_response.serving.pages.views import (
    ModelFacts,
    model_facts,
    prediction_view,
    warnings_in_words,
)
from ssc_response.serving.prediction_service import PredictionUnavailable

router = APIRouter(include_in_schema=False)
UNAVAILABLE = "The prediction could not be made just now; nothing was recorded. Try again."


@router.get("/patient")
def patient_form(request: Request, signed: ClinicianPage, pages: PagesDep,
                 served: ModelDep) -> Any:
    """The one-patient form, empty; the served model's fields first, most important first."""
    return _form(request, pages, signed, served, {}, {}, 200)


def _form(request: Request, pages: PagesDep, signed: Any, served: ServedModel,
          values: Mapping[str, Any], errors: Mapping[str, list[str]], status: int,
          not_enough: bool = False) -> Any:
    used = model_fields_by_importance(served)
    form = sections_for(used)
    used_count = sum(1 for item in form[0].inputs if item.used)
    context = {"signed": signed, "sections": form, "values": values, "errors": errors,
               "used_count": used_count, "not_enough": not_enough}
    return render(request, pages, "patient_form.html", context, status)


@router.post("/patient")
async def predict_patient(request: Request, signed: ClinicianPage, form: CheckedForm,
                          pages: PagesDep, served: ModelDep, service: PredictionServiceDep) -> Any:
    """Predict for the form's patient; on a contract problem, the form again with messages."""
    record = record_from_form(form)
    try:
        [prediction] = await _predict([record], signed.key, served, service)
    except ContractError as error:
        values = {name: form.get(name) for name in form_names()}  # as typed: nothing is lost
        return _form(request, pages, signed, served, values, messages_by_field(error.problems),
                     422, _not_enough(error.problems))
    [gaps] = await run_in_threadpool(_gaps, [record])  # ~10-20 ms of pandas: off the loop
    facts = model_facts(served)
    context = {"signed": signed, "model": facts, **prediction_view(prediction, gaps, facts)}
    return render(request, pages, "result.html", context)


def _not_enough(problems: Sequence[Problem]) -> bool:
    """Whether a refusal only asks for fields to be recorded (the API's not-enough-information
    422, whose detail items keep the API's order: the most informative field first)."""
    return bool(problems) and all(p.rule == NEEDED_RULE for p in problems)


def _gaps(records: Sequence[Mapping[str, Any]]) -> list[list[IndexGap]]:
    """Per record (already accepted by the service), the indices with missing items."""
    return index_gaps(validate_patients(records))


async def _predict(records: Sequence[Mapping[str, Any]], key: ApiKey, served: ServedModel,
                   service: PredictionServiceDep) -> list[dict[str, Any]]:
    """The API's path: validated, predicted and audited by the prediction service, or its
    ``ContractError`` (the contract's problems, or a refusal naming fields)."""
    try:
        answer = await service.predict(records, key, served)
    except PredictionUnavailable:
        raise PageDenied(503, UNAVAILABLE) from None
    predictions: list[dict[str, Any]] = json.loads(answer.body)["predictions"]
    return predictions


@router.get("/patient/predictions/{prediction_id}")
def stored_prediction(request: Request, prediction_id: UUID, signed: ClinicianPage,
                      pages: PagesDep, services: ServicesDep) -> Any:
    """One of this key's own predictions, from the audit trail (a batch row's link); the view
    is recorded as an access, like an auditor's."""
    record = services.audit.get(prediction_id)
    if record is None or record.key_id != signed.key.key_id:
        raise PageDenied(404, "None of your predictions has this id.")
    AccessLog(services.engine).record(signed.key.key_id, "view", record.prediction_id)
    prediction = {**record.output, "prediction_id": record.prediction_id,
                  "explanation": record.explanation}
    served = services.models.current
    same = (served.ref.name, served.ref.version) == (record.model_name, record.model_version)
    facts = model_facts(served) if same else ModelFacts(record.model_name, record.model_version,
                                                        None, None)
    gaps = _stored_gaps(record.input)
    context = {"signed": signed, "model": facts, "stored": True,
               **prediction_view(prediction, gaps, facts)}
    return render(request, pages, "result.html", context)


def _stored_gaps(given: Any) -> list[IndexGap]:
    """The index gaps of a stored input (it passed the contract when it was predicted)."""
    try:
        return _gaps([given])[0]
    except (ContractError, TypeError, ValueError):
        return []


@router.get("/patients")
def upload_form(request: Request, signed: ClinicianPage, pages: PagesDep,
                settings: SettingsDep) -> Any:
    """The form to upload a file of patients."""
    return render(request, pages, "batch.html", _upload_context(signed, settings))


def _upload_context(signed: Any, settings: SettingsDep) -> dict[str, Any]:
    return {"signed": signed, "encodings": ENCODINGS, "mappings": saved_mappings(settings),
            "max_rows": settings.max_batch}


@router.post("/patients")
async def predict_file(request: Request, signed: ClinicianPage, form: CheckedForm,
                       pages: PagesDep, served: ModelDep, service: PredictionServiceDep,
                       settings: SettingsDep) -> Any:
    """Predict for every patient of an uploaded file (CSV, .xlsx, Parquet), or for none."""
    chosen = {name: form.get(name) for name in ("encoding", "sheet", "mapping")}
    context = {**_upload_context(signed, settings), "chosen": chosen}  # kept on a refusal
    try:
        records = await _read_upload(request, form, settings)
        predictions = await _predict(records, signed.key, served, service)
    except UploadProblem as problem:
        return render(request, pages, "batch.html", {**context, "message": str(problem)},
                      problem.status)
    except ContractError as error:
        return render(request, pages, "batch.html",
                      {**context, "problems": problem_rows(error.problems)}, 422)
    gaps = await run_in_threadpool(_gaps, records)
    words = [warnings_in_words(p["warnings"], row) for p, row in zip(predictions, gaps,
                                                                     strict=True)]
    missing = [missing_view(p.get("missing_data")) for p in predictions]
    worded = [{**p, "warnings": w, "missing_data": _worded(p.get("missing_data"), m)}
              for p, w, m in zip(predictions, words, missing, strict=True)]
    context |= {"predictions": predictions, "warnings": words, "missing": missing,
                "model": model_facts(served), "csv_href": _csv_link(worded, served.ref.version)}
    return render(request, pages, "batch.html", context)


def _worded(missing_data: Mapping[str, Any] | None,
            view: MissingView | None) -> dict[str, Any] | None:
    """The API's ``missing_data`` with its ``text`` in the page's words (the CSV download)."""
    if missing_data is None or view is None:
        return None
    return {**missing_data, "text": f"{view.sentence} {view.advice}"}


async def _read_upload(request: Request, form: Any, settings: SettingsDep) -> list[dict[str, Any]]:
    """The file read in a worker thread, at most ``upload_parsers`` at a time per process."""
    limiter = getattr(request.app.state, "upload_limiter", None)
    if limiter is None:  # made on the event loop, where anyio needs it made
        limiter = request.app.state.upload_limiter = anyio.CapacityLimiter(
            settings.upload_parsers)
    return await read_upload(form, settings, limiter)


def _csv_link(predictions: list[dict[str, Any]], version: str) -> str:
    """The predictions as a CSV file in a ``data:`` link (no copy kept on the server)."""
    table = predictions_frame(predictions, version)
    table.insert(0, "prediction_id", [p["prediction_id"] for p in predictions])
    text = neutralised_frame(table).to_csv(index=False)  # no cell may run as a formula
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"data:text/csv;base64,{encoded}"
