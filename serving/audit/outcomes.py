"""Follow-up outcomes recorded against served predictions: the third chain of the audit trail.

An outcome names its prediction by ``prediction_id``, or by the patient's pseudonymous id and the
follow-up visit date (then the patient's latest prediction served on or before that date). It is
checked by the same contract as every input (:mod:`features.validation`), on the prediction's
stored baseline record with the follow-up fields added, and refused, naming the field, when it
does not fit its prediction: an unknown prediction, a visit before the prediction or in the
future, a second outcome for the same prediction, a field that is not a follow-up field, or no
follow-up mRSS (the outcome is derived from it). A batch is stored whole or not at all, hash-linked
like the predictions (``audit_outcomes``), with who recorded it and when.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from ssc_response.features.schema import outcome_fields
from ssc_response.features.validation import ContractError, Problem, validate_record
from ssc_response.serving.audit.hashing import GENESIS_HASH, canonical_json, compute_entry_hash
from ssc_response.serving.audit.records import AuditRecord
from ssc_response.serving.audit.verify import OUTCOME_HASHED_FIELDS
from ssc_response.serving.database import utc_now_iso, write_transaction
from ssc_response.serving.database_tables import audit_outcomes, audit_predictions

# pg_advisory_xact_lock key owned by the outcome chain ("SSCOUTCO").
OUTCOME_LOCK_KEY = 0x5353_434F_5554_434F
REQUIRED_OUTCOME_FIELD = "mrss_total_followup"  # the skin outcome is derived from it


@dataclass(frozen=True)
class OutcomeIn:
    """One follow-up as given: which prediction, the visit date and the follow-up values."""

    visit_date: date
    values: Mapping[str, object]
    prediction_id: str | None = None
    patient_id: str | None = None


@dataclass(frozen=True)
class StoredOutcome:
    """One recorded outcome with the prediction it belongs to."""

    seq: int
    prediction_id: str
    recorded_at: str
    recorded_by: str
    visit_date: str
    values: dict[str, Any]
    prediction: AuditRecord


def _refused(row: int | None, field: str, value: object, rule: str) -> Problem:
    return Problem(row=row, field=field, value=value, rule=rule)


class OutcomeStore:
    """Record outcomes (all or nothing) and read them back with their predictions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, outcomes: Sequence[OutcomeIn], recorded_by: str,
               numbered: bool = True) -> list[StoredOutcome]:
        """Check every outcome, then append them all in one transaction; raises
        ``ContractError`` listing every problem (rows numbered from 1 when ``numbered``)."""
        if not outcomes:
            return []
        with write_transaction(self._engine, OUTCOME_LOCK_KEY) as conn:
            checked, problems = [], []
            taken = _already_recorded(conn)
            for number, outcome in enumerate(outcomes, start=1):
                row = number if numbered else None
                found = _check(conn, outcome, row, taken)
                if isinstance(found, list):
                    problems += found
                else:
                    checked.append(found)
                    taken.add(found[0].prediction_id)
            if problems:
                raise ContractError(problems)
            rows = _chain(conn, checked, recorded_by)
            conn.execute(insert(audit_outcomes), rows)
        return [_stored(row, prediction) for row, (prediction, _, _) in
                zip(rows, checked, strict=True)]

    def for_version(self, model_version: str) -> tuple[list[StoredOutcome], int]:
        """The outcomes of one model version's predictions (by visit date) and how many of its
        predictions still wait for one."""
        joined = (select(audit_outcomes, audit_predictions.c.seq.label("prediction_seq"))
                  .join(audit_predictions,
                        audit_predictions.c.prediction_id == audit_outcomes.c.prediction_id)
                  .where(audit_predictions.c.model_version == model_version)
                  .order_by(audit_outcomes.c.visit_date, audit_outcomes.c.seq))
        served = select(audit_predictions).where(
            audit_predictions.c.model_version == model_version)
        with self._engine.connect() as conn, conn.begin():
            rows = conn.execute(joined).all()
            predictions = {r.prediction_id: AuditRecord.model_validate(r._mapping)
                           for r in conn.execute(served)}
        stored = [_stored(dict(r._mapping), predictions[r.prediction_id]) for r in rows]
        return stored, len(predictions) - len(stored)

    def served(self, model_version: str) -> list[AuditRecord]:
        """Every prediction one model version served, in trail order."""
        stmt = (select(audit_predictions)
                .where(audit_predictions.c.model_version == model_version)
                .order_by(audit_predictions.c.seq))
        with self._engine.connect() as conn:
            return [AuditRecord.model_validate(row._mapping) for row in conn.execute(stmt)]

    def for_prediction(self, prediction_id: str) -> StoredOutcome | None:
        """The outcome recorded for one prediction, if any."""
        stmt = select(audit_outcomes).where(audit_outcomes.c.prediction_id == prediction_id)
        with self._engine.connect() as conn, conn.begin():
            row = conn.execute(stmt).first()
            prediction = _prediction_by_id(conn, prediction_id)
        if row is None or prediction is None:
            return None
        return _stored(dict(row._mapping), prediction)


def _already_recorded(conn: Connection) -> set[str]:
    return set(conn.execute(select(audit_outcomes.c.prediction_id)).scalars())


def _prediction_by_id(conn: Connection, prediction_id: str) -> AuditRecord | None:
    row = conn.execute(select(audit_predictions).where(
        audit_predictions.c.prediction_id == prediction_id)).first()
    return None if row is None else AuditRecord.model_validate(row._mapping)


def _served_on(record: AuditRecord) -> date:
    return datetime.fromisoformat(record.created_at).astimezone(UTC).date()


def _find(conn: Connection, outcome: OutcomeIn,
          row: int | None) -> AuditRecord | Problem:
    """The prediction an outcome names, or why there is none."""
    if outcome.prediction_id is not None:
        found = _prediction_by_id(conn, str(outcome.prediction_id).lower())
        return found or _refused(row, "prediction_id", outcome.prediction_id,
                                 "no served prediction has this id")
    if not outcome.patient_id:
        return _refused(row, "prediction_id", None,
                        "give the prediction id, or the patient id with the visit date")
    columns = audit_predictions.c
    latest = conn.execute(select(audit_predictions).where(
        columns.patient_id == outcome.patient_id,
        columns.created_at < (outcome.visit_date.isoformat() + "T99"),  # any time that day
    ).order_by(columns.seq.desc()).limit(1)).first()
    if latest is None:
        return _refused(row, "patient_id", outcome.patient_id,
                        "no prediction was served for this patient on or before the visit date")
    return AuditRecord.model_validate(latest._mapping)


def _check(conn: Connection, outcome: OutcomeIn, row: int | None, taken: set[str],
           ) -> tuple[AuditRecord, dict[str, Any], str] | list[Problem]:
    """(prediction, validated follow-up values, visit date) or the problems found."""
    found = _find(conn, outcome, row)
    if isinstance(found, Problem):
        return [found]
    problems = _visit_problems(found, outcome.visit_date, row)
    if found.prediction_id in taken:
        problems.append(_refused(row, "prediction_id", found.prediction_id,
                                 "an outcome is already recorded for this prediction; a "
                                 "recorded outcome is never replaced"))
    wrong = [name for name in outcome.values if name not in outcome_fields()]
    problems += [_refused(row, name, None, "not a follow-up field of the data dictionary; "
                          "an outcome holds only follow-up fields") for name in wrong]
    if outcome.values.get(REQUIRED_OUTCOME_FIELD) in (None, ""):
        problems.append(_refused(row, REQUIRED_OUTCOME_FIELD, None,
                                 "required: the skin outcome is derived from the mRSS total at "
                                 "follow-up"))
    if problems:
        return problems
    try:
        merged = validate_record({**found.input, **outcome.values})
    except ContractError as error:
        return [_refused(row, p.field, p.value, p.rule) for p in error.problems]
    values = {name: merged[name] for name in outcome_fields() if name in outcome.values}
    return found, values, outcome.visit_date.isoformat()


def _visit_problems(prediction: AuditRecord, visit: date, row: int | None) -> list[Problem]:
    served = _served_on(prediction)
    if visit < served:
        return [_refused(row, "visit_date", visit.isoformat(),
                         f"the follow-up visit is before the prediction (served {served})")]
    if visit > datetime.now(UTC).date():
        return [_refused(row, "visit_date", visit.isoformat(), "the visit date is in the future")]
    return []


def _chain(conn: Connection, checked: Sequence[tuple[AuditRecord, dict[str, Any], str]],
           recorded_by: str) -> list[dict[str, Any]]:
    """The rows to insert, numbered and hash-linked onto the outcome chain's head."""
    head = conn.execute(select(audit_outcomes.c.seq, audit_outcomes.c.entry_hash)
                        .order_by(audit_outcomes.c.seq.desc()).limit(1)).first()
    seq, prev_hash = (0, GENESIS_HASH) if head is None else (head.seq, head.entry_hash)
    rows = []
    for offset, (prediction, values, visit) in enumerate(checked, start=1):
        row: dict[str, Any] = {
            "seq": seq + offset, "prediction_id": prediction.prediction_id,
            "recorded_at": utc_now_iso(), "recorded_by": recorded_by, "visit_date": visit,
            "outcome_json": canonical_json(values), "prev_hash": prev_hash}
        row["entry_hash"] = prev_hash = compute_entry_hash(row, OUTCOME_HASHED_FIELDS)
        rows.append(row)
    return rows


def _stored(row: Mapping[str, Any], prediction: AuditRecord) -> StoredOutcome:
    return StoredOutcome(row["seq"], row["prediction_id"], row["recorded_at"],
                         row["recorded_by"], row["visit_date"], json.loads(row["outcome_json"]),
                         prediction)
