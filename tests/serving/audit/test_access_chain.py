"""The access log (who viewed, replayed, exported) is a guarded hash chain, verified like the
predictions: an edit or a deletion is found, and the database refuses both while its triggers
stand."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.hashing import ACCESS_HASHED_FIELDS, GENESIS_HASH
from ssc_response.serving.audit.trail import verify_trail
from ssc_response.serving.audit.verify import ACCESSES, verify_chain
from ssc_response.serving.database import make_engine
from tests.serving.audit.test_checkpoints import drop_triggers_and_run


def record_three(engine: Engine) -> None:
    log = AccessLog(engine)
    log.record("0123456789abcdef", "view", "6f1c1c1e-0000-4000-8000-000000000001")
    log.record("0123456789abcdef", "replay", "6f1c1c1e-0000-4000-8000-000000000001")
    log.record("fedcba9876543210", "export", detail='{"patient_id": "P1"}')


def accesses(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_access ORDER BY id")).mappings()
        return [dict(row) for row in rows]


def test_accesses_are_numbered_and_linked(engine: Engine) -> None:
    record_three(engine)

    rows = accesses(engine)

    assert [row["id"] for row in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert [row["prev_hash"] for row in rows[1:]] == [row["entry_hash"] for row in rows[:2]]
    assert set(ACCESS_HASHED_FIELDS) | {"entry_hash"} == set(rows[0])
    with engine.connect() as conn:
        assert verify_chain(conn, chain=ACCESSES).checked == 3


def test_an_edited_access_is_found(engine: Engine, db_path: Path) -> None:
    record_three(engine)

    drop_triggers_and_run(db_path, "UPDATE audit_access SET key_id = 'aaaaaaaaaaaaaaaa' "
                                   "WHERE id = 2")
    report = verify_trail(engine, [], None)

    assert report.predictions.ok and not report.ok
    assert (report.accesses.first_broken_seq, report.accesses.reason) == (
        2, "entry_hash does not match the entry's content")


def test_a_deleted_access_is_found(engine: Engine, db_path: Path) -> None:
    record_three(engine)

    drop_triggers_and_run(db_path, "DELETE FROM audit_access WHERE id = 1")
    report = verify_trail(engine, [], None)

    assert not report.accesses.ok and report.accesses.first_broken_seq == 1


def test_the_database_refuses_to_edit_or_delete_an_access(engine: Engine) -> None:
    record_three(engine)

    for statement in ("UPDATE audit_access SET action = 'view'", "DELETE FROM audit_access"):
        with pytest.raises(DBAPIError, match="audit_access is append-only"), \
                engine.begin() as conn:
            conn.execute(text(statement))
    assert len(accesses(engine)) == 3


def test_an_access_log_from_before_the_chain_is_chained_at_upgrade(tmp_path: Path) -> None:
    """A database written by the previous version (no hash columns) gains its chain once."""
    db_path = tmp_path / "old.db"
    with closing(sqlite3.connect(db_path)) as raw:
        raw.execute("CREATE TABLE audit_access (id INTEGER PRIMARY KEY, at VARCHAR(32) NOT NULL, "
                    "key_id VARCHAR(64) NOT NULL, action VARCHAR(16) NOT NULL, "
                    "prediction_id VARCHAR(36), detail TEXT)")
        raw.executemany("INSERT INTO audit_access (at, key_id, action) VALUES (?, ?, ?)",
                        [("2026-01-01T00:00:00.000000+00:00", "0123456789abcdef", "verify")] * 2)
        raw.commit()

    engine = make_engine(f"sqlite:///{db_path}")
    AccessLog(engine).record("0123456789abcdef", "view")

    with engine.connect() as conn:
        result = verify_chain(conn, chain=ACCESSES)
    engine.dispose()
    assert result.ok and result.checked == 3
