"""Helpers shared by the audit tests (and the CLI's and PostgreSQL's): entries, a filled trail,
an attacker's edits, a forked row, and the original canonical JSON and hash as references."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, text

from ssc_response.serving.audit import HASHED_FIELDS, AuditEntryIn, AuditRecord, AuditStore


def make_entry(**overrides: object) -> AuditEntryIn:
    """A plausible served prediction; override any field."""
    fields: dict[str, object] = {
        "key_id": "0123456789abcdef",
        "patient_id": "P001",
        "model_name": "ssc-skin-response",
        "model_version": "3",
        "model_run_id": "run-abc",
        "input": {"mrss_total": 24.0, "age_years": 45, "sex": "F"},
        "output": {"probability": 0.62, "interval": [0.41, 0.79]},
        "explanation": {"skin": 0.12, "lung": -0.03},
    }
    fields.update(overrides)
    return AuditEntryIn.model_validate(fields)


def fill(store: AuditStore, count: int) -> list[AuditRecord]:
    """Append ``count`` entries spread over three patients and two model versions."""
    entries = [
        make_entry(patient_id=f"P{i % 3}", model_version=str(1 + i % 2)) for i in range(count)
    ]
    return store.append_many(entries)


def tamper(db_path: Path, *statements: str) -> None:
    """Edit the file as an attacker with file access would: drop the guard triggers, then write."""
    with closing(sqlite3.connect(db_path)) as raw:
        raw.execute("DROP TRIGGER IF EXISTS audit_predictions_no_update")
        raw.execute("DROP TRIGGER IF EXISTS audit_predictions_no_delete")
        for statement in statements:
            raw.execute(statement)
        raw.commit()


def forked_row(engine: Engine, **changes: object) -> dict[str, object]:
    """A copy of entry 2 with a new prediction_id: what a writer that skipped the lock and read
    a stale head (entry 1) would insert."""
    with engine.connect() as conn:
        row = dict(conn.execute(text("SELECT * FROM audit_predictions WHERE seq = 2")).one()
                   ._mapping)
    return {**row, "prediction_id": str(uuid4()), **changes}


def reference_json(value: Any) -> str:
    """The original canonical_json, verbatim."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def reference_hash(fields: dict[str, Any]) -> str:
    """The original compute_entry_hash, verbatim."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(reference_json(payload).encode("utf-8")).hexdigest()
