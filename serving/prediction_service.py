"""The one owner of a prediction request: validate, screen, predict, answer, stage the audit write.

A front end (the JSON API's route, the clinician's pages) awaits :meth:`PredictionService.predict`
and gets the request's :class:`Answer`, or the exception to show: its ``ContractError`` (a 422:
the data contract, a patient outside the model's population, too little recorded) or
:class:`PredictionUnavailable` (a 503: nothing recorded). The service queues the request on its
:class:`serving.coalescing.PredictionBatcher`, which only schedules: it gathers the waiting
requests and hands them, on its worker thread, to :meth:`PredictionService.answer_batch`, which
runs every step for the whole batch (one validation pass, one model call) and splits the results
back per request once, at the end. The audit write is staged (:class:`StagedCommit`): the batcher
runs it on its committer thread while the next batch is computed, and resolves each request only
with what the commit returned, so no answer leaves unrecorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ssc_response.features.scope import NotEnoughInformationError, OutOfScopeError
from ssc_response.features.validation import ContractError, Problem
from ssc_response.models.answerable import not_enough_information, out_of_scope
from ssc_response.models.registry import ServedModel
from ssc_response.serving import inference
from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.coalescing import BatcherClosed, Pending, PredictionBatcher, Staged
from ssc_response.serving.keys import ApiKey
from ssc_response.serving.prometheus import ServiceMetrics, log_failure
from ssc_response.serving.schemas import (
    DETAIL_AUDIT_UNAVAILABLE,
    DETAIL_PREDICTION_UNAVAILABLE,
    PredictionsOut,
)


class PredictionUnavailable(RuntimeError):
    """Nothing was predicted or recorded for the request (the model, the audit store or the
    queue failed); ``detail`` is the client's words (a 503 at the API's edge)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    """One request's recorded answer: its ``PredictionsOut`` as JSON, and how many it holds."""

    body: bytes
    predictions: int


@dataclass(eq=False)
class StagedCommit:
    """A computed batch whose audit entries are still to be committed (on the committer thread).

    ``outcomes``: per request, its :class:`Answer` or refusal; ``answered``: the requests that
    reached the model (all fail together if the commit fails).
    """

    service: PredictionService
    served: ServedModel
    outcomes: list[object]
    answered: list[int]
    entries: list[AuditEntryIn] = field(default_factory=list)

    def commit(self) -> list[object]:
        """Durably record the entries, then give the outcomes (or the 503 of a failed write)."""
        try:
            inference.record(self.service.audit, self.entries)
        except Exception as error:  # the whole batch: nothing recorded, nothing returned
            failed = _unavailable(error, "audit write", DETAIL_AUDIT_UNAVAILABLE)
            return self.service.counted(self.served, _placed(self.outcomes, self.answered, failed))
        return self.service.counted(self.served, self.outcomes)


class PredictionService:
    """Answers prediction requests, batched by its :class:`PredictionBatcher`."""

    def __init__(self, audit: AuditStore, metrics: ServiceMetrics, *, max_patients: int,
                 linger_seconds: float) -> None:
        self.audit = audit
        self.metrics = metrics
        self.batcher = PredictionBatcher(self.answer_batch, max_patients=max_patients,
                                         linger_seconds=linger_seconds, metrics=metrics)

    def start(self) -> None:
        self.batcher.start()

    def stop(self) -> None:
        """Refuse new requests; those queued are answered and recorded first."""
        self.batcher.stop()

    async def predict(self, records: Sequence[Mapping[str, Any]], key: ApiKey,
                      served: ServedModel) -> Answer:
        """The request's recorded answer; raises its ``ContractError`` or
        :class:`PredictionUnavailable`."""
        try:
            answer: Answer = await self.batcher.predict(records, key, served)
        except BatcherClosed as error:
            raise _unavailable(error, "prediction queue", DETAIL_PREDICTION_UNAVAILABLE) from None
        return answer

    # --- on the batch worker thread --------------------------------------------------------

    def answer_batch(self, served: ServedModel, batch: Sequence[Pending]) -> list[object] | Staged:
        """Every request of ``batch`` through every step; one outcome per request."""
        validated = inference.validate_requests([pending.records for pending in batch])
        outcomes: list[object] = [_refusal(error) for error in validated.refused]
        valid = [i for i, error in enumerate(validated.refused) if error is None]
        records = validated.records
        if records is None:
            return self.counted(served, outcomes)
        scope = out_of_scope(served.model, records)
        refused, kept = _screened(scope, valid, validated.sizes)
        answered = [i for i in valid if i not in refused]
        outputs: list[inference.Prediction] = []
        blank: list[list[Problem]] = []
        if answered:
            try:
                asked = records if kept.all() else records[kept].reset_index(drop=True)
                outputs = inference.predict_records(served, asked)
                blank = not_enough_information(served.model, asked, outputs)
            except Exception as error:  # the whole batch: nothing recorded, nothing returned
                failed = _unavailable(error, "prediction", DETAIL_PREDICTION_UNAVAILABLE)
                return self.counted(served, _placed(outcomes, answered, failed))
        per_row = iter(zip(outputs, blank, strict=True))
        staged = StagedCommit(self, served, outcomes, answered)
        start = 0
        for i, size in zip(valid, validated.sizes, strict=True):  # the one split per request
            rows = range(start, start + size)
            start += size
            if i in refused:
                outcomes[i] = OutOfScopeError(_renumbered(scope, rows))
            else:
                outcomes[i] = self._answer(staged, served, batch[i], [next(per_row) for _ in rows])
        return Staged(staged.commit) if answered else self.counted(served, outcomes)

    def _answer(self, staged: StagedCommit, served: ServedModel, pending: Pending,
                request: list[tuple[inference.Prediction, list[Problem]]]) -> object:
        """One request's outcome; its audit entries joined to ``staged``."""
        outputs = [output for output, _ in request]
        needed = [replace(p, row=row) for row, (_, problems) in enumerate(request, start=1)
                  for p in problems]
        if needed:  # no number: nothing recorded, the fields to record instead
            return NotEnoughInformationError(needed)
        try:
            predictions, entries = inference.answer_entries(
                served, pending.key.key_id, pending.records, outputs)
            # Checked before recording, so a recorded answer cannot then fail the response model.
            answer = _checked(predictions)
        except Exception as error:  # e.g. a model output without a field the answer needs
            return _unavailable(error, "prediction output", DETAIL_PREDICTION_UNAVAILABLE)
        staged.entries += entries
        return answer

    def counted(self, served: ServedModel, outcomes: list[object]) -> list[object]:
        """``outcomes``, with the answers counted as served and the refusals (out of scope, not
        enough information) counted by reason."""
        answered = sum(a.predictions for a in outcomes if isinstance(a, Answer))
        self.metrics.predictions.labels(served.ref.version).inc(answered)
        for outcome in outcomes:
            if isinstance(outcome, OutOfScopeError):
                self.metrics.refusals.labels("out_of_scope").inc()
            elif isinstance(outcome, NotEnoughInformationError):
                self.metrics.refusals.labels("not_enough_information").inc()
        return outcomes


def _screened(scope: Sequence[Sequence[Problem]], valid: Sequence[int],
              sizes: Sequence[int]) -> tuple[set[int], np.ndarray]:
    """From each row's broken population rules (``scope``): the requests refused (a request
    with one patient out of scope is refused whole), and the rows of the others, to predict."""
    owner = np.repeat(np.asarray(valid), sizes)  # each row's request
    refused = {int(owner[r]) for r, rows in enumerate(scope) if rows}
    return refused, ~np.isin(owner, sorted(refused))


def _renumbered(problems: Sequence[Sequence[Problem]], rows: range) -> list[Problem]:
    """The problems of the batch's ``rows``, numbered within their request."""
    return [replace(p, row=p.row - rows.start) for r in rows for p in problems[r]
            if p.row is not None]


def _checked(predictions: list[dict[str, Any]]) -> Answer:
    """The answers checked against the response model and serialised (on the batch worker, so
    the event loop only sends bytes)."""
    checked = PredictionsOut.model_validate({"predictions": predictions})
    return Answer(checked.model_dump_json().encode(), len(predictions))


def _refusal(error: Exception | None) -> object:
    """A refused request's outcome: its ``ContractError`` (a 422), or a 503 for a server fault."""
    if error is None or isinstance(error, ContractError):
        return error
    return _unavailable(error, "validation", DETAIL_PREDICTION_UNAVAILABLE)


def _placed(outcomes: list[object], requests: Sequence[int], outcome: object) -> list[object]:
    """``outcomes`` with ``outcome`` in the places of ``requests``."""
    placed = list(outcomes)
    for i in requests:
        placed[i] = outcome
    return placed


def _unavailable(error: Exception, stage: str, detail: str) -> PredictionUnavailable:
    """Log the failure without its message (it may quote patient values); the 503 to raise."""
    log_failure(error, stage)
    return PredictionUnavailable(detail)
