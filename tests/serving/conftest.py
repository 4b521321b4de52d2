"""Fixtures shared by the serving tests: a service database file and its engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from serving.database import make_engine


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
