"""``AuditStore``: append-only writes and reads of the audit trail."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Connection, Engine, func, insert, select

from ssc_response.serving.audit.hashing import GENESIS_HASH, canonical_json, compute_entry_hash
from ssc_response.serving.audit.records import AuditEntryIn, AuditRecord, VerifyResult
from ssc_response.serving.audit.verify import verify_chain
from ssc_response.serving.database import to_utc_iso, utc_now_iso, write_transaction
from ssc_response.serving.database_tables import audit_predictions

# pg_advisory_xact_lock key owned by the audit chain ("SSCAUDIT").
AUDIT_LOCK_KEY = 0x5353_4341_5544_4954

_Prepared = dict[str, Any]
# Columns the list may be sorted by (the auditor's page offers each as a column heading).
SORTABLE = ("seq", "created_at", "patient_id", "model_version", "key_id")


class AuditStore:
    """Tamper-evident, append-only log of served predictions.

    There are deliberately no update or delete methods. Each entry's ``entry_hash`` covers its
    content and the previous entry's hash, so any edit, deletion or reordering is found by
    :meth:`verify`.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, entry: AuditEntryIn) -> AuditRecord:
        """Append one entry; see :meth:`append_many`."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[AuditEntryIn]) -> builtins.list[AuditRecord]:
        """Append ``entries`` atomically, in order, and return them once durably committed.

        Safe across threads and processes: the writer lock is taken before the chain head is read,
        so two writers can never chain onto the same head.
        """
        if not entries:
            return []
        # Serialise outside the lock: the lock is held only for head read, hashing and insert.
        prepared = [_prepare(entry) for entry in entries]
        with write_transaction(self._engine, AUDIT_LOCK_KEY) as conn:
            head_seq, head_hash = _chain_head(conn)
            rows = _chain(prepared, head_seq, head_hash)
            records = _records(rows)
            conn.execute(insert(audit_predictions), rows)
        return records

    def get(self, prediction_id: str | UUID) -> AuditRecord | None:
        """The entry recorded for ``prediction_id`` (any UUID spelling), or ``None``."""
        try:
            canonical_id = str(UUID(str(prediction_id)))  # stored lower-case, hyphenated
        except ValueError:
            return None
        stmt = select(audit_predictions).where(audit_predictions.c.prediction_id == canonical_id)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else AuditRecord.model_validate(row._mapping)

    def list(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        patient_id: str | None = None,
        model_version: str | None = None,
        key_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        prediction_id: str | None = None,
        sort: str = "seq",
        descending: bool = False,
    ) -> tuple[builtins.list[AuditRecord], int]:
        """One page of entries, and the total number matching the filters.

        ``since`` is inclusive and ``until`` exclusive; naive datetimes are taken to be UTC.
        Sorted by ``sort`` (one of :data:`SORTABLE`), then by seq, in the same direction.
        """
        if limit < 1 or offset < 0:
            raise ValueError(f"need limit >= 1 and offset >= 0, got limit={limit}, offset={offset}")
        if sort not in SORTABLE:
            raise ValueError(f"cannot sort by {sort!r}; expected one of {', '.join(SORTABLE)}")
        conditions = _filters(since, until, patient_id, model_version, key_id)
        if prediction_id is not None:
            conditions.append(audit_predictions.c.prediction_id == prediction_id)
        keys = [audit_predictions.c[sort], audit_predictions.c.seq]
        page = select(audit_predictions).where(*conditions).order_by(
            *(key.desc() if descending else key.asc() for key in keys))
        count = select(func.count()).select_from(audit_predictions).where(*conditions)
        with self._engine.connect() as conn, conn.begin():  # one snapshot for page and total
            rows = conn.execute(page.limit(limit).offset(offset)).all()
            total = conn.execute(count).scalar_one()
        return [AuditRecord.model_validate(row._mapping) for row in rows], total

    def verify(self, chunk_size: int = 1000) -> VerifyResult:
        """Recompute the whole chain in seq order, ``chunk_size`` rows in memory at a time."""
        with self._engine.connect() as conn, conn.begin():
            return verify_chain(conn, chunk_size)


def _prepare(entry: AuditEntryIn) -> _Prepared:
    """Row fields known before the lock (everything except seq, created_at and hashes)."""
    return {
        "prediction_id": str(entry.prediction_id),
        "key_id": entry.key_id,
        "patient_id": entry.patient_id,
        "model_name": entry.model_name,
        "model_version": entry.model_version,
        "model_run_id": entry.model_run_id,
        "input_json": canonical_json(entry.input),
        "output_json": canonical_json(entry.output),
        "explanation_json": canonical_json(entry.explanation),
    }


def _records(rows: Sequence[_Prepared]) -> list[AuditRecord]:
    """The records of ``rows``, checked before they are inserted; the same values, not re-dumped."""
    return [AuditRecord.model_validate(row) for row in rows]


def _chain_head(conn: Connection) -> tuple[int, str]:
    """(seq, entry_hash) of the last entry, or (0, genesis hash) for an empty trail."""
    columns = audit_predictions.c
    head = conn.execute(
        select(columns.seq, columns.entry_hash).order_by(columns.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if head is None else (head.seq, head.entry_hash)


def _chain(prepared: Sequence[_Prepared], head_seq: int, head_hash: str) -> list[_Prepared]:
    """Number, timestamp and hash-link ``prepared`` rows onto the chain head: the rows to insert."""
    rows, prev_hash = [], head_hash
    for offset, fields in enumerate(prepared, start=1):
        # Timestamped under the lock so created_at follows seq order (barring clock steps).
        row = {**fields, "seq": head_seq + offset, "created_at": utc_now_iso()}
        row["prev_hash"] = prev_hash
        row["entry_hash"] = prev_hash = compute_entry_hash(row)
        rows.append(row)
    return rows


def _filters(
    since: datetime | None,
    until: datetime | None,
    patient_id: str | None,
    model_version: str | None,
    key_id: str | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE conditions for :meth:`AuditStore.list`; created_at compares as fixed-width text."""
    columns, conditions = audit_predictions.c, []
    if since is not None:
        conditions.append(columns.created_at >= to_utc_iso(since))
    if until is not None:
        conditions.append(columns.created_at < to_utc_iso(until))
    if patient_id is not None:
        conditions.append(columns.patient_id == patient_id)
    if model_version is not None:
        conditions.append(columns.model_version == model_version)
    if key_id is not None:
        conditions.append(columns.key_id == key_id)
    return conditions
