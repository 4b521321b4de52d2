"""A PostgreSQL server started from this machine's binaries (``initdb``, ``pg_ctl``), no Docker.

Used by ``ssc-response stack`` (a local multi-user set-up) and by the tests (a throwaway server).
``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` system
user that Debian's packages create. Authentication is ``trust`` for the local superuser: the
server listens on a Unix socket in its own folder and, when asked, on 127.0.0.1 only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here (the reason is the message)."""


def binaries() -> Path:
    """The folder of ``pg_ctl`` and ``initdb``: on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise Unavailable("PostgreSQL's binaries (pg_ctl, initdb) are not installed")
    return Path(candidates[-1]).parent


def as_server_user() -> list[str]:
    """The command prefix that runs a program as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise Unavailable("running as root and there is no 'postgres' user") from None
    if shutil.which("runuser") is None:
        raise Unavailable("running as root and 'runuser' is missing")
    return ["runuser", "-u", SUPERUSER, "--"]


@dataclass(frozen=True)
class LocalPostgres:
    """A running server: its folder (data and Unix socket), port and whether it listens on TCP."""

    directory: Path
    port: int
    tcp: bool

    def url(self, database: str, driver: str = "psycopg") -> str:
        """SQLAlchemy URL of ``database`` (``driver``: psycopg for the service, psycopg2 for
        MLflow's tracking store)."""
        if self.tcp:
            return f"postgresql+{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
        return f"postgresql+{driver}://{SUPERUSER}@/{database}?host={self.directory}&port={self.port}"

    def create_database(self, name: str) -> str:
        """Create ``name`` unless it exists; its URL (psycopg driver)."""
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": name}).first()
                if exists is None:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)


@contextmanager
def running_server(directory: Path, port: int, *, tcp: bool = False,
                   durable: bool = True) -> Iterator[LocalPostgres]:
    """Start a server on the data in ``directory/data`` (created when absent); stop it at the end.

    ``durable=False`` turns fsync off (tests: the SQL, not the disk, is under test).
    """
    bin_dir, prefix = binaries(), as_server_user()
    directory.mkdir(parents=True, exist_ok=True)
    if prefix:
        shutil.chown(directory, SUPERUSER)
        reachable = subprocess.run([*prefix, "test", "-w", str(directory)], check=False)
        if reachable.returncode != 0:
            raise Unavailable(f"the '{SUPERUSER}' user cannot reach {directory} (PostgreSQL "
                              "refuses to run as root): use a folder every user can traverse")
    data = directory / "data"

    def run(*command: str) -> None:
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    listen = "127.0.0.1" if tcp else "''"
    options = f"-p {port} -k {directory} -c listen_addresses={listen}"
    if not durable:
        options += " -c fsync=off"
    try:
        if not (data / "PG_VERSION").exists():
            run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER,
                "-E", "UTF8", *([] if durable else ["--no-sync"]))
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(directory / "server.log"), "-w", "start")
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        raise Unavailable(f"could not start PostgreSQL: {error} {detail.decode(errors='replace')}"
                          ) from None
    try:
        yield LocalPostgres(directory, port, tcp)
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                        "fast" if durable else "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)


@contextmanager
def throwaway_server(port: int, *, tcp: bool = False,
                     durable: bool = False) -> Iterator[LocalPostgres]:
    """A server on a new temporary folder, removed afterwards (tests: fsync off by default)."""
    directory = Path(tempfile.mkdtemp(prefix="ssc-pg-"))
    try:
        with running_server(directory, port, tcp=tcp, durable=durable) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)
