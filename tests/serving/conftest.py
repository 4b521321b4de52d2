"""Fixtures shared by the serving tests: a service database file and its engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ssc_response.serving.database import make_engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's SQLite service database lives (created by the engine)."""
    return tmp_path / "ssc-service.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    """An engine on ``db_path``, tables created, disposed after the test."""
    engine = make_engine(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for the whole run (URL prefix: ``.format(database=...)``);
    skipped, with the reason, where PostgreSQL's binaries are not installed."""
    from tests.serving.pg_cluster import Unavailable, temporary_server

    try:
        with temporary_server() as url:
            yield url
    except Unavailable as reason:
        pytest.skip(str(reason))
