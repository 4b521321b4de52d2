"""Auditor access: who viewed, replayed or exported which part of the audit trail, and when.

Written by the web pages (a page view of a stored prediction is itself recorded). It holds key
ids, actions and prediction ids, never patient values.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert, select

from ssc_response.serving.database import audit_access, utc_now_iso

ACTIONS = ("view", "replay", "export", "verify")


@dataclass(frozen=True)
class Access:
    """One recorded access."""

    at: str
    key_id: str
    action: str
    prediction_id: str | None
    detail: str | None


class AccessLog:
    """Append and read the ``audit_access`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, key_id: str, action: str, prediction_id: str | None = None,
               detail: str | None = None) -> None:
        """Append one access (committed before the page is sent)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        row = {"at": utc_now_iso(), "key_id": key_id, "action": action,
               "prediction_id": prediction_id, "detail": detail}
        with self._engine.begin() as conn:
            conn.execute(insert(audit_access), row)

    def for_prediction(self, prediction_id: str, limit: int = 20) -> list[Access]:
        """The latest accesses to one prediction, newest first."""
        table = audit_access
        stmt = (select(table).where(table.c.prediction_id == prediction_id)
                .order_by(table.c.id.desc()).limit(limit))
        with self._engine.connect() as conn:
            return [Access(r.at, r.key_id, r.action, r.prediction_id, r.detail)
                    for r in conn.execute(stmt)]
