"""Re-computation of the audit hash chain, streamed in seq order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row, select

from ssc_response.serving.audit.hashing import GENESIS_HASH, compute_entry_hash
from ssc_response.serving.audit.records import VerifyResult
from ssc_response.serving.database import audit_predictions

_Problem = tuple[int, str | None, str]  # (first broken seq, its prediction_id if stored, reason)


def verify_chain(conn: Connection, chunk_size: int = 1000) -> VerifyResult:
    """Check seq continuity, prev_hash links and every entry_hash; stop at the first break."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in iter_rows(conn, chunk_size):
        problem = _first_problem(row, expected_seq, prev_hash)
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


def iter_rows(conn: Connection, chunk_size: int) -> Iterator[Row[Any]]:
    """Yield all audit rows by seq, fetching ``chunk_size`` at a time (keyset pagination)."""
    table, last_seq = audit_predictions, None
    while True:
        stmt = select(table).order_by(table.c.seq).limit(chunk_size)
        if last_seq is not None:
            stmt = stmt.where(table.c.seq > last_seq)
        rows = conn.execute(stmt).all()
        yield from rows
        if len(rows) < chunk_size:
            return
        last_seq = rows[-1].seq


def _first_problem(row: Row[Any], expected_seq: int, prev_hash: str) -> _Problem | None:
    """Return what is wrong with ``row`` given the chain so far, or ``None`` if it links."""
    if row.seq > expected_seq:
        reason = f"entry seq {expected_seq} is missing; the next stored entry is seq {row.seq}"
        return expected_seq, None, reason
    if row.seq < expected_seq:
        reason = f"unexpected seq {row.seq}; expected {expected_seq}"
    elif row.prev_hash != prev_hash:
        reason = "prev_hash does not match the entry_hash of the preceding entry"
    elif compute_entry_hash(row._mapping) != row.entry_hash:
        reason = "entry_hash does not match the entry's content"
    else:
        return None
    return row.seq, row.prediction_id, reason


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
