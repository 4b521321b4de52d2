"""The service database on PostgreSQL: keys, the audit chain under concurrent writers, the
append-only guard, tamper detection, and the whole service, against a real throwaway server.

Skipped (with the reason) where PostgreSQL's binaries are not installed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import KeyStore, Role
from tests.factories import make_patient
from tests.serving.pg_cluster import create_database
from tests.serving.support import running_service

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def server(postgres_server: str) -> str:
    return postgres_server


@pytest.fixture
def database_url(server: str) -> str:
    return create_database(server)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = make_engine(database_url)
    yield created
    created.dispose()


def entry(n: int) -> AuditEntryIn:
    return AuditEntryIn(model_name="ssc", model_version="1", patient_id=f"P-{n}",
                        input={"age_years": 50.5, "note": "é ü"}, output={"p": n / 100},
                        explanation={"contributions": [{"value": 1e-07}]})


def test_keys_are_created_authenticated_and_revoked(engine: Engine) -> None:
    keys = KeyStore(engine)
    key_id, plaintext = keys.create(Role.AUDITOR, label="pg")

    authenticated = keys.authenticate(plaintext)
    assert authenticated is not None and authenticated.role is Role.AUDITOR
    keys.revoke(key_id)
    assert keys.authenticate(plaintext) is None


APPEND_IN_ANOTHER_PROCESS = """
import sys
from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.database import make_engine
store = AuditStore(make_engine(sys.argv[1]))
for n in range(30):
    store.append_many([AuditEntryIn(model_name="ssc", model_version="1", input={"n": n},
                                    output={}, explanation={})])
"""


def test_concurrent_writers_in_threads_and_processes_keep_one_chain(
    engine: Engine, database_url: str
) -> None:
    store = AuditStore(engine)
    others = [subprocess.Popen([sys.executable, "-c", APPEND_IN_ANOTHER_PROCESS, database_url],
                               cwd=ROOT) for _ in range(2)]
    threads = [threading.Thread(target=lambda: [store.append_many([entry(n), entry(n + 1)])
                                                for n in range(0, 40, 2)]) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [other.wait(120) for other in others] == [0, 0]

    result = store.verify()
    assert result.ok and result.checked == 3 * 40 + 2 * 30
    seqs = [record.seq for record in store.list(limit=1000)[0]]
    assert seqs == list(range(1, 181))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_predictions SET key_id = 'x'",
    "DELETE FROM audit_predictions",
    "TRUNCATE audit_predictions",
])
def test_the_audit_table_refuses_edits(engine: Engine, statement: str) -> None:
    AuditStore(engine).append_many([entry(1)])

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert AuditStore(engine).verify().checked == 1


def test_a_forked_chain_is_refused(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    from ssc_response.serving.database_tables import audit_predictions
    from tests.serving.audit.support import forked_row

    AuditStore(engine).append_many([entry(1), entry(2)])
    with pytest.raises(IntegrityError, match="uq_audit_predictions_prev_hash"), engine.begin() as c:
        c.execute(audit_predictions.insert(), forked_row(engine, seq=3))


def test_an_edit_past_the_guard_is_found_by_verify(engine: Engine) -> None:
    store = AuditStore(engine)
    store.append_many([entry(n) for n in range(5)])
    with engine.begin() as conn:  # someone with owner rights drops the guard first
        conn.execute(text("DROP TRIGGER audit_predictions_no_update_delete ON audit_predictions"))
        conn.execute(text("UPDATE audit_predictions SET output_json = :edited WHERE seq = 3"),
                     {"edited": '{"p":0.99}'})

    result = store.verify()
    assert not result.ok and result.first_broken_seq == 3


def test_the_service_predicts_records_and_replays_on_postgresql(
    trained_store: dict[str, Any], tmp_path: Path, database_url: str
) -> None:
    with running_service(tmp_path, trained_store, database_url=database_url) as service:
        response = service.predict(make_patient(patient_id="PG-1"), make_patient(patient_id="PG-2"))
        assert response.status_code == 200, response.text
        auditor = service.headers(Role.AUDITOR)
        page = service.client.get("/v1/audit/predictions", headers=auditor).json()
        assert page["total"] == 2
        assert service.client.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        first = page["items"][0]["prediction_id"]
        replay = service.client.post(f"/v1/audit/predictions/{first}/replay", headers=auditor)
        assert replay.status_code == 200 and replay.json()["match"] is True
