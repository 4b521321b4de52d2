"""The access chain and signed checkpoints on PostgreSQL (a real throwaway server): concurrent
access records stay one chain, the database refuses edits, and a checkpoint catches truncation.

Skipped (with the reason) where PostgreSQL's binaries are not installed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ssc_response.serving.audit import AuditStore
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.checkpoint import read_all
from ssc_response.serving.audit.signing import create_key_file
from ssc_response.serving.audit.trail import verify_trail
from ssc_response.serving.audit.watch import AuditWatch, WatchConfig
from tests.serving.workers import test_postgres
from tests.serving.workers.test_postgres import entry

# The same throwaway-database fixtures as test_postgres's.
server = test_postgres.server
database_url = test_postgres.database_url
engine = test_postgres.engine


def test_concurrent_accesses_keep_one_chain(engine: Engine) -> None:
    log = AccessLog(engine)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: log.record("0123456789abcdef", "view", detail=str(n)),
                      range(40)))

    report = verify_trail(engine, [], None)

    assert report.ok and report.accesses.checked == 40


@pytest.mark.parametrize("statement", [
    "UPDATE audit_access SET key_id = 'x'", "DELETE FROM audit_access", "TRUNCATE audit_access",
])
def test_the_access_table_refuses_edits(engine: Engine, statement: str) -> None:
    AccessLog(engine).record("0123456789abcdef", "verify")

    with pytest.raises(DBAPIError, match="audit_access is append-only"), engine.begin() as conn:
        conn.execute(text(statement))


def test_a_checkpoint_catches_truncation_past_the_dropped_guard(engine: Engine,
                                                                tmp_path: Path) -> None:
    AuditStore(engine).append_many([entry(n) for n in range(6)])
    watch = AuditWatch(engine, WatchConfig(tmp_path / "checkpoints.jsonl",
                                           create_key_file(tmp_path / "key.pem"), 0, 0))
    watch.checkpoint_now()
    with engine.begin() as conn:  # someone with owner rights drops the guard first
        conn.execute(text("DROP TRIGGER audit_predictions_no_update_delete ON audit_predictions"))
        conn.execute(text("DELETE FROM audit_predictions WHERE seq > 4"))

    report = verify_trail(engine, read_all(tmp_path / "checkpoints.jsonl"), watch.config.trusted)

    assert report.predictions.ok and not report.ok
    assert [(f.kind, f.first_entry) for f in report.findings] == [("truncated", 5)]
