"""Plain helpers shared by the ``test_app_*`` modules (no tests here).

``running_service`` starts the real app (the real model trained once per session by the
``trained_store`` fixture, a temporary SQLite database, one API key per role) in a ``TestClient``.
Module-scoped services use ``trained_store`` (session scope) rather than the function-scoped
``trained_model_uri``; :func:`champion_uri` gives the same URI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from ssc_response.serving.app import create_app
from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import KeyStore, Role
from ssc_response.serving.settings import Settings
from tests.factories import make_patient


@dataclass
class Service:
    """A started app, its client, database file and one key per role."""

    app: FastAPI
    client: TestClient
    settings: Settings
    db_path: Path
    keys: dict[Role, tuple[str, str]]  # role -> (key_id, plaintext)

    def headers(self, role: Role | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[Role(role)][1]}"}

    def key_id(self, role: Role | str) -> str:
        return self.keys[Role(role)][0]

    def predict(self, *patients: dict[str, Any], role: Role | str = Role.CLINICIAN) -> Response:
        return self.client.post(
            "/v1/predictions", json={"patients": list(patients)}, headers=self.headers(role)
        )

    def audit_total(self) -> int:
        response = self.client.get("/v1/audit/predictions", headers=self.headers(Role.AUDITOR))
        assert response.status_code == 200, response.text
        return int(response.json()["total"])


def champion_uri(store: Mapping[str, Any]) -> str:
    """``models:/<registered name>@champion`` of the session's trained store."""
    return f"models:/{store['summary'].registration.name}@champion"


def make_settings(directory: Path, store: Mapping[str, Any], **overrides: Any) -> Settings:
    """Settings for a throwaway database in ``directory`` and the session's MLflow store."""
    values: dict[str, Any] = {
        "model_uri": champion_uri(store),
        "database_url": f"sqlite:///{directory / 'service.db'}",
        "tracking_uri": str(store["tracking_uri"]),
        **overrides,
    }
    return Settings(**values)


def create_keys(database_url: str) -> dict[Role, tuple[str, str]]:
    """One active key per role, created the way an operator would (KeyStore)."""
    engine = make_engine(database_url)
    try:
        store = KeyStore(engine)
        return {role: store.create(role, label=f"test {role.value}") for role in Role}
    finally:
        engine.dispose()


@contextmanager
def running_service(
    directory: Path, store: Mapping[str, Any], **overrides: Any
) -> Iterator[Service]:
    """Create keys, build the app and run its lifespan for the duration of the block."""
    settings = make_settings(directory, store, **overrides)
    keys = create_keys(settings.database_url)
    app = create_app(settings)
    with TestClient(app) as client:
        yield Service(app, client, settings, directory / "service.db", keys)


def make_batch(count: int, **overrides: Any) -> list[dict[str, Any]]:
    """``count`` valid patients with distinct IDs."""
    return [make_patient(patient_id=f"P-{i:05d}", **overrides) for i in range(count)]


def tamper(db_path: Path, statement: str, *params: Any) -> None:
    """Edit the database as someone with file access: drop the guard triggers, then write."""
    with closing(sqlite3.connect(db_path)) as raw:
        raw.execute("DROP TRIGGER IF EXISTS audit_predictions_no_update")
        raw.execute("DROP TRIGGER IF EXISTS audit_predictions_no_delete")
        raw.execute(statement, params)
        raw.commit()
