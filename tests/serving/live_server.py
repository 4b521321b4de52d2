"""A real ``ssc-response serve`` in a subprocess on a free loopback port, for the end-to-end
tests (HTTP, several workers, the browser); every wait is bounded."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 90.0
REQUEST_TIMEOUT_S = 30.0
# `ssc-response serve` without depending on cli/main.py registering the command.
SERVE = (
    "import typer; from ssc_response.cli.serve_cmd import register; "
    "app = typer.Typer(); app.callback()(lambda: None); register(app); app()"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running server process, its URL and log file."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def serve_command(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", *extra]


def start_server(env: dict[str, str], directory: Path, name: str, *extra: str) -> Server:
    """Start ``serve`` on a free port and wait (bounded) until /readyz answers 200."""
    port, log = free_port(), directory / f"{name}.log"
    command = serve_command(port, *extra)
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, cwd=directory, stdout=output,
                                   stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    text = log.read_text(errors="replace")
    raise RuntimeError(f"server not ready in {START_TIMEOUT_S} s:\n{text}")
