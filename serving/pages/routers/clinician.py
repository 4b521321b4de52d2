"""The clinician's pages: one patient's form and result, and a file of several patients.

Both go through the JSON API's own path: the records are queued on the same batcher
(:class:`serving.coalescing.PredictionBatcher`), whose handler validates them with the data
contract, predicts, and records every answer in the audit trail before it is returned. A contract
problem comes back as the same ``ContractError`` the API turns into a 422; here it is shown beside
its field (the form) or as a table (a file), and nothing is predicted or recorded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request

from ssc_response.features.validation import ContractError
from ssc_response.models.registry import ServedModel
from ssc_response.models.tabular import predictions_frame
from ssc_response.serving.coalescing import BatcherClosed
from ssc_response.serving.deps import BatcherDep, ModelDep, SettingsDep
from ssc_response.serving.keys import ApiKey
from ssc_response.serving.pages.deps import CheckedForm, ClinicianPage, PageDenied, PagesDep, render
from ssc_response.serving.pages.forms import (
    form_names,
    messages_by_field,
    record_from_form,
    sections,
)
from ssc_response.serving.pages.uploads import (
    ENCODINGS,
    UploadProblem,
    read_upload,
    saved_mappings,
)
from ssc_response.serving.pages.views import model_facts, prediction_view

router = APIRouter(include_in_schema=False)
UNAVAILABLE = "The prediction could not be made just now; nothing was recorded. Try again."


@router.get("/patient")
def patient_form(request: Request, signed: ClinicianPage, pages: PagesDep) -> Any:
    """The one-patient form, empty."""
    return _form(request, pages, signed, {}, {}, 200)


def _form(request: Request, pages: PagesDep, signed: Any, values: Mapping[str, Any],
          errors: Mapping[str, list[str]], status: int) -> Any:
    context = {"signed": signed, "sections": sections(), "values": values, "errors": errors}
    return render(request, pages, "patient_form.html", context, status)


@router.post("/patient")
async def predict_patient(request: Request, signed: ClinicianPage, form: CheckedForm,
                          pages: PagesDep, served: ModelDep, batcher: BatcherDep) -> Any:
    """Predict for the form's patient; on a contract problem, the form again with messages."""
    try:
        [prediction] = await _predict([record_from_form(form)], signed.key, served, batcher)
    except ContractError as error:
        values = {name: form.get(name) for name in form_names()}  # as typed: nothing is lost
        return _form(request, pages, signed, values, messages_by_field(error.problems), 422)
    context = {"signed": signed, "model": model_facts(served), **prediction_view(prediction)}
    return render(request, pages, "result.html", context)


async def _predict(records: Sequence[Mapping[str, Any]], key: ApiKey, served: ServedModel,
                   batcher: BatcherDep) -> list[dict[str, Any]]:
    """The API's path: validated, predicted and audited by the batcher, or ``ContractError``."""
    try:
        answer = await batcher.predict(records, key, served)
    except (BatcherClosed, HTTPException):
        raise PageDenied(503, UNAVAILABLE) from None
    predictions: list[dict[str, Any]] = json.loads(answer.body)["predictions"]
    return predictions


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
                       pages: PagesDep, served: ModelDep, batcher: BatcherDep,
                       settings: SettingsDep) -> Any:
    """Predict for every patient of an uploaded file (CSV, .xlsx, Parquet), or for none."""
    chosen = {name: form.get(name) for name in ("encoding", "sheet", "mapping")}
    context = {**_upload_context(signed, settings), "chosen": chosen}  # kept on a refusal
    try:
        records = await _read_upload(request, form, settings)
        predictions = await _predict(records, signed.key, served, batcher)
    except UploadProblem as problem:
        return render(request, pages, "batch.html", {**context, "message": str(problem)},
                      problem.status)
    except ContractError as error:
        return render(request, pages, "batch.html", {**context, "problems": error.problems}, 422)
    context |= {"predictions": predictions, "model": model_facts(served),
                "csv_href": _csv_link(predictions, served.ref.version)}
    return render(request, pages, "batch.html", context)


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
    encoded = base64.b64encode(table.to_csv(index=False).encode("utf-8")).decode("ascii")
    return f"data:text/csv;base64,{encoded}"
