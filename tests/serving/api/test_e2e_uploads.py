"""Hostile uploads on the real server (issue 23): refused within a second, service unharmed.

A real ``serve`` subprocess (uvicorn, the session's trained model). While each file is posted
to /patients, a thread asks /healthz over and over; every answer must come within 100 ms, the
file must be refused (413 or 422, naming the limit) within a second, and the server's resident
memory must stay within 200 MiB of where it started.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ssc_response.serving.keys import Role
from tests.serving.api.test_e2e_server import Deployment, Server, start_server
from tests.serving.support import champion_uri, create_keys

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
HEALTH_LIMIT_S = 0.100
REFUSAL_LIMIT_S = 1.0
RSS_GROWTH_LIMIT = 200 * MIB


def zstd_parquet_of_20_million_rows() -> bytes:
    """The probe's file: 20 million rows that zstd and run-length encoding fold to ~100 KiB."""
    rows = 20_000_000
    table = pa.table({"patient_id": pa.array(np.zeros(rows, dtype=np.int8))})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=rows)
    return buffer.getvalue()


def csv_of_7_5_million_rows() -> bytes:
    """A 14 MiB CSV: a header and 7.5 million one-cell rows (under the 16 MiB body limit)."""
    return b"patient_id\n" + b"1\n" * 7_500_000


def parquet_of_16_mib() -> bytes:
    """16 MiB of incompressible data in 200 rows: at the body limit."""
    rng = np.random.default_rng(23)
    cells = [rng.bytes(16 * MIB // 200) for _ in range(200)]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"patient_id": pa.array(cells)}), buffer, compression="none")
    return buffer.getvalue()


def parquet_expanding_to_100_mib() -> bytes:
    """50 rows of 2 MiB strings, distinct but compressible: small on the wire, 100 MiB read."""
    cells = [f"{i:04d}" + "x" * (2 * MIB) for i in range(50)]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"patient_id": cells}), buffer, compression="zstd",
                   use_dictionary=False)
    return buffer.getvalue()


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


class HealthProbe:
    """Asks /healthz every 20 ms in a thread; keeps the slowest answer's time and the server's
    largest resident memory seen meanwhile."""

    def __init__(self, url: str, pid: int) -> None:
        self.url, self.pid, self.slowest, self.failures = url, pid, 0.0, 0
        self.largest_rss = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            client.get("/healthz")  # the connection is open before timing starts
            while not self._stop.is_set():
                start = time.perf_counter()
                if client.get("/healthz").status_code != 200:
                    self.failures += 1
                self.slowest = max(self.slowest, time.perf_counter() - start)
                self.largest_rss = max(self.largest_rss, rss_bytes(self.pid))
                self._stop.wait(0.02)


@pytest.fixture(scope="module")
def deployment(trained_store: dict[str, Any],
               tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """As ``test_e2e_server.deployment``, once for the module (one server for every file)."""
    directory = tmp_path_factory.mktemp("e2e-uploads")
    database_url = f"sqlite:///{directory / 'service.db'}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": str(trained_store["tracking_uri"]),
        "SSC_DATABASE_URL": database_url,
        "SSC_MODEL_URI": champion_uri(trained_store),
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }
    return Deployment(env, create_keys(database_url), directory)


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[Server]:
    started = start_server(deployment.env, deployment.directory, "uploads")
    yield started
    started.stop()


def signed_in(server: Server, deployment: Deployment) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    page = client.get("/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = client.post("/sign-in", data={"api_key": deployment.keys[Role.CLINICIAN][1],
                                           "csrf_token": token.group(1)})
    assert answer.status_code in (200, 303), answer.text
    return client


@pytest.mark.parametrize("make_file", [zstd_parquet_of_20_million_rows, csv_of_7_5_million_rows,
                                       parquet_of_16_mib, parquet_expanding_to_100_mib])
def test_a_hostile_upload_is_refused_fast_and_the_service_keeps_answering(
        server: Server, deployment: Deployment, make_file: object) -> None:
    assert callable(make_file)
    content: bytes = make_file()
    name = "patients.csv" if content.startswith(b"patient_id") else "patients.parquet"
    client = signed_in(server, deployment)
    try:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/patients").text)
        assert token is not None
        rss_before = rss_bytes(server.process.pid)
        with HealthProbe(server.url, server.process.pid) as health:
            time.sleep(0.1)
            start = time.perf_counter()
            answer = client.post("/patients", data={"csrf_token": token.group(1)},
                                 files={"file": (name, content, "application/octet-stream")})
            elapsed = time.perf_counter() - start
            time.sleep(0.1)
        rss_after = rss_bytes(server.process.pid)
    finally:
        client.close()
    assert answer.status_code in (413, 422)
    if "text/html" in answer.headers.get("content-type", ""):  # the page's refusal, not the
        # body limit's (a file over 16 MiB never reaches the page)
        assert re.search(r"at most (1000|[\d.]+ MiB) can be read at once", answer.text)
    assert elapsed < REFUSAL_LIMIT_S
    assert health.failures == 0
    assert health.slowest < HEALTH_LIMIT_S
    assert max(rss_after, health.largest_rss) - rss_before < RSS_GROWTH_LIMIT
