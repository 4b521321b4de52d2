"""Shared fixtures, kept few: test data come from the plain functions in ``tests/factories.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tmp_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway MLflow store: SQLite tracking and registry database, artifacts in tmp_path.

    Yields the tracking URI. Opt-in (not autouse): most tests never touch MLflow.
    """
    import mlflow  # heavy: imported only by the tests that ask for this fixture

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root (./mlruns) is relative to cwd
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # a URI set by an earlier test would otherwise win over the env
    yield uri
    mlflow.end_run()  # a failing test may leave a run open
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # back to "read the environment"
