"""The service's own database: engine factory, schema creation and the writer-lock transactions.

The tables themselves are in :mod:`serving.database_tables`.

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
    Connection,
    Engine,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
    update,
)

from ssc_response.serving.database_tables import (
    ACCESS_CHAIN_COLUMNS,
    POSTGRES_APPEND_ONLY_DDL,
    SQLITE_APPEND_ONLY_TRIGGERS,
    UNIQUE_ACCESS_PREV_HASH,
    UNIQUE_OUTCOME_PREV_HASH,
    UNIQUE_PREV_HASH,
    api_keys,
    audit_access,
    audit_predictions,
    metadata,
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
        guards = {"sqlite": SQLITE_APPEND_ONLY_TRIGGERS,
                  "postgresql": POSTGRES_APPEND_ONLY_DDL}[engine.dialect.name]
        for ddl in (*guards, UNIQUE_PREV_HASH, UNIQUE_ACCESS_PREV_HASH,
                    UNIQUE_OUTCOME_PREV_HASH):
            conn.exec_driver_sql(ddl)


def _chain_old_access_rows(conn: Connection) -> None:
    """Give a database from before the access chain its hash columns, and chain its rows once."""
    present = {column["name"] for column in inspect(conn).get_columns(audit_access.name)}
    missing = [name for name in ACCESS_CHAIN_COLUMNS if name not in present]
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
