"""The service's own database: schema, engine factory and the writer-lock transactions.

SQLite is the default (one file beside the service, ``sqlite:///path/ssc-service.db``);
PostgreSQL is selected by URL (``postgresql+psycopg://user@host/db``). Nothing is created at import
time: callers build an engine with :func:`make_engine` and own it.

Durability: an acknowledged prediction must survive SIGKILL and power loss, so SQLite runs in WAL
mode with ``synchronous=FULL`` (the WAL is fsynced at every commit; ``NORMAL`` could lose the last
commits on power loss). PostgreSQL is durable at commit with its default ``synchronous_commit=on``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
    update,
)

DATABASE_URL_ENV = "SSC_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///ssc-service.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_DIALECTS = ("sqlite", "postgresql")

# Advisory-lock key serialising schema creation when several workers start at once (PostgreSQL).
SCHEMA_LOCK_KEY = 0x5353_4353_4348_454D  # "SSCSCHEM"
# Execution option read by the SQLite "begin" hook to choose DEFERRED or IMMEDIATE.
_SQLITE_BEGIN_OPTION = "ssc_sqlite_begin"
_SQLITE_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE"})

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
_UNIQUE_PREV_HASH = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_predictions_prev_hash "
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
_UNIQUE_ACCESS_PREV_HASH = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_access_prev_hash "
                            "ON audit_access (prev_hash)")
_ACCESS_CHAIN_COLUMNS = ("prev_hash", "entry_hash")

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
_UNIQUE_OUTCOME_PREV_HASH = ("CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_outcomes_prev_hash "
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
_SQLITE_APPEND_ONLY_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} "
    f"BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    for table in _APPEND_ONLY_TABLES
    for op in ("UPDATE", "DELETE")
)
# The same guard on PostgreSQL (TRUNCATE too, which row triggers do not see). Recreated under the
# schema lock at each start, so an upgraded definition replaces an older one.
_POSTGRES_APPEND_ONLY_DDL = tuple(
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

def resolve_database_url(explicit: str | None = None) -> str:
    """Return ``explicit``, else ``$SSC_DATABASE_URL``, else the SQLite file in the working dir."""
    return explicit or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL


def utc_now_iso() -> str:
    """Current UTC time as ISO-8601 with microseconds (lexically sortable, fixed width)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_utc_iso(moment: datetime) -> str:
    """Format ``moment`` like :func:`utc_now_iso`; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def make_engine(url: str, *, create_tables: bool = True) -> Engine:
    """Build an engine for the service database and (by default) create missing tables.

    Raises ``ValueError`` for a database other than SQLite or PostgreSQL.
    """
    backend = make_url(url).get_backend_name()
    if backend not in SUPPORTED_DIALECTS:  # checked before create_engine imports a DBAPI
        raise ValueError(
            f"unsupported database {backend!r}; expected one of {', '.join(SUPPORTED_DIALECTS)}"
        )
    # SQLite files need no liveness ping; a PostgreSQL connection may have been dropped.
    # A pool as large as the concurrent requests that read keys: connections beyond the pool
    # are closed after use and reopened (with their pragmas) on the next request.
    # hide_parameters: a failed statement's values (patient data) never reach an error message.
    engine = create_engine(url, pool_pre_ping=backend == "postgresql", pool_size=16,
                           max_overflow=16, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    if create_tables:
        create_schema(engine)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Set durability pragmas and take BEGIN away from the sqlite3 driver.

    The driver's legacy mode does not BEGIN before a SELECT, so the audit chain head could be read
    outside the transaction; SQLAlchemy's documented recipe is to disable it and emit BEGIN
    ourselves (see :func:`_on_sqlite_begin`).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching a new file to WAL needs a lock another worker may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    """Emit BEGIN DEFERRED, or BEGIN IMMEDIATE when the connection asked for the writer lock."""
    mode = conn.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
    if mode not in _SQLITE_BEGIN_MODES:
        raise ValueError(f"invalid SQLite BEGIN mode {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine, lock_key: int) -> Iterator[Connection]:
    """Yield a connection in a transaction that holds the writer lock; commit on normal exit.

    SQLite: ``BEGIN IMMEDIATE`` takes the database write lock *before* anything is read, so a
    read-then-write (like reading the audit chain head) cannot interleave with another thread or
    process. PostgreSQL: ``pg_advisory_xact_lock(lock_key)``, released at commit or rollback. This
    relies on READ COMMITTED (the default): every statement after the lock sees the previous
    holder's commit, whereas a REPEATABLE READ snapshot could predate it.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
            yield conn


def create_schema(engine: Engine) -> None:
    """Create missing tables and the append-only triggers; safe to call concurrently."""
    with write_transaction(engine, SCHEMA_LOCK_KEY) as conn:
        metadata.create_all(conn)
        _chain_old_access_rows(conn)  # before the triggers, which forbid the UPDATE it needs
        guards = {"sqlite": _SQLITE_APPEND_ONLY_TRIGGERS,
                  "postgresql": _POSTGRES_APPEND_ONLY_DDL}[engine.dialect.name]
        for ddl in (*guards, _UNIQUE_PREV_HASH, _UNIQUE_ACCESS_PREV_HASH,
                    _UNIQUE_OUTCOME_PREV_HASH):
            conn.exec_driver_sql(ddl)


def _chain_old_access_rows(conn: Connection) -> None:
    """Give a database from before the access chain its hash columns, and chain its rows once."""
    present = {column["name"] for column in inspect(conn).get_columns(audit_access.name)}
    missing = [name for name in _ACCESS_CHAIN_COLUMNS if name not in present]
    if not missing:
        return
    for name in missing:
        conn.exec_driver_sql(f"ALTER TABLE audit_access ADD COLUMN {name} VARCHAR(64)")
    _chain_unchained_access_rows(conn)


def _chain_unchained_access_rows(conn: Connection) -> None:
    """Hash-link the rows of a database from before the access chain, in id order, once.

    Their ids are kept as they are: a gap in them shows as a break, which it is (a row was
    deleted before the chain existed to prove it).
    """
    # Imported here, not at the top: importing the audit package runs its __init__, which
    # imports this module's tables. hashing itself imports nothing of ours.
    from ssc_response.serving.audit.hashing import (
        ACCESS_HASHED_FIELDS,
        GENESIS_HASH,
        compute_entry_hash,
    )

    prev_hash = GENESIS_HASH
    for row in conn.execute(select(audit_access).order_by(audit_access.c.id)).all():
        fields = {**row._mapping, "prev_hash": prev_hash}
        entry_hash = compute_entry_hash(fields, ACCESS_HASHED_FIELDS)
        conn.execute(update(audit_access).where(audit_access.c.id == row.id)
                     .values(prev_hash=prev_hash, entry_hash=entry_hash))
        prev_hash = entry_hash


def schema_exists(engine: Engine) -> bool:
    """Whether the database already holds the service tables, without creating a SQLite file."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        if not Path(database).is_file():
            return False
    names = set(inspect(engine).get_table_names())
    # The trail and the keys: a database from before the access table still counts.
    return {audit_predictions.name, api_keys.name} <= names
