"""``ssc-response stack``: PostgreSQL, an MLflow server on it, training against the server and
two serving workers that follow its champion, end to end; SIGTERM stops all of it.

Skipped, with the reason, where PostgreSQL's binaries are not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from ssc_response.cli.local_postgres import Unavailable, binaries
from tests.factories import make_patient
from tests.serving.live_server import free_port

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 400.0


def read_until(process: subprocess.Popen[str], marker: str, lines: list[str]) -> None:
    """Collect the stack's output lines until one contains ``marker`` (bounded)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if marker in line:
            return
    pytest.fail("stack did not come up:\n" + "".join(lines))


def test_stack_trains_against_its_server_and_serves_with_two_workers(tmp_path: Path) -> None:
    try:
        binaries()
    except Unavailable as reason:
        pytest.skip(str(reason))
    # As root, PostgreSQL runs as 'postgres', which cannot traverse pytest's private tmp_path.
    workdir = Path(tempfile.mkdtemp(prefix="ssc-stack-"))
    workdir.chmod(0o755)
    port, mlflow_port, pg_port = free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-c", "from ssc_response.cli.main import app; app()", "stack",
               "--workdir", str(workdir), "--port", str(port), "--mlflow-port", str(mlflow_port),
               "--postgres-port", str(pg_port), "--workers", "2", "--poll-seconds", "1"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        read_until(process, "Ctrl-C stops", lines)
        key = next(line.split()[-1] for line in lines if line.strip().startswith("clinician"))
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/predictions",
                            json={"patients": [make_patient()]},
                            headers={"Authorization": f"Bearer {key}"}, timeout=60)
        runs = httpx.post(f"http://127.0.0.1:{mlflow_port}/api/2.0/mlflow/runs/search",
                          json={"experiment_ids": ["1"]}, timeout=60).json()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=120)[0]
        shutil.rmtree(workdir, ignore_errors=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["model"]["version"] == "1"
    assert len(runs["runs"]) == 1  # the quick experiment, tracked by the server
    assert "registered ssc-skin-response version 1" in "".join(lines)
    assert process.returncode == 0, output
    assert "stopping the service, the tracking server and PostgreSQL" in output
