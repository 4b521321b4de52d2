"""Typed values exchanged with the audit store."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryIn(BaseModel):
    """One served prediction to record; ``input``/``output``/``explanation`` must be JSON values.

    Pass ``model_dump(mode="json")`` of the request/response models, not raw numpy objects.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prediction_id: UUID = Field(default_factory=uuid4)
    key_id: str | None = None
    patient_id: str | None = None
    model_name: str
    model_version: str
    model_run_id: str | None = None
    input: Any
    output: Any
    explanation: Any = None


class AuditRecord(BaseModel):
    """One stored, chained audit row (JSON fields as their stored canonical text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    prediction_id: str
    created_at: str = Field(description="UTC ISO-8601 with microseconds")
    key_id: str | None
    patient_id: str | None
    model_name: str
    model_version: str
    model_run_id: str | None
    input_json: str
    output_json: str
    explanation_json: str
    prev_hash: str
    entry_hash: str

    @property
    def input(self) -> Any:
        """The recorded model input, parsed."""
        return json.loads(self.input_json)

    @property
    def output(self) -> Any:
        """The recorded model output, parsed."""
        return json.loads(self.output_json)

    @property
    def explanation(self) -> Any:
        """The recorded explanation, parsed (``None`` when none was recorded)."""
        return json.loads(self.explanation_json)


class VerifyResult(BaseModel):
    """Outcome of re-computing the whole hash chain.

    ``checked`` counts the entries verified before the first break (all of them when ``ok``).
    ``head_seq``/``head_hash`` identify the last verified entry: recording them elsewhere
    (a ticket, a log) is what makes deleting entries at the *end* of the chain detectable later.
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    first_broken_prediction_id: str | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
