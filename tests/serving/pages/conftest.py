"""Fixtures shared by the page tests.

Over HTTP (``TestClient``): ``service``, the real app on the session's trained model (a module
may override it with its own settings and keep ``clinician`` and ``auditor``), and a signed-in
browser per role. In Chromium: ``deployment`` (a real ``serve`` process and one key per role),
``chromium``, ``shots`` (the screenshots' folder) and ``patient`` (one simulated patient as
typed). Every fixture is module-scoped: each test module gets its own server and database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ssc_response.features.schema import baseline_fields
from ssc_response.serving.keys import Role
from tests.browser import CHROMIUM
from tests.serving.live_server import Server, start_server
from tests.serving.pages.browser_support import ROOT, typed
from tests.serving.pages.support import signed_in_client
from tests.serving.support import Service, champion_uri, create_keys, running_service


@pytest.fixture(scope="module")
def service(trained_store: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The real app on the session's trained model, a temporary database, a key per role."""
    with running_service(tmp_path_factory.mktemp("pages"), trained_store) as started:
        yield started


@pytest.fixture(scope="module")
def clinician(service: Service) -> TestClient:
    return signed_in_client(service, Role.CLINICIAN)


@pytest.fixture(scope="module")
def auditor(service: Service) -> TestClient:
    return signed_in_client(service, Role.AUDITOR)


@pytest.fixture(scope="module")
def deployment(trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[tuple[Server, dict[Role, str]]]:
    """A real server (``serve``, uvicorn) on the session's trained model; one key per role."""
    directory = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{directory / 'service.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": str(trained_store["tracking_uri"]),
           "SSC_DATABASE_URL": database_url, "SSC_MODEL_URI": champion_uri(trained_store),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    keys = {role: plaintext for role, (_id, plaintext) in create_keys(database_url).items()}
    server = start_server(env, directory, "pages")
    yield server, keys
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder, or ``docs/screenshots/`` when ``SSC_UPDATE_SCREENSHOTS=1``."""
    if os.environ.get("SSC_UPDATE_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def patient() -> dict[str, str]:
    """One simulated patient's baseline fields, as a person would type them."""
    from ssc_response.training.simulation import simulate_cohort

    row = simulate_cohort(1, seed=2024).iloc[0]
    record = {"patient_id": "SIM-0001"}
    for name in baseline_fields():
        record[name] = typed(row[name])
    return record
