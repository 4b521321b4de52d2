"""The outcome chain on PostgreSQL (a real throwaway server): concurrent imports stay one chain,
a duplicate is refused whichever writer comes second, and the database refuses edits.

Skipped (with the reason) where PostgreSQL's binaries are not installed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ssc_response.features.validation import ContractError
from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.audit.outcomes import OutcomeIn, OutcomeStore
from ssc_response.serving.audit.trail import verify_trail
from tests.factories import make_patient
from tests.serving.workers import test_postgres

# The same throwaway-database fixtures as test_postgres's.
server = test_postgres.server
database_url = test_postgres.database_url
engine = test_postgres.engine
TODAY = datetime.now(UTC).date()


def _served(engine: Engine, count: int) -> list[str]:
    entries = [AuditEntryIn(patient_id=f"P-{i}", model_name="m", model_version="1",
                            input=make_patient(patient_id=f"P-{i}"), output={})
               for i in range(count)]
    return [record.prediction_id for record in AuditStore(engine).append_many(entries)]


def test_concurrent_outcomes_keep_one_chain_and_refuse_duplicates(engine: Engine) -> None:
    ids = _served(engine, 20)
    store = OutcomeStore(engine)

    def record(prediction_id: str) -> str:
        try:
            store.record([OutcomeIn(TODAY, {"mrss_total_followup": 10},
                                    prediction_id=prediction_id)], "key")
        except ContractError as error:
            return error.problems[0].field
        return "stored"

    with ThreadPoolExecutor(max_workers=8) as pool:  # every id twice, at once
        results = list(pool.map(record, ids + ids))

    assert results.count("stored") == 20 and results.count("prediction_id") == 20
    report = verify_trail(engine, [], None)
    assert report.ok and report.outcomes is not None and report.outcomes.checked == 20


@pytest.mark.parametrize("statement", [
    "UPDATE audit_outcomes SET recorded_by = 'x'", "DELETE FROM audit_outcomes",
    "TRUNCATE audit_outcomes",
])
def test_the_outcome_table_refuses_edits(engine: Engine, statement: str) -> None:
    ids = _served(engine, 1)
    OutcomeStore(engine).record([OutcomeIn(TODAY, {"mrss_total_followup": 9},
                                           prediction_id=ids[0])], "key")
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
