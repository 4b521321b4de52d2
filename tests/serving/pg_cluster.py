"""A throwaway PostgreSQL server for tests, when PostgreSQL's binaries are on this machine.

The server (``cli/local_postgres.py``, which ``ssc-response stack`` uses too) listens only on a
Unix socket in a private temporary directory, with ``fsync`` off (durability is SQLite's test;
this is about the SQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ssc_response.cli.local_postgres import Unavailable, throwaway_server

PORT = 55433

__all__ = ["PORT", "Unavailable", "create_database", "temporary_server"]


@contextmanager
def temporary_server() -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL prefix (append a database name); stop it."""
    with throwaway_server(PORT) as server:
        yield server.url("{database}")


def create_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    from sqlalchemy import create_engine, text

    name = f"ssc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url.format(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server_url.format(database=name)
