"""Auditor access: who viewed, replayed or exported which part of the audit trail, and when.

Written by the web pages and the JSON API (a view of a stored prediction is itself recorded). It
holds key ids, actions and prediction ids, never patient values. The rows form a hash chain of
their own (``id`` 1..n, each ``entry_hash`` covering the row and its predecessor's hash), written
under a writer lock like the predictions, so an edited or deleted access is found by verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from ssc_response.serving.audit.hashing import (
    ACCESS_HASHED_FIELDS,
    GENESIS_HASH,
    compute_entry_hash,
)
from ssc_response.serving.database import utc_now_iso, write_transaction
from ssc_response.serving.database_tables import audit_access

ACTIONS = ("view", "replay", "export", "verify")
# pg_advisory_xact_lock key owned by the access chain ("SSCACCES").
ACCESS_LOCK_KEY = 0x5353_4341_4343_4553


@dataclass(frozen=True)
class Access:
    """One recorded access."""

    at: str
    key_id: str
    action: str
    prediction_id: str | None
    detail: str | None


class AccessLog:
    """Append and read the ``audit_access`` chain."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, key_id: str, action: str, prediction_id: str | None = None,
               detail: str | None = None) -> None:
        """Append one access (committed before the page is sent)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        row: dict[str, Any] = {"at": utc_now_iso(), "key_id": key_id, "action": action,
                               "prediction_id": prediction_id, "detail": detail}
        with write_transaction(self._engine, ACCESS_LOCK_KEY) as conn:
            head_id, head_hash = access_head(conn)
            row |= {"id": head_id + 1, "prev_hash": head_hash}
            row["entry_hash"] = compute_entry_hash(row, ACCESS_HASHED_FIELDS)
            conn.execute(insert(audit_access), row)

    def for_prediction(self, prediction_id: str, limit: int = 20) -> list[Access]:
        """The latest accesses to one prediction, newest first."""
        table = audit_access
        stmt = (select(table).where(table.c.prediction_id == prediction_id)
                .order_by(table.c.id.desc()).limit(limit))
        with self._engine.connect() as conn:
            return [Access(r.at, r.key_id, r.action, r.prediction_id, r.detail)
                    for r in conn.execute(stmt)]


def access_head(conn: Connection) -> tuple[int, str]:
    """(id, entry_hash) of the last access, or (0, genesis hash) when there is none."""
    columns = audit_access.c
    head = conn.execute(
        select(columns.id, columns.entry_hash).order_by(columns.id.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if head is None else (head.id, head.entry_hash)
