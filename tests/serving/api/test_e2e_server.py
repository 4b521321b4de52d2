"""A real uvicorn server in a subprocess: HTTP end to end, and durability across SIGKILL.

The server is started with the ``serve`` command (``cli/serve_cmd.py``) on a free loopback port,
against the session's trained MLflow store and a temporary SQLite database. Every loop and wait
is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssc_response.serving.keys import Role
from tests.factories import make_patient
from tests.serving.live_server import (
    REQUEST_TIMEOUT_S,
    Server,
    free_port,
    serve_command,
    start_server,
)
from tests.serving.support import champion_uri, create_keys

pytestmark = pytest.mark.slow

@dataclass
class Deployment:
    """Environment, keys and directory shared by the servers of one test."""

    env: dict[str, str]
    keys: dict[Role, tuple[str, str]]
    directory: Path

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role][1]}"}


@pytest.fixture
def deployment(trained_store: dict[str, Any], tmp_path: Path) -> Deployment:
    database_url = f"sqlite:///{tmp_path / 'service.db'}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": str(trained_store["tracking_uri"]),
        "SSC_DATABASE_URL": database_url,
        "SSC_MODEL_URI": champion_uri(trained_store),
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }
    return Deployment(env, create_keys(database_url), tmp_path)


@pytest.fixture
def server(deployment: Deployment) -> Iterator[Server]:
    started = start_server(deployment.env, deployment.directory, "server")
    yield started
    started.stop()


def test_prediction_over_http_is_audited(server: Server, deployment: Deployment) -> None:
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
        answer = client.post("/v1/predictions", json={"patients": [make_patient()]},
                             headers=deployment.headers(Role.CLINICIAN))
        assert answer.status_code == 200
        prediction_id = answer.json()["predictions"][0]["prediction_id"]
        entry = client.get(f"/v1/audit/predictions/{prediction_id}",
                           headers=deployment.headers(Role.AUDITOR))
        assert entry.status_code == 200
        assert entry.json()["key_id"] == deployment.keys[Role.CLINICIAN][0]


def test_http_edges(server: Server, deployment: Deployment) -> None:
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.post("/v1/predictions", json={"patients": []}).status_code == 401
        malformed = client.post("/v1/predictions", content=b"{not json",
                                headers={**deployment.headers(Role.CLINICIAN),
                                         "Content-Type": "application/json"})
        assert malformed.status_code == 422
        assert "ssc_http_requests_total" in client.get("/metrics").text


def test_serve_refuses_bad_configuration(deployment: Deployment) -> None:
    env = {**deployment.env, "SSC_DATABASE_URL": "mysql://db/ssc"}
    done = subprocess.run(serve_command(free_port()), env=env, capture_output=True, text=True,
                          timeout=60, cwd=deployment.directory)
    assert done.returncode == 2
    assert "unsupported database" in done.stderr


def test_serve_refuses_to_start_without_its_model(deployment: Deployment) -> None:
    env = {**deployment.env, "SSC_MODEL_URI": "models:/no-such-model@champion"}
    done = subprocess.run(serve_command(free_port()), env=env, capture_output=True, text=True,
                          timeout=120, cwd=deployment.directory)
    assert done.returncode == 3


def test_workers_keep_tcp_nodelay(deployment: Deployment) -> None:
    """Two workers answer, without the ~40 ms delayed-ACK stall of uvicorn's own worker socket."""
    server = start_server(deployment.env, deployment.directory, "workers", "--workers", "2")
    try:
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
            answer = client.post("/v1/predictions", json={"patients": [make_patient()]},
                                 headers=deployment.headers(Role.CLINICIAN))
            timings = []
            for _ in range(21):  # one keep-alive connection
                start = time.perf_counter()
                client.get("/healthz")
                timings.append(time.perf_counter() - start)
    finally:
        server.stop()
    assert answer.status_code == 200
    assert sorted(timings)[10] < 0.030  # the stall would make every request take >= 40 ms


class Load:
    """Clients predicting concurrently; collects the IDs of answers acknowledged with 200."""

    def __init__(self, url: str, headers: dict[str, str], threads: int) -> None:
        self.url, self.headers = url, headers
        self.acknowledged: list[str] = []
        self.errors = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_S + 5)

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_S) as client:
            for i in range(500):  # bounded even if the kill never comes
                if self.stop.is_set():
                    return
                self._one(client, make_patient(patient_id=f"W{worker}-{i}"))

    def _one(self, client: httpx.Client, patient: dict[str, Any]) -> None:
        try:
            response = client.post("/v1/predictions", json={"patients": [patient]},
                                   headers=self.headers)
        except httpx.TransportError:
            with self._lock:
                self.errors += 1
            self.stop.set()  # the server is gone
            return
        if response.status_code == 200:
            with self._lock:
                self.acknowledged.append(response.json()["predictions"][0]["prediction_id"])


def recorded_ids(client: httpx.Client, headers: dict[str, str]) -> set[str]:
    """Every prediction_id in the audit trail, page by page."""
    ids: set[str] = set()
    for offset in range(0, 100_000, 1000):
        page = client.get("/v1/audit/predictions", params={"limit": 1000, "offset": offset},
                          headers=headers).json()
        ids.update(item["prediction_id"] for item in page["items"])
        if offset + 1000 >= page["total"]:
            break
    return ids


def test_acknowledged_predictions_survive_sigkill(deployment: Deployment) -> None:
    first = start_server(deployment.env, deployment.directory, "before-kill")
    load = Load(first.url, deployment.headers(Role.CLINICIAN), threads=6)
    try:
        load.start()
        deadline = time.monotonic() + 60
        while len(load.acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.process.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        first.process.wait(10)
    finally:
        load.join()
        first.stop(signal.SIGKILL)
    assert len(load.acknowledged) >= 30, first.log.read_text(errors="replace")

    second = start_server(deployment.env, deployment.directory, "after-restart")
    try:
        with httpx.Client(base_url=second.url, timeout=REQUEST_TIMEOUT_S) as client:
            auditor = deployment.headers(Role.AUDITOR)
            missing = set(load.acknowledged) - recorded_ids(client, auditor)
            verify = client.get("/v1/audit/verify", headers=auditor).json()
    finally:
        second.stop()
    print(f"{len(load.acknowledged)} acknowledged, {load.errors} cut off by the kill")
    assert not missing, f"{len(missing)} acknowledged predictions lost"
    assert verify["ok"] is True, verify
