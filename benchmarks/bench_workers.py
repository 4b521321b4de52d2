"""Serving benchmark: 1 worker with the audit trail on SQLite against 2 workers with it on
PostgreSQL, same model, same load, same run.

Starts ``serve`` (the real command) twice on the same MLflow store: ``--workers 1`` with a fresh
SQLite database, then ``--workers 2`` with a fresh database on a PostgreSQL server started from
this machine's binaries (``cli/local_postgres.py``; fsync on, as a deployment would run it).
Drives one-patient predictions at a fixed number of connections (wrk when installed, else httpx
threads; see ``bench_serving.py``) and prints throughput, p50/p99 latency, server CPU per request
and the throughput ratio. Every answer is a durable, hash-chained audit append. Prints figures;
asserts nothing.

    MLFLOW_TRACKING_URI=sqlite:///path/mlflow.db python benchmarks/bench_workers.py
    python benchmarks/bench_workers.py --train --duration 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from load_driver import Result, measured, python_load, wrk  # noqa: E402
from served_model import clinician_key, model_environment, start, train_model  # noqa: E402

from tests.factories import make_patient  # noqa: E402

POSTGRES_PORT = 55439


def main() -> None:
    args = parse_args()
    from ssc_response.cli.local_postgres import throwaway_server

    with tempfile.TemporaryDirectory(prefix="ssc-bench-workers-") as tmp:
        workdir = Path(tmp)
        base = environment(args, workdir)
        print(f"load generator: {'wrk' if use_wrk(args) else 'httpx threads'}; "
              f"{args.connections} connections, {args.duration:g} s per set-up; cores: "
              f"{os.cpu_count()} (shared by servers, database and load generator)", flush=True)
        sqlite = drive_setup(args, {**base, "SSC_DATABASE_URL":
                                    f"sqlite:///{workdir / 'service.db'}"}, workdir, 1)
        with throwaway_server(POSTGRES_PORT, durable=True) as pg:
            postgres = drive_setup(args, {**base, "SSC_DATABASE_URL":
                                          pg.create_database("ssc")}, workdir, 2)
    report("1 worker, SQLite", sqlite)
    report("2 workers, PostgreSQL", postgres)
    print(f"throughput ratio (2 workers PostgreSQL / 1 worker SQLite): "
          f"{postgres.per_second / sqlite.per_second:.2f}x; p99 {sqlite.p99_ms:.1f} ms -> "
          f"{postgres.p99_ms:.1f} ms")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per set-up")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--model-uri", default="models:/ssc-skin-response@champion")
    parser.add_argument("--train", action="store_true", help="train a quick model first")
    parser.add_argument("--no-wrk", action="store_true", help="use the httpx load generator")
    return parser.parse_args()


def environment(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    """The given MLflow store, or (``--train``, or none given) the quick experiment's champion
    trained here (``bench_serving``'s recipe), and the model's URI."""
    tracking = os.environ.get("MLFLOW_TRACKING_URI")
    if args.train or not tracking:
        tracking = train_model("quick", workdir)
    return {**model_environment(tracking), "SSC_MODEL_URI": args.model_uri}


def use_wrk(args: argparse.Namespace) -> bool:
    return shutil.which("wrk") is not None and not args.no_wrk


def drive_setup(args: argparse.Namespace, env: dict[str, str], workdir: Path,
                workers: int) -> Result:
    """Start the server, warm every worker, drive predictions, stop it."""
    import httpx

    token = clinician_key(env["SSC_DATABASE_URL"])
    server, url = start(env, workdir, workers)
    body = json.dumps({"patients": [make_patient()]})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        wait_for_workers(url, workers)
        for _ in range(40):  # fresh connections: warms every worker's first-request costs
            response = httpx.post(f"{url}/v1/predictions", content=body, headers=headers,
                                  timeout=30)
            assert response.status_code == 200, response.text
        drive = wrk if use_wrk(args) else python_load
        return measured(server.pid,
                        lambda: drive(url, "/v1/predictions", "POST", body, headers, args))
    finally:
        server.terminate()
        server.wait(60)


def wait_for_workers(url: str, workers: int) -> None:
    """Until ``workers`` distinct worker processes have answered /readyz (at most 120 s)."""
    import time

    import httpx

    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while len(seen) < workers and time.monotonic() < deadline:
        seen.add(int(httpx.get(f"{url}/readyz", timeout=30).json()["worker_pid"]))
        time.sleep(0.05)


def report(name: str, result: Result) -> None:
    print(f"{name:<22} {result.per_second:7.1f} req/s   p50 {result.p50_ms:6.1f} ms   "
          f"p99 {result.p99_ms:6.1f} ms   errors {result.errors}   server CPU "
          f"{result.cpu_ms_per_request:.2f} ms/request", flush=True)


if __name__ == "__main__":
    main()
