"""Load generators for the serving benchmarks: wrk with a Lua script when installed, else a
bounded httpx thread pool; each gives a :class:`Result` with the server's CPU time."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WRK_DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
"""


@dataclass
class Result:
    """Throughput and latency of one endpoint."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_s: float = float("nan")  # CPU time the server processes used during the run

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e3

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def measured(server_pid: int, drive: Any) -> Result:
    """``drive()``'s result with the server's CPU time (all its processes) during the run."""
    before = tree_cpu_seconds(server_pid)
    result: Result = drive()
    result.server_cpu_s = tree_cpu_seconds(server_pid) - before
    return result


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (Linux /proc; NaN elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        parent, user, system = int(fields[1]), int(fields[11]), int(fields[12])
        stats[int(entry.parent.name)] = (parent, (user + system) / ticks)
    if root not in stats:
        return float("nan")
    tree, changed = {root}, True
    while changed:
        changed = False
        for pid, (parent, _) in stats.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(stats[pid][1] for pid in tree)


def wrk(url: str, path: str, method: str, body: str | None, headers: dict[str, str],
        args: argparse.Namespace) -> Result:
    """Run wrk with a Lua script that sets the request and prints a JSON summary."""
    script = [f'wrk.method = "{method}"']
    if body is not None:
        script.append(f"wrk.body = {json.dumps(body)}")
    script += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write("\n".join(script) + "\n" + WRK_DONE)
    try:
        command = ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration:g}s",
                   "--timeout", "10s", "-s", lua.name, url + path]
        output = subprocess.run(command, capture_output=True, text=True, check=True,
                                timeout=args.duration + 60).stdout
    finally:
        os.unlink(lua.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return Result(**json.loads(line.removeprefix("RESULT ")))


def python_load(url: str, path: str, method: str, body: str | None,
                headers: dict[str, str], args: argparse.Namespace) -> Result:
    """Fallback: one thread per connection, each a keep-alive httpx client, fixed duration."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + args.duration

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = client.request(method, path, content=body, headers=headers)
                with lock:
                    latencies.append(time.perf_counter() - start)
                    errors[0] += response.status_code != 200

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.duration + 30)
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Result(len(latencies), seconds, errors[0], cuts[49] * 1e3, cuts[98] * 1e3)
