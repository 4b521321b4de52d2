"""Re-computation of the audit hash chains (predictions, accesses, outcomes), in sequence order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Row, Table, select

from ssc_response.serving.audit.hashing import (
    ACCESS_HASHED_FIELDS,
    GENESIS_HASH,
    HASHED_FIELDS,
    compute_entry_hash,
)
from ssc_response.serving.audit.records import VerifyResult
from ssc_response.serving.database_tables import audit_access, audit_outcomes, audit_predictions

# The outcome chain: every column of ``audit_outcomes`` except entry_hash, so who recorded an
# outcome and when are as tamper-evident as the values.
OUTCOME_HASHED_FIELDS: tuple[str, ...] = (
    "seq", "prediction_id", "recorded_at", "recorded_by", "visit_date", "outcome_json",
    "prev_hash",
)

_Problem = tuple[int, str | None, str]  # (first broken seq, its prediction_id if stored, reason)


@dataclass(frozen=True)
class Chain:
    """One hash-chained table: its sequence column and the columns its hashes cover."""

    table: Table
    seq_column: str
    hashed: tuple[str, ...]

    @property
    def seq(self) -> Column[Any]:
        return self.table.c[self.seq_column]


PREDICTIONS = Chain(audit_predictions, "seq", HASHED_FIELDS)
ACCESSES = Chain(audit_access, "id", ACCESS_HASHED_FIELDS)
OUTCOMES = Chain(audit_outcomes, "seq", OUTCOME_HASHED_FIELDS)


def verify_chain(conn: Connection, chunk_size: int = 1000,
                 chain: Chain = PREDICTIONS) -> VerifyResult:
    """Check seq continuity, prev_hash links and every entry_hash; stop at the first break."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in iter_rows(conn, chunk_size, chain):
        problem = _first_problem(row, chain, expected_seq, prev_hash)
        if problem is not None:
            return _broken(problem, checked=expected_seq - 1, head_hash=prev_hash)
        expected_seq, prev_hash = expected_seq + 1, row.entry_hash
    checked = expected_seq - 1
    return VerifyResult(
        ok=True,
        checked=checked,
        head_seq=checked or None,
        head_hash=prev_hash if checked else None,
    )


def iter_rows(conn: Connection, chunk_size: int,
              chain: Chain = PREDICTIONS) -> Iterator[Row[Any]]:
    """Yield all rows of ``chain`` by seq, ``chunk_size`` at a time (keyset pagination)."""
    last_seq = None
    while True:
        stmt = select(chain.table).order_by(chain.seq).limit(chunk_size)
        if last_seq is not None:
            stmt = stmt.where(chain.seq > last_seq)
        rows = conn.execute(stmt).all()
        yield from rows
        if len(rows) < chunk_size:
            return
        last_seq = rows[-1]._mapping[chain.seq_column]


def _first_problem(row: Row[Any], chain: Chain, expected_seq: int,
                   prev_hash: str) -> _Problem | None:
    """Return what is wrong with ``row`` given the chain so far, or ``None`` if it links."""
    fields = row._mapping
    seq, prediction_id = fields[chain.seq_column], fields.get("prediction_id")
    if seq > expected_seq:
        reason = f"entry {expected_seq} is missing; the next stored entry is {seq}"
        return expected_seq, None, reason
    if seq < expected_seq:
        reason = f"unexpected entry {seq}; expected {expected_seq}"
    elif fields["prev_hash"] != prev_hash:
        reason = "prev_hash does not match the entry_hash of the preceding entry"
    elif compute_entry_hash(fields, chain.hashed) != fields["entry_hash"]:
        reason = "entry_hash does not match the entry's content"
    else:
        return None
    return seq, prediction_id, reason


def _broken(problem: _Problem, checked: int, head_hash: str) -> VerifyResult:
    """A failed result; the head is the last entry that still verified."""
    seq, prediction_id, reason = problem
    return VerifyResult(
        ok=False,
        checked=checked,
        first_broken_seq=seq,
        first_broken_prediction_id=prediction_id,
        reason=reason,
        head_seq=checked or None,
        head_hash=head_hash if checked else None,
    )
