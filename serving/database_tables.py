"""The service's tables and their guards: the three hash-chained audit tables, the API keys and
the signed-out sessions, with the unique indexes and append-only triggers that back the chains.

:func:`serving.database.create_schema` creates them; nothing is created at import time.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# seq is INTEGER (not BIGINT) on SQLite so that it aliases the rowid: cheapest possible PK lookups.
_SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")

audit_predictions = Table(
    "audit_predictions",
    metadata,
    Column("seq", _SEQ_TYPE, primary_key=True, autoincrement=False),
    Column("prediction_id", String(36), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False, index=True),
    Column("key_id", String(64)),
    Column("patient_id", String(128), index=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(64), nullable=False, index=True),
    Column("model_run_id", String(64)),
    Column("input_json", Text, nullable=False),
    Column("output_json", Text, nullable=False),
    Column("explanation_json", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    CheckConstraint("seq >= 1", name="ck_audit_predictions_seq_positive"),
)
# The backstop behind the writer lock: two entries can never chain onto the same predecessor
# (seq is the primary key, so never the same number either). An index, not a table constraint,
# so that databases created before it get it too (CREATE ... IF NOT EXISTS at every start).
UNIQUE_PREV_HASH = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_predictions_prev_hash "
                     "ON audit_predictions (prev_hash)")

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("label", String(200)),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
)

# Who read the audit trail, and when (a view of a stored prediction, a replay, an export, a
# verification). A hash chain of its own, guarded like the predictions: ``id`` is its sequence
# number (1..n, assigned under the writer lock) and ``entry_hash`` covers the row and
# ``prev_hash``. The two hash columns are nullable only so that a database from before the chain
# can gain them (``create_schema`` chains its old rows once).
audit_access = Table(
    "audit_access",
    metadata,
    Column("id", _SEQ_TYPE, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("prediction_id", String(36), index=True),
    Column("detail", Text),
    Column("prev_hash", String(64)),
    Column("entry_hash", String(64)),
)
UNIQUE_ACCESS_PREV_HASH = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_access_prev_hash "
                            "ON audit_access (prev_hash)")
ACCESS_CHAIN_COLUMNS = ("prev_hash", "entry_hash")

# Follow-up outcomes of served predictions: a third hash chain, guarded like the other two.
# ``prediction_id`` is unique (one outcome per prediction: a duplicate is refused, never
# overwritten); who recorded it and when are hashed with it (``serving.audit.outcomes``).
audit_outcomes = Table(
    "audit_outcomes",
    metadata,
    Column("seq", _SEQ_TYPE, primary_key=True, autoincrement=False),
    Column("prediction_id", String(36), nullable=False, unique=True),
    Column("recorded_at", String(32), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("visit_date", String(10), nullable=False),
    Column("outcome_json", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    CheckConstraint("seq >= 1", name="ck_audit_outcomes_seq_positive"),
)
UNIQUE_OUTCOME_PREV_HASH = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_outcomes_prev_hash "
                             "ON audit_outcomes (prev_hash)")

# Web-page sessions ended by sign-out: a copied cookie of one of them is refused. Rows are
# kept until the session would have expired anyway.
revoked_sessions = Table(
    "revoked_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("revoked_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False, index=True),
)

# Defence in depth only: whoever can write the file can drop these triggers. The tamper *evidence*
# is the hash chain checked by ``AuditStore.verify``.
_APPEND_ONLY_TABLES = ("audit_predictions", "audit_access", "audit_outcomes")
SQLITE_APPEND_ONLY_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} "
    f"BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    for table in _APPEND_ONLY_TABLES
    for op in ("UPDATE", "DELETE")
)
# The same guard on PostgreSQL (TRUNCATE too, which row triggers do not see). Recreated under the
# schema lock at each start, so an upgraded definition replaces an older one.
POSTGRES_APPEND_ONLY_DDL = tuple(
    ddl
    for table in _APPEND_ONLY_TABLES
    for ddl in (
        f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION '{table} is append-only'; END $$",
        f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE "
        f"ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()",
    )
)
