"""The steps of the live inference path, each a plain function (no HTTP, no scheduling).

:class:`serving.prediction_service.PredictionService` runs them in order for a batch of requests;
replay (:mod:`serving.audit.replay`) and the pages' index gaps reuse the validation and the
model call:

1. :func:`validate_patients` (one request) or :func:`validate_requests` (the requests of a
   coalesced batch): records through the data contract
   (:func:`features.validation.validate_records`; a broken rule is the request's
   ``ContractError``, the caller's 422);
2. :func:`predict_records`: one vectorised model call
   (:meth:`models.bundle.ResponseModel.predict`) for the validated records of every request;
3. :func:`answer_entries`: each answer with its new ``prediction_id`` and the audit entry that
   records it (input as received, output, explanation, model version, key);
4. :func:`record`: the entries appended to the audit trail in one durable transaction. An answer
   must not be shown before its entries are recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pandas as pd

from ssc_response.features.validation import validate_records
from ssc_response.models.registry import ServedModel
from ssc_response.serving.audit import AuditEntryIn, AuditStore

Records = Sequence[Mapping[str, Any]]
Prediction = dict[str, Any]


def validate_patients(records: Records) -> pd.DataFrame:
    """One request's records, validated, in the dtypes the model reads
    (:func:`features.validation.model_frame`); follow-up (outcome) fields are refused.

    Raises ``ContractError`` naming every broken rule (rows numbered within the request).
    """
    return validate_records(records, outcomes=False, model_dtypes=True)


@dataclass(frozen=True)
class ValidatedRequests:
    """The requests of a batch after the data contract.

    ``records``: the valid requests' records in one typed frame, request after request (``None``
    when no request is valid); ``sizes``: how many rows of it each valid request owns, in order;
    ``refused``: per request, ``None`` if valid, else why not (its ``ContractError``, or the
    exception of a server fault).
    """

    records: pd.DataFrame | None
    sizes: list[int]
    refused: list[Exception | None]


def validate_requests(requests: Sequence[Records]) -> ValidatedRequests:
    """Each request's records through the data contract, as :func:`validate_patients` would.

    All requests go through the rules in one pass (the rules' cost is per call, not per record,
    so a batch of eight one-patient requests costs about what one does); ``patient_id`` must be
    unique within each request, not across them. The contract's rules are local to a record or
    a request, so the batch passes exactly when every request does. Only when something is
    refused are the requests validated one by one, so each gets its own problems, numbered
    within it.
    """
    sizes = [len(records) for records in requests]
    try:
        joined = [record for records in requests for record in records]
        frame = validate_records(joined, outcomes=False, id_groups=sizes, model_dtypes=True)
        return ValidatedRequests(frame, sizes, [None] * len(requests))
    except Exception:  # noqa: BLE001 - found again, request by request, below
        return _one_by_one(requests)


def _one_by_one(requests: Sequence[Records]) -> ValidatedRequests:
    frames: list[pd.DataFrame] = []
    refused: list[Exception | None] = []
    for records in requests:
        try:
            frames.append(validate_patients(records))
            refused.append(None)
        except Exception as error:  # noqa: BLE001 - the request's outcome, not the batch's
            refused.append(error)
    joined = pd.concat(frames, ignore_index=True) if frames else None
    return ValidatedRequests(joined, [len(f) for f in frames], refused)


def predict_records(served: ServedModel, records: pd.DataFrame) -> list[Prediction]:
    """One model call for validated records (those of every request of a batch): one output
    per record, in order."""
    outputs = served.model.predict(records)
    if len(outputs) != len(records):
        raise RuntimeError(f"{len(outputs)} predictions for {len(records)} patients")
    return outputs


def predict(served: ServedModel, requests: Sequence[pd.DataFrame]) -> list[list[Prediction]]:
    """:func:`predict_records` for the validated records of several requests (replay, scripts);
    the outputs per request."""
    frames = [frame for frame in requests if len(frame)]
    joined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    outputs = predict_records(served, joined)
    split, start = [], 0
    for frame in requests:
        split.append(outputs[start:start + len(frame)])
        start += len(frame)
    return split


def answer_entries(served: ServedModel, key_id: str | None, given: Records,
                   outputs: Sequence[Prediction]) -> tuple[list[Prediction], list[AuditEntryIn]]:
    """Each answer as the client reads it and the audit entry recording it (one prediction_id).

    ``given``: the records as received, stored as the entry's input (a replay validates them
    again); ``outputs``: the model's outputs for them, in the same order.
    """
    ref = served.ref
    model = {"name": ref.name, "version": ref.version, "run_id": ref.run_id}
    answers, entries = [], []
    for record, output in zip(given, outputs, strict=True):
        prediction_id = uuid4()
        recorded = {"patient_id": output["patient_id"], "model": model,
                    "probability_response": output["probability_response"],
                    "predicted_delta_mrss": output["predicted_delta_mrss"],
                    "indices": output["indices"], "warnings": output["warnings"],
                    "missing_data": output.get("missing_data")}
        entries.append(AuditEntryIn(
            prediction_id=prediction_id, key_id=key_id, patient_id=output["patient_id"],
            model_name=ref.name, model_version=ref.version, model_run_id=ref.run_id,
            input=dict(record), output=recorded, explanation=output["explanation"],
        ))
        answers.append({"prediction_id": prediction_id, **recorded,
                        "explanation": output["explanation"]})
    return answers, entries


def record(audit: AuditStore, entries: Sequence[AuditEntryIn]) -> None:
    """Durably append the entries (one transaction); raises if they are not recorded."""
    audit.append_many(entries)
