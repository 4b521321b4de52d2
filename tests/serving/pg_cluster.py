"""A throwaway PostgreSQL server for tests, when PostgreSQL's binaries are on this machine.

``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` system
user (Debian's packages create it). The server listens only on a Unix socket in a private
temporary directory, with ``fsync`` off (durability is SQLite's test; this is about the SQL).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PORT = 55433
SUPERUSER = "postgres"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here (the reason is the message)."""


def _binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise Unavailable("PostgreSQL's binaries (pg_ctl, initdb) are not installed")
    return Path(candidates[-1]).parent


def _as_server_user() -> list[str]:
    """The command prefix that runs a program as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root and there is no 'postgres' user") from None
    if shutil.which("runuser") is None:
        raise Unavailable("running as root and 'runuser' is missing")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def temporary_server() -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL prefix (append a database name); stop it."""
    binaries, prefix = _binaries(), _as_server_user()
    directory = Path(tempfile.mkdtemp(prefix="ssc-pg-"))
    if prefix:
        shutil.chown(directory, "postgres")
    data = directory / "data"

    def run(*command: str) -> None:
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER,
            "--no-sync")
        options = f"-p {PORT} -k {directory} -c listen_addresses='' -c fsync=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(directory / "server.log"), "-w", "start")
    except (OSError, subprocess.CalledProcessError) as error:
        shutil.rmtree(directory, ignore_errors=True)
        raise Unavailable(f"could not start PostgreSQL: {error}") from None
    try:
        yield f"postgresql+psycopg://{SUPERUSER}@/{{database}}?host={directory}&port={PORT}"
    finally:
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(directory, ignore_errors=True)


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
