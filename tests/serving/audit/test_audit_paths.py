"""``AuditStore.append_many`` on SQLite: chain format, atomicity, the writer lock, error messages.

One write path for every database: SQLAlchemy Core in ``write_transaction`` (BEGIN IMMEDIATE on
SQLite, an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from ssc_response.serving.audit import AuditRecord, AuditStore, canonical_json, compute_entry_hash
from ssc_response.serving.database import utc_now_iso
from tests.serving.audit.support import make_entry, reference_hash, reference_json


@pytest.fixture
def store(engine: Engine) -> AuditStore:
    return AuditStore(engine)


def holds_no_lock(db_path: Path) -> bool:
    """Whether another connection can take the write lock at once (no transaction was leaked)."""
    with closing(sqlite3.connect(db_path, timeout=0.5, isolation_level=None)) as other:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        other.execute("ROLLBACK")
        return True


def test_batches_write_one_chain_in_the_original_format(store: AuditStore) -> None:
    records: list[AuditRecord] = []
    for batch in range(6):
        records += store.append_many([make_entry(patient_id=f"P{batch}") for _ in range(3)])

    assert [r.seq for r in records] == list(range(1, 19))
    assert store.verify().checked == 18
    for record in records:
        assert store.get(record.prediction_id) == record  # returned values are the stored ones
        assert record.entry_hash == reference_hash(record.model_dump())
        assert record.input_json == reference_json(make_entry().input)


def test_records_are_what_was_asked_for(store: AuditStore) -> None:
    entry = make_entry(input={"b": 1e-07, "a": ["é", None]}, explanation=None)

    [record] = store.append_many([entry])

    assert (record.prediction_id, record.patient_id) == (str(entry.prediction_id), "P001")
    assert record.input_json == '{"a":["é",null],"b":1e-07}'
    assert (record.explanation_json, record.seq) == ("null", 1)


def test_a_failed_batch_writes_nothing_and_releases_the_lock(
    store: AuditStore, db_path: Path
) -> None:
    store.append_many([make_entry(), make_entry()])
    duplicate = uuid4()

    with pytest.raises(IntegrityError) as raised:
        store.append_many([make_entry(prediction_id=duplicate) for _ in range(2)])

    assert isinstance(raised.value.orig, sqlite3.IntegrityError)
    assert holds_no_lock(db_path)
    assert store.append(make_entry()).seq == 3 and store.verify().checked == 3


def test_nan_is_refused_before_anything_is_written(store: AuditStore, db_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON"):
        store.append_many([make_entry(), make_entry(output={"p": float("inf")})])

    assert store.list()[1] == 0 and holds_no_lock(db_path)


def test_the_chain_head_is_read_under_the_writer_lock(store: AuditStore, db_path: Path) -> None:
    """A rival writer that commits while the append waits for the lock is chained onto, not lost.

    Were the head read before the lock (or under a deferred BEGIN), the append would chain onto
    the stale head: a failed write (busy snapshot or duplicate seq) instead of seq 3.
    """
    first = store.append(make_entry())
    rival_row = chained_row(seq=2, prev_hash=first.entry_hash)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as rival:
        rival.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(store.append, make_entry())
            time.sleep(0.3)  # the append is now waiting for the lock
            assert not pending.done()
            columns = ", ".join(rival_row)
            marks = ", ".join(f":{name}" for name in rival_row)
            rival.execute(f"INSERT INTO audit_predictions ({columns}) VALUES ({marks})", rival_row)
            rival.execute("COMMIT")
            third = pending.result(timeout=30)

    assert (third.seq, third.prev_hash) == (3, rival_row["entry_hash"])
    assert store.verify().checked == 3


def chained_row(seq: int, prev_hash: str) -> dict[str, object]:
    """A valid row written by someone else, linked onto ``prev_hash``."""
    row: dict[str, object] = {
        "seq": seq, "prediction_id": str(uuid4()), "created_at": utc_now_iso(), "key_id": None,
        "patient_id": "RIVAL", "model_name": "m", "model_version": "1", "model_run_id": None,
        "input_json": canonical_json({"x": 1}), "output_json": "{}", "explanation_json": "null",
        "prev_hash": prev_hash,
    }
    row["entry_hash"] = compute_entry_hash(row)
    return row


def test_threads_append_one_contiguous_chain(store: AuditStore) -> None:
    """Six writers at once; the lock serialises them all."""
    def append_10(worker: int) -> None:
        for _ in range(10):
            store.append_many([make_entry(patient_id=f"W{worker}"), make_entry()])

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append_10, range(6)))

    assert store.verify().checked == 120


def test_errors_carry_no_values(store: AuditStore) -> None:
    """A failed write's message names the rule, never the values (they may be patient data)."""
    duplicate = uuid4()
    store.append(make_entry(prediction_id=duplicate))

    with pytest.raises(IntegrityError) as raised:
        store.append(make_entry(prediction_id=duplicate, input={"secret": "PATIENT-SECRET"}))

    assert "PATIENT-SECRET" not in str(raised.value) and "UNIQUE" in str(raised.value)
