"""Several serving workers on one audit chain in PostgreSQL, end to end.

``ssc-response serve --workers 2`` (the real command, uvicorn's supervisor) against a throwaway
PostgreSQL (audit trail and keys) and the session's trained MLflow store, under load from eight
client threads:

- one worker SIGKILLed mid-load: every acknowledged prediction is in the audit trail, the chain
  verifies, and the other worker keeps answering;
- a new champion registered mid-load: every worker moves to it (each polls the alias every
  ``SSC_MODEL_POLL_SECONDS``), and no request fails during the move.

Workers are told apart by the ``worker_pid`` that ``/readyz`` reports. Skipped, with the reason,
where PostgreSQL's binaries are not installed. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ssc_response.serving.audit import AuditStore
from ssc_response.serving.database import make_engine
from ssc_response.serving.database_tables import audit_predictions
from ssc_response.serving.keys import Role
from tests.factories import make_patient
from tests.serving.live_server import Server, start_server
from tests.serving.pg_cluster import create_database
from tests.serving.support import champion_uri, create_keys

pytestmark = pytest.mark.slow

CLIENTS = 8
TIMEOUT_S = 30.0
POLL_SECONDS = 1.0


class Traffic:
    """``CLIENTS`` threads predicting one patient per request until stopped. A connection cut
    (the killed worker's) is counted and the client reconnects; every answer's status is kept."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.acknowledged: list[tuple[float, str, str]] = []  # (time, prediction_id, version)
        self.statuses: Counter[int] = Counter()
        self.cut_off = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(CLIENTS)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT_S + 5)

    def acknowledged_after(self, moment: float) -> int:
        with self._lock:
            return sum(1 for when, _, _ in self.acknowledged if when > moment)

    def _run(self, client_number: int) -> None:
        for i in range(100_000):
            if self._stop.is_set():
                return
            with httpx.Client(base_url=self.url, timeout=TIMEOUT_S) as client:
                while not self._stop.is_set() and self._one(client, f"C{client_number}-{i}"):
                    i += 1

    def _one(self, client: httpx.Client, patient_id: str) -> bool:
        """One request; False when the connection was cut (the caller reconnects)."""
        try:
            response = client.post("/v1/predictions", headers=self.headers,
                                   json={"patients": [make_patient(patient_id=patient_id)]})
        except httpx.TransportError:
            with self._lock:
                self.cut_off += 1
            return False
        with self._lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                answer = response.json()["predictions"][0]
                self.acknowledged.append((time.monotonic(), answer["prediction_id"],
                                          answer["model"]["version"]))
        return True


def readiness(url: str) -> tuple[int, str]:
    """(worker_pid, model version) of whichever worker accepts a new connection."""
    body = httpx.get(f"{url}/readyz", timeout=TIMEOUT_S).json()
    return int(body["worker_pid"]), str(body["model"]["version"])


def wait_for_workers(url: str, count: int, deadline_s: float = 120.0) -> dict[int, str]:
    """Sample /readyz on fresh connections until ``count`` workers answered; pid -> version."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + deadline_s
    while len(seen) < count and time.monotonic() < deadline:
        pid, version = readiness(url)
        seen[pid] = version
        time.sleep(0.05)
    assert len(seen) >= count, f"only workers {sorted(seen)} answered in {deadline_s} s"
    return seen


@pytest.fixture
def service_env(trained_store: dict[str, Any], postgres_server: str,
                tmp_path: Path) -> dict[str, str]:
    """Environment of a service on a fresh PostgreSQL database and a private copy of the
    session's MLflow store (the hot-swap test registers a version in it)."""
    store = tmp_path / "mlflow.db"
    shutil.copy(Path(str(trained_store["tracking_uri"]).removeprefix("sqlite:///")), store)
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}",
        "SSC_DATABASE_URL": create_database(postgres_server),
        "SSC_MODEL_URI": champion_uri(trained_store),
        "SSC_MODEL_POLL_SECONDS": str(POLL_SECONDS),
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }


@pytest.fixture
def two_workers(service_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    server = start_server(service_env, tmp_path, "workers", "--workers", "2")
    try:
        wait_for_workers(server.url, 2)
        yield server
    finally:
        server.stop()


def clinician(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_keys(env['SSC_DATABASE_URL'])[Role.CLINICIAN][1]}"}


def test_a_killed_worker_loses_no_acknowledged_prediction(
    two_workers: Server, service_env: dict[str, str]
) -> None:
    with Traffic(two_workers.url, clinician(service_env)) as traffic:
        deadline = time.monotonic() + 60
        while len(traffic.acknowledged) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim, _ = readiness(two_workers.url)
        os.kill(victim, signal.SIGKILL)  # mid-load: its requests in flight are cut off
        killed_at = time.monotonic()
        time.sleep(3)  # the other worker carries the load (the supervisor restarts the victim)
        answered_after = traffic.acknowledged_after(killed_at)
        survivor, _ = readiness(two_workers.url)

    engine = make_engine(service_env["SSC_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            recorded = set(conn.scalars(select(audit_predictions.c.prediction_id)))
        verify = AuditStore(engine).verify()
    finally:
        engine.dispose()
    acknowledged = {prediction_id for _, prediction_id, _ in traffic.acknowledged}
    print(f"{len(acknowledged)} acknowledged, {len(acknowledged - recorded)} missing, "
          f"{traffic.cut_off} cut off by the kill, {answered_after} answered after it")
    assert len(acknowledged) >= 300
    assert not acknowledged - recorded, "acknowledged predictions missing from the audit trail"
    assert verify.ok and verify.checked == len(recorded), verify
    assert set(traffic.statuses) == {200}, traffic.statuses
    assert answered_after > 0 and survivor != victim


def test_every_worker_moves_to_a_new_champion_without_a_failed_request(
    two_workers: Server, service_env: dict[str, str], trained_store: dict[str, Any]
) -> None:
    from mlflow.tracking import MlflowClient

    workers = wait_for_workers(two_workers.url, 2)
    registry = MlflowClient(tracking_uri=service_env["MLFLOW_TRACKING_URI"])
    name = trained_store["summary"].registration.name
    current = registry.get_model_version_by_alias(name, "champion")
    with Traffic(two_workers.url, clinician(service_env)) as traffic:
        time.sleep(1)
        new = registry.create_model_version(name, current.source, run_id=current.run_id)
        registry.set_registered_model_alias(name, "champion", new.version)
        moved_at = time.monotonic()
        moved = wait_until_all_serve(two_workers.url, set(workers), str(new.version),
                                     moved_at)
        time.sleep(1)  # traffic keeps flowing after the move

    print(f"workers {sorted(moved)} served version {new.version} after "
          f"{', '.join(f'{s:.1f} s' for s in moved.values())} (poll every {POLL_SECONDS} s); "
          f"{len(traffic.acknowledged)} requests answered, statuses {dict(traffic.statuses)}")
    assert set(traffic.statuses) == {200} and traffic.cut_off == 0, traffic.statuses
    # Answers completed half a second after the last worker reported the new version.
    settled = moved_at + max(moved.values()) + 0.5
    late = [v for when, _, v in traffic.acknowledged if when > settled]
    assert late and set(late) == {str(new.version)}


def wait_until_all_serve(url: str, pids: set[int], version: str, since: float,
                         deadline_s: float = 90.0) -> dict[int, float]:
    """Seconds after ``since`` at which each worker first reported ``version``."""
    moved: dict[int, float] = {}
    while set(moved) != pids and time.monotonic() < since + deadline_s:
        pid, serving = readiness(url)
        if serving == version:
            moved.setdefault(pid, time.monotonic() - since)
        time.sleep(0.05)
    assert set(moved) == pids, f"only workers {sorted(moved)} of {sorted(pids)} moved"
    return moved
