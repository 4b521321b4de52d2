"""Audit trail: hash chain, tamper detection, concurrency, append-only guard, reads."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.schema import CreateTable

from ssc_response.serving.audit import (
    GENESIS_HASH,
    AuditStore,
    compute_entry_hash,
)
from ssc_response.serving.database import make_engine, schema_exists
from ssc_response.serving.database_tables import audit_predictions
from tests.serving.audit.support import fill, forked_row, make_entry, tamper


@pytest.fixture
def store(engine: Engine) -> AuditStore:
    return AuditStore(engine)


# --- the chain ---------------------------------------------------------------------------------


def test_chain_of_many_entries_verifies_in_small_chunks(store: AuditStore) -> None:
    records = fill(store, 250)

    result = store.verify(chunk_size=7)

    assert result.ok and result.checked == 250 and result.first_broken_seq is None
    assert (result.head_seq, result.head_hash) == (250, records[-1].entry_hash)


def test_entries_are_numbered_linked_and_hashed(store: AuditStore) -> None:
    first, second = store.append_many([make_entry(), make_entry()])
    third = store.append(make_entry())

    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert (second.prev_hash, third.prev_hash) == (first.entry_hash, second.entry_hash)
    assert third.entry_hash == compute_entry_hash(third.model_dump())
    assert first.created_at < second.created_at < third.created_at


def test_json_fields_are_stored_as_canonical_text(store: AuditStore) -> None:
    record = store.append(make_entry(input={"z": 1, "a": "é"}, explanation=None))

    assert record.input_json == '{"a":"é","z":1}'
    assert record.explanation_json == "null"
    assert record.input == {"a": "é", "z": 1} and record.explanation is None
    assert datetime.fromisoformat(record.created_at).utcoffset() == timedelta(0)


def test_empty_trail_verifies(store: AuditStore) -> None:
    result = store.verify()

    assert result.ok and result.checked == 0 and result.head_seq is None
    assert store.append_many([]) == []


def test_nan_is_refused_and_nothing_is_written(store: AuditStore) -> None:
    with pytest.raises(ValueError, match="JSON"):
        store.append(make_entry(output={"probability": float("nan")}))

    assert store.list()[1] == 0


def test_batch_is_atomic(store: AuditStore) -> None:
    fill(store, 2)
    duplicate = uuid4()

    with pytest.raises(IntegrityError):
        store.append_many(
            [make_entry(prediction_id=duplicate), make_entry(prediction_id=duplicate)]
        )

    assert store.list()[1] == 2 and store.verify().ok


# --- tamper evidence ---------------------------------------------------------------------------

TAMPERING = {
    "edited input": (
        "UPDATE audit_predictions SET input_json = replace(input_json, '24.0', '34.0') "
        "WHERE seq = 5",
        5,
        "content",
    ),
    "edited output": (
        "UPDATE audit_predictions SET output_json = '{\"probability\":0.99}' WHERE seq = 7",
        7,
        "content",
    ),
    "edited explanation": (
        "UPDATE audit_predictions SET explanation_json = 'null' WHERE seq = 9",
        9,
        "content",
    ),
    "edited entry_hash": (
        f"UPDATE audit_predictions SET entry_hash = '{'a' * 64}' WHERE seq = 3",
        3,
        "content",
    ),
    "edited model_version": (
        "UPDATE audit_predictions SET model_version = '99' WHERE seq = 1",
        1,
        "content",
    ),
    "deleted middle row": ("DELETE FROM audit_predictions WHERE seq = 6", 6, "missing"),
}


@pytest.mark.parametrize("statement, broken_seq, reason", TAMPERING.values(), ids=TAMPERING)
def test_tampering_is_detected_at_the_first_broken_entry(
    store: AuditStore, db_path: Path, statement: str, broken_seq: int, reason: str
) -> None:
    fill(store, 12)

    tamper(db_path, statement)
    result = store.verify(chunk_size=4)

    assert not result.ok
    assert (result.first_broken_seq, result.checked) == (broken_seq, broken_seq - 1)
    assert reason in (result.reason or "")


def test_swapped_rows_are_detected(store: AuditStore, db_path: Path) -> None:
    records = fill(store, 8)

    tamper(
        db_path,
        "UPDATE audit_predictions SET seq = 1000 WHERE seq = 4",
        "UPDATE audit_predictions SET seq = 4 WHERE seq = 5",
        "UPDATE audit_predictions SET seq = 5 WHERE seq = 1000",
    )
    result = store.verify()

    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert result.first_broken_prediction_id == records[4].prediction_id


def test_rehashed_edit_is_detected_at_the_next_entry(store: AuditStore, db_path: Path) -> None:
    """An attacker who recomputes the edited entry's own hash still breaks the next link."""
    record = fill(store, 6)[2]
    forged = record.model_copy(update={"output_json": '{"probability":0.99}'}).model_dump()
    new_hash = compute_entry_hash(forged)

    tamper(
        db_path,
        f"UPDATE audit_predictions SET output_json = '{forged['output_json']}', "
        f"entry_hash = '{new_hash}' WHERE seq = 3",
    )
    result = store.verify()

    assert (result.first_broken_seq, result.reason) == (
        4,
        "prev_hash does not match the entry_hash of the preceding entry",
    )


def test_deleting_the_tail_is_only_visible_in_the_head(store: AuditStore, db_path: Path) -> None:
    """Documented limitation: a chain cannot show its own truncation; an external head can."""
    fill(store, 5)
    before = store.verify()

    tamper(db_path, "DELETE FROM audit_predictions WHERE seq = 5")
    after = store.verify()

    assert after.ok and (before.head_seq, after.head_seq) == (5, 4)
    assert before.head_hash != after.head_hash


@pytest.mark.parametrize("fork", [{"seq": 3}, {"seq": 2, "prev_hash": "f" * 64}])
def test_the_database_refuses_a_forked_chain(
    store: AuditStore, engine: Engine, fork: dict[str, object]
) -> None:
    """Backstop behind the writer lock: unique seq and unique prev_hash (a second successor of
    entry 1, or a second entry 2) are refused by the database itself."""
    fill(store, 2)

    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(audit_predictions.insert(), forked_row(engine, **fork))

    assert store.verify().ok and store.verify().checked == 2


# --- append-only guard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_predictions SET output_json = '{}' WHERE seq = 1",
        "DELETE FROM audit_predictions WHERE seq = 1",
    ],
)
def test_triggers_block_update_and_delete(
    store: AuditStore, engine: Engine, statement: str
) -> None:
    fill(store, 2)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))

    assert store.verify().checked == 2


def test_store_offers_no_update_or_delete() -> None:
    public = {name for name in dir(AuditStore) if not name.startswith("_")}

    assert public == {"append", "append_many", "get", "list", "verify"}


# --- concurrency and durability ----------------------------------------------------------------


def test_threads_append_a_contiguous_chain(store: AuditStore) -> None:
    def append_25(worker: int) -> None:
        for _ in range(25):
            store.append(make_entry(patient_id=f"W{worker}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append_25, range(8)))

    records, total = store.list(limit=500)
    assert total == 200 and [r.seq for r in records] == list(range(1, 201))
    assert len({r.prediction_id for r in records}) == 200
    assert store.verify().ok


def _append_in_process(url: str, worker: int, count: int, barrier: object) -> None:
    """Child-process body: open the (possibly new) database, wait for the others, append."""
    engine = make_engine(url)
    barrier.wait()  # type: ignore[attr-defined]
    store = AuditStore(engine)
    for _ in range(count):
        store.append(make_entry(patient_id=f"W{worker}"))


def _append_then_sigkill(url: str) -> None:
    """Child-process body: die by SIGKILL right after the appends are acknowledged."""
    AuditStore(make_engine(url)).append_many([make_entry(), make_entry()])
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow  # starts processes
def test_processes_append_a_valid_chain_to_one_file(db_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    url = f"sqlite:///{db_path}"  # not created yet: the workers also race to create the schema
    workers = [
        context.Process(target=_append_in_process, args=(url, worker, 30, barrier))
        for worker in range(3)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)

    assert [process.exitcode for process in workers] == [0, 0, 0]
    store = AuditStore(make_engine(url))
    assert store.verify().checked == 90
    assert [store.list(patient_id=f"W{w}")[1] for w in range(3)] == [30, 30, 30]


@pytest.mark.slow  # starts and kills a process
def test_acknowledged_appends_survive_sigkill(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    process = multiprocessing.get_context("spawn").Process(target=_append_then_sigkill, args=(url,))
    process.start()
    process.join(timeout=60)

    assert process.exitcode == -signal.SIGKILL
    result = AuditStore(make_engine(url)).verify()
    assert result.ok and result.checked == 2


# --- reads ---------------------------------------------------------------------------------------


def test_get_returns_the_recorded_entry(store: AuditStore) -> None:
    record = store.append(make_entry())

    assert store.get(record.prediction_id) == record
    assert store.get(record.prediction_id.upper()) == record
    assert store.get(uuid4()) is None and store.get("not-a-uuid") is None


def test_list_pages_in_seq_order(store: AuditStore) -> None:
    fill(store, 12)

    records, total = store.list(limit=5, offset=5)

    assert total == 12 and [r.seq for r in records] == [6, 7, 8, 9, 10]


def test_list_filters_by_patient_and_model_version(store: AuditStore) -> None:
    fill(store, 12)

    records, total = store.list(patient_id="P1", model_version="2")

    assert total == 2 and [r.seq for r in records] == [2, 8]


def test_list_filters_by_time_window(store: AuditStore) -> None:
    records = fill(store, 10)
    since = datetime.fromisoformat(records[3].created_at)
    until = datetime.fromisoformat(records[7].created_at)

    page, total = store.list(since=since, until=until, limit=2)

    assert total == 4 and [r.seq for r in page] == [4, 5]
    naive_utc = since.replace(tzinfo=None)
    assert store.list(since=naive_utc)[1] == 7


@pytest.mark.parametrize("limit, offset", [(0, 0), (10, -1)])
def test_list_rejects_bad_paging(store: AuditStore, limit: int, offset: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.list(limit=limit, offset=offset)


# --- the database itself -------------------------------------------------------------------------


def test_sqlite_is_durable_and_waits_for_locks(engine: Engine) -> None:
    with engine.connect() as conn:
        pragmas = [
            conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout")
        ]

    assert pragmas == ["wal", 2, 30_000]  # synchronous 2 = FULL


def test_schema_exists_does_not_create_a_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"

    assert not schema_exists(make_engine(f"sqlite:///{path}", create_tables=False))
    assert not path.exists()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        make_engine("mysql+pymysql://user@host/db")


def test_schema_compiles_for_postgresql() -> None:
    ddl = str(CreateTable(audit_predictions).compile(dialect=postgresql.dialect()))

    assert "seq BIGINT NOT NULL" in ddl and "UNIQUE (prediction_id)" in ddl
