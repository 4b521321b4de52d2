"""The live inference path: patient records in, answers and their audit entries out.

No HTTP here, so any front end (the JSON API's batcher, a web page's form) calls the same steps:

1. :func:`validate_patients`: one request's records through the data contract
   (:func:`features.validation.validate_records`; raises ``ContractError``, the caller's 422);
2. :func:`predict`: one vectorised model call (:meth:`models.bundle.ResponseModel.predict`) for
   the validated records of one or many requests, answers split back per request;
3. :func:`answer_entries`: each answer with its new ``prediction_id`` and the audit entry that
   records it (input as received, output, explanation, model version, key);
4. :func:`record`: the entries appended to the audit trail in one durable transaction. An answer
   must not be shown before its entries are recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

import pandas as pd

from features.validation import validate_records
from models.registry import ServedModel
from serving.audit import AuditEntryIn, AuditStore

Records = Sequence[Mapping[str, Any]]
Prediction = dict[str, Any]


def validate_patients(records: Records) -> pd.DataFrame:
    """One request's records, validated and typed; follow-up (outcome) fields are refused.

    Raises ``ContractError`` naming every broken rule (rows numbered within the request).
    """
    return validate_records(records, outcomes=False)


def predict(served: ServedModel, requests: Sequence[pd.DataFrame]) -> list[list[Prediction]]:
    """One model call for the validated records of every request; the outputs per request."""
    frames = [frame for frame in requests if len(frame)]
    joined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    outputs = served.model.predict(joined)
    if len(outputs) != len(joined):
        raise RuntimeError(f"{len(outputs)} predictions for {len(joined)} patients")
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
                    "indices": output["indices"], "warnings": output["warnings"]}
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
