"""The one inference path, and replay: re-running a recorded prediction with its model version.

:func:`run_model` is what the prediction route calls (on the validated arrays
:func:`validate_requests` made of a whole batch of requests); :func:`replay_prediction` calls it
again on the recorded input alone with the recorded model version. The model answers each row on
its own, so a replay recomputes exactly what was served and any difference means the model
artifact, the code or the record has changed.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import numpy as np
import pandas as pd

from features.validation import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    ContractError,
    ValidatedRecords,
    validate_record_columns,
    validate_records,
)
from models.bundle import ResponseModel
from models.registry import ModelNotFoundError, ServedModel, load_served_model
from serving.audit import AuditRecord
from serving.schemas import patient_record_model

TOLERANCE = 1e-9
_INTERVALS = ("probability_response", "predicted_delta_mrss")
_INTERVAL_PARTS = ("estimate", "lower", "upper")

VersionLoader = Callable[[str, str], ServedModel]  # (model name, version) -> loaded model


_ID = re.compile(ID_PATTERN)

Records = Sequence[Mapping[str, Any]]


def run_model(model: ResponseModel,
              records: Records | ValidatedRecords | pd.DataFrame) -> list[dict[str, Any]]:
    """One vectorised model call, on records (validated here) or on validated ones.

    Validated records are the arrays of :func:`validate_requests` (or of
    ``validate_record_columns``) or a validated frame; the answers are the same either way.
    Raises ``ContractError`` when records break a rule of the input contract.
    """
    if not isinstance(records, ValidatedRecords | pd.DataFrame):
        records = validate_record_columns(records)
    return model.predict(records)


def validated_frame(records: Records) -> pd.DataFrame:
    """Cross-field validation of one request's pydantic-checked records: the typed frame.

    Raises ``ContractError`` (rows numbered within the request).
    """
    return validate_records(records)


def validate_requests(
    requests: Sequence[Records],
) -> tuple[ValidatedRecords | None, list[ContractError | None]]:
    """Validate a batch of requests at once; the result's rows are the valid requests' records.

    Returns the validated records as arrays (what :func:`run_model` takes; ``None`` when no
    request is valid) and, per request, its ``ContractError`` or ``None``. A validation costs
    mostly per call, not per row, so the batch is validated once; ``patient_id`` need only be
    unique within a request, so that call sees placeholder IDs. When it finds problems, the
    requests they fall in are validated alone: each gets exactly the 422 it would get on its
    own, and the others are not failed with it.
    """
    errors: list[ContractError | None] = [None] * len(requests)
    alone = {i for i, records in enumerate(requests) if not _joinable(records)}
    batch = None
    try:
        batch = _joint_records([r for i, r in enumerate(requests) if i not in alone])
    except ContractError as error:
        alone |= _requests_with_problems(error, requests, alone)
    for i in sorted(alone):
        try:
            validate_record_columns(requests[i])
        except ContractError as error:
            errors[i] = error
    passed = [records for records, error in zip(requests, errors, strict=True) if error is None]
    if batch is None or len(passed) > len(requests) - len(alone):
        batch = _joint_records(passed) if passed else None
    return batch, errors


def _joinable(records: Records) -> bool:
    """Whether every patient_id is well formed and unique here, so placeholders can stand in."""
    ids = [record.get("patient_id") for record in records]
    well_formed = all(
        isinstance(pid, str) and len(pid) <= ID_MAX_LENGTH and _ID.fullmatch(pid) for pid in ids
    )
    return well_formed and len(set(ids)) == len(ids)


def _joint_records(requests: Sequence[Records]) -> ValidatedRecords:
    """Every record of ``requests`` validated at once; IDs checked per request instead.

    The IDs are well formed (``_joinable``), so they come back as given: a validated ID is the
    given text, stripped, and the ID pattern allows no whitespace.
    """
    records = [record for request in requests for record in request]
    stand_ins = [{**record, "patient_id": f"row-{n}"} for n, record in enumerate(records)]
    ids = np.fromiter((record["patient_id"] for record in records), dtype=object,
                      count=len(records))
    return validate_record_columns(stand_ins).replaced("patient_id", ids)


def _requests_with_problems(error: ContractError, requests: Sequence[Records],
                            alone: set[int]) -> set[int]:
    """The jointly validated requests a problem row falls in (all of them if a row is unknown)."""
    joint = [i for i in range(len(requests)) if i not in alone]
    ends = list(accumulate(len(requests[i]) for i in joint))  # last joint row of each request
    rows = [problem.row for problem in error.problems]
    if None in rows:
        return set(joint)
    return {joint[bisect_right(ends, row - 1)] for row in rows if row is not None}


class ReplayError(RuntimeError):
    """The recorded prediction cannot be recomputed (model version gone, input now invalid)."""


@dataclass(frozen=True)
class Difference:
    """One recorded value the replay did not reproduce."""

    path: str
    recorded: Any
    replayed: Any


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of a replay; ``match`` is true when nothing differs beyond :data:`TOLERANCE`."""

    prediction_id: str
    model_name: str
    model_version: str
    model_run_id: str | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def match(self) -> bool:
        return not self.differences


def replay_prediction(record: AuditRecord, loader: VersionLoader) -> ReplayResult:
    """Recompute ``record`` with the model version it names and compare with what was served."""
    try:
        served = loader(record.model_name, record.model_version)
    except ModelNotFoundError:
        raise ReplayError("the recorded model version is no longer in the registry") from None
    try:
        inputs = patient_record_model().model_validate(record.input).model_dump(exclude_unset=True)
        replayed = run_model(served.model, [inputs])[0]
    except (ContractError, ValueError):
        raise ReplayError("the recorded input no longer passes the input contract") from None
    differences = compare_outputs(record.output, record.explanation, replayed)
    return ReplayResult(record.prediction_id, record.model_name, record.model_version,
                        record.model_run_id, differences)


def compare_outputs(output: Mapping[str, Any], explanation: Mapping[str, Any],
                    replayed: Mapping[str, Any]) -> list[Difference]:
    """Interval numbers and the explanation (base, output, every contribution)."""
    differences: list[Difference] = []
    for name in _INTERVALS:
        for part in _INTERVAL_PARTS:
            _compare(differences, f"{name}.{part}", output.get(name, {}).get(part),
                     replayed[name][part])
    _compare_explanation(differences, explanation or {}, replayed["explanation"])
    return differences


def _compare_explanation(differences: list[Difference], recorded: Mapping[str, Any],
                         replayed: Mapping[str, Any]) -> None:
    for part in ("base_value", "output_value", "output_space"):
        _compare(differences, f"explanation.{part}", recorded.get(part), replayed[part])
    before = {c["feature"]: c for c in recorded.get("contributions", [])}
    after = {c["feature"]: c for c in replayed["contributions"]}
    for feature in sorted(before.keys() | after.keys()):
        old, new = before.get(feature, {}), after.get(feature, {})
        path = f"explanation.contributions[{feature}]"
        _compare(differences, f"{path}.contribution", old.get("contribution"),
                 new.get("contribution"))
        _compare(differences, f"{path}.value", old.get("value"), new.get("value"))


def _compare(differences: list[Difference], path: str, recorded: Any, replayed: Any) -> None:
    if not _same(recorded, replayed):
        differences.append(Difference(path, recorded, replayed))


def _same(recorded: Any, replayed: Any) -> bool:
    if _is_number(recorded) and _is_number(replayed):
        return math.isclose(recorded, replayed, rel_tol=0.0, abs_tol=TOLERANCE)
    return bool(recorded == replayed)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class VersionCache:
    """Loaded model versions for replay, least recently used dropped beyond ``size``.

    The model currently served is reused rather than loaded twice.
    """

    def __init__(self, current: Callable[[], ServedModel | None],
                 loader: Callable[[str], ServedModel] = load_served_model, size: int = 4) -> None:
        self._current = current
        self._loader = loader
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], ServedModel] = OrderedDict()

    def __call__(self, name: str, version: str) -> ServedModel:
        served = self._current()
        if served is not None and (served.ref.name, served.ref.version) == (name, version):
            return served
        with self._lock:  # loading twice in parallel would only waste memory and time
            key = (name, version)
            if key not in self._cache:
                self._cache[key] = self._loader(f"models:/{name}/{version}")
                if len(self._cache) > self._size:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return self._cache[key]
