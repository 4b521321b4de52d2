"""The outcome chain: refusals name the field and store nothing; the chain is append-only,
verified with the others, and covered by signed checkpoints (older checkpoints still verify).

No model is needed: predictions are appended to the trail directly, with a valid baseline
record as their input (tests.factories.make_patient).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ssc_response.features.validation import ContractError
from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.audit.checkpoint import Head, sign
from ssc_response.serving.audit.outcomes import OutcomeIn, OutcomeStore
from ssc_response.serving.audit.trail import read_heads, verify_trail
from ssc_response.serving.database import make_engine
from tests.factories import make_patient

TODAY = datetime.now(UTC).date()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    built = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    yield built
    built.dispose()


def _served(engine: Engine, count: int) -> list[str]:
    entries = [AuditEntryIn(patient_id=f"P-{i}", model_name="m", model_version="1",
                            input=make_patient(patient_id=f"P-{i}", mrss_total=None),
                            output={"probability_response": {"estimate": 0.4}})
               for i in range(count)]
    return [record.prediction_id for record in AuditStore(engine).append_many(entries)]


def _fields(error: pytest.ExceptionInfo[ContractError]) -> list[tuple[int | None, str]]:
    return [(problem.row, problem.field) for problem in error.value.problems]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_outcomes")).scalar_one())


def test_refusals_name_the_field_and_store_nothing(engine: Engine) -> None:
    ids = _served(engine, 3)
    store = OutcomeStore(engine)
    good = OutcomeIn(TODAY, {"mrss_total_followup": 12}, prediction_id=ids[0])
    batch = [
        good,
        OutcomeIn(TODAY, {"mrss_total_followup": 12}, prediction_id=ids[0]),  # duplicate
        OutcomeIn(TODAY - timedelta(days=1), {"mrss_total_followup": 12}, prediction_id=ids[1]),
        OutcomeIn(TODAY + timedelta(days=1), {"mrss_total_followup": 12}, prediction_id=ids[2]),
        OutcomeIn(TODAY, {"mrss_total_followup": 12, "age_years": 50}, patient_id="P-2"),
        OutcomeIn(TODAY, {"haq_di_followup": 1.0}, patient_id="P-2"),
        OutcomeIn(TODAY, {"mrss_total_followup": 52}, patient_id="P-2"),  # dictionary max 51
        OutcomeIn(TODAY, {"mrss_total_followup": 12}, patient_id="nobody"),
    ]
    with pytest.raises(ContractError) as refused:
        store.record(batch, "key-1")
    assert _fields(refused) == [(2, "prediction_id"), (3, "visit_date"), (4, "visit_date"),
                                (5, "age_years"), (6, "mrss_total_followup"),
                                (7, "mrss_total_followup"), (8, "patient_id")]
    assert _count(engine) == 0  # the valid first row was not stored either

    stored = store.record([good], "key-1")[0]
    assert (stored.recorded_by, stored.values) == ("key-1", {"mrss_total_followup": 12})
    with pytest.raises(ContractError) as again:
        store.record([good], "key-2")
    assert _fields(again) == [(1, "prediction_id")]
    assert store.for_prediction(ids[0]) == stored  # nothing already stored changed


def test_the_chain_is_append_only_verified_and_checkpointed(engine: Engine,
                                                            tmp_path: Path) -> None:
    ids = _served(engine, 2)
    store = OutcomeStore(engine)
    store.record([OutcomeIn(TODAY, {"mrss_total_followup": v}, prediction_id=i)
                  for v, i in zip((10, 20), ids, strict=True)], "key-1")
    with engine.begin() as conn, pytest.raises(DBAPIError):
        conn.execute(text("UPDATE audit_outcomes SET recorded_by = 'someone else'"))

    key = Ed25519PrivateKey.generate()
    with engine.connect() as conn:
        heads = read_heads(conn)
    assert heads["outcomes"].seq == 2
    checkpoint = sign(key, "t", heads["predictions"], heads["accesses"], heads["outcomes"])
    report = verify_trail(engine, [checkpoint], key.public_key())
    assert report.ok and report.outcomes is not None and report.outcomes.checked == 2

    # A checkpoint from before the outcome chain: signed without it, and still valid.
    old = sign(key, "t", heads["predictions"], Head(seq=0, hash="0" * 64))
    assert b"outcomes" not in old.signed_bytes() and old.signature_valid(key.public_key())

    with closing(sqlite3.connect(tmp_path / "service.db")) as raw:  # someone with file access
        raw.execute("DROP TRIGGER audit_outcomes_no_delete")
        raw.execute("DROP TRIGGER audit_outcomes_no_update")
        raw.execute("UPDATE audit_outcomes SET outcome_json = ? WHERE seq = 1",
                    ('{"mrss_total_followup":30}',))
        raw.execute("DELETE FROM audit_outcomes WHERE seq = 2")
        raw.commit()
    report = verify_trail(engine, [checkpoint], key.public_key())
    assert not report.ok and report.outcomes is not None
    assert report.outcomes.first_broken_seq == 1
    assert [(f.chain, f.kind) for f in report.findings] == [("outcomes", "truncated")]


def test_a_patient_id_finds_the_latest_prediction_on_or_before_the_visit(engine: Engine) -> None:
    first, second = _served(engine, 1) + _served(engine, 1)
    stored = OutcomeStore(engine).record(
        [OutcomeIn(TODAY, {"mrss_total_followup": 9}, patient_id="P-0")], "key-1")
    assert stored[0].prediction_id == second != first
