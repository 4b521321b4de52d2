"""Serving benchmark: one-patient predictions vs /healthz and vs ``mlflow models serve``, same run.

For each model: starts ``serve`` (uvicorn, one worker) on a free loopback port against its
MLflow store and a temporary SQLite database, then drives each endpoint for a fixed time at a
fixed number of concurrent connections (wrk with a Lua script when installed, else a bounded
httpx thread pool). Then stops it and starts ``mlflow models serve`` (one worker, the local
environment) on the same registered model and drives its ``/invocations`` with the same
one-patient record. Prints throughput of each, the ratios, prediction latency percentiles, and
how the server coalesced the predictions (requests per batch, batch time, queue wait; every
batch is one model call and one durable audit commit, fsync included). Prints figures; asserts
nothing.

``--train`` (or no ``MLFLOW_TRACKING_URI``) trains the models first, each in its own store: the
default experiment's champion (``experiments/default.yaml`` on ``ssc-response simulate --n 200
--seed 5``: a logistic champion, L2 with C = 0.01) and the quick experiment's
(``experiments/quick.yaml`` on the tests' 150 simulated patients, seed 11: a ΔmRSS-model
champion).

    python benchmarks/bench_serving.py --train      # both experiments (about five minutes)
    python benchmarks/bench_serving.py --train --experiment default
    MLFLOW_TRACKING_URI=sqlite:///demo/mlflow.db python benchmarks/bench_serving.py  # a store
    python benchmarks/bench_serving.py --train --profile    # plus where a batch's time goes
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
sys.path.insert(0, str(ROOT / "benchmarks"))

from load_driver import Result, measured, python_load, wrk  # noqa: E402
from served_model import (  # noqa: E402
    RECIPES,
    clinician_key,
    model_environment,
    start,
    start_mlflow,
    train_model,
)

from tests.factories import make_patient  # noqa: E402


def main() -> None:
    args = parse_args()
    stores = models_to_measure(args)
    ratios = {}
    for name, tracking in stores.items():
        with tempfile.TemporaryDirectory(prefix="ssc-bench-") as tmp:
            print(f"\n=== {name} ===", flush=True)
            ratios[name] = measure_model(args, tracking(Path(tmp)), Path(tmp))
    if not args.no_mlflow:
        print("\n" + "; ".join(f"{name}: {ratio:.1f}x" for name, ratio in ratios.items())
              + " mlflow models serve (target: >= 12x each)")


def measure_model(args: argparse.Namespace, tracking: str, workdir: Path) -> float:
    """One model's figures; its ratio to ``mlflow models serve`` (NaN with --no-mlflow)."""
    env = environment(args, tracking, workdir)
    token = clinician_key(env["SSC_DATABASE_URL"])
    server, url = start(env, workdir, args.workers)
    try:
        _, predict = run(args, url, token, server.pid)
    finally:
        server.terminate()
        server.wait(30)
    ratio = float("nan")
    if not args.no_mlflow:
        ratio = compare_with_mlflow(args, env, workdir, predict)
    if args.profile:
        profile(env, args.connections)
    return ratio


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--model-uri", default="models:/ssc-skin-response@champion")
    parser.add_argument("--train", action="store_true",
                        help="train the experiments' models first (each in its own store)")
    parser.add_argument("--experiment", action="append", choices=sorted(RECIPES),
                        help="with --train: which models (default: all of them)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--profile", action="store_true",
                        help="time the stages of a batch (of --connections requests)")
    parser.add_argument("--no-wrk", action="store_true", help="use the httpx load generator")
    parser.add_argument("--no-mlflow", action="store_true",
                        help="skip the comparison with `mlflow models serve`")
    return parser.parse_args()


def models_to_measure(args: argparse.Namespace) -> dict[str, Any]:
    """Name -> a function of a work folder giving the MLflow store to serve from: the given
    ``MLFLOW_TRACKING_URI``, or (``--train``, or none given) each experiment's trained model."""
    tracking = os.environ.get("MLFLOW_TRACKING_URI")
    if tracking and not args.train:
        return {f"the model of {tracking}": lambda _workdir: tracking}
    names = args.experiment or sorted(RECIPES)
    return {name: lambda workdir, name=name: train_model(name, workdir) for name in names}


def environment(args: argparse.Namespace, tracking: str, workdir: Path) -> dict[str, str]:
    """Server environment: the model's store and URI, and a fresh database."""
    return {**model_environment(tracking), "SSC_MODEL_URI": args.model_uri,
            "SSC_DATABASE_URL": f"sqlite:///{workdir / 'service.db'}"}


def run(args: argparse.Namespace, url: str, token: str, server_pid: int) -> tuple[Result, Result]:
    body = json.dumps({"patients": [make_patient()]})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as client:  # warm-up (first-request costs)
        for _ in range(20):
            assert client.post("/v1/predictions", content=body, headers=headers).status_code == 200
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    drive = wrk if use_wrk else python_load
    print(f"load generator: {'wrk' if use_wrk else 'httpx threads'}; {args.workers} worker(s); "
          f"{args.connections} connections, {args.duration:g} s per endpoint; cores: "
          f"{os.cpu_count()} (shared by server and load generator)")
    health = measured(server_pid, lambda: drive(url, "/healthz", "GET", None, {}, args))
    before = batch_metrics(url)
    predict = measured(server_pid,
                       lambda: drive(url, "/v1/predictions", "POST", body, headers, args))
    report(health, predict)
    report_batching(before, batch_metrics(url), args.workers)
    return health, predict


def compare_with_mlflow(args: argparse.Namespace, env: dict[str, str], workdir: Path,
                        ours: Result) -> float:
    """The same one-patient record through MLflow's own scoring server, and the ratio."""
    server, url = start_mlflow(env, workdir)
    body = json.dumps({"dataframe_records": [make_patient()]})
    headers = {"Content-Type": "application/json"}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(5):
                response = client.post("/invocations", content=body, headers=headers)
                assert response.status_code == 200, response.text
        drive = python_load if args.no_wrk or shutil.which("wrk") is None else wrk
        theirs = measured(server.pid,
                          lambda: drive(url, "/invocations", "POST", body, headers, args))
    finally:
        server.terminate()
        server.wait(30)
    print(f"mlflow models serve {theirs.per_second:7.1f} req/s   p50 {theirs.p50_ms:7.2f} ms"
          f"   p99 {theirs.p99_ms:7.2f} ms   errors {theirs.errors}")
    ratio = ours.per_second / theirs.per_second
    print(f"ratio predictions / mlflow models serve: {ratio:.1f}x   (target: >= 12x)")
    return ratio


def report(health: Result, predict: Result) -> None:
    print(f"/healthz          {health.per_second:9.1f} req/s   p50 {health.p50_ms:7.2f} ms"
          f"   p99 {health.p99_ms:7.2f} ms   errors {health.errors}")
    print(f"/v1/predictions   {predict.per_second:9.1f} req/s   p50 {predict.p50_ms:7.2f} ms"
          f"   p99 {predict.p99_ms:7.2f} ms   errors {predict.errors}")
    print(f"ratio predictions/healthz: {predict.per_second / health.per_second:.3f}")
    print(f"server CPU per request: /healthz {health.cpu_ms_per_request:.3f} ms, "
          f"/v1/predictions {predict.cpu_ms_per_request:.3f} ms "
          f"(ratio {health.cpu_ms_per_request / predict.cpu_ms_per_request:.3f}; "
          "less noisy than throughput on a shared machine)")


def batch_metrics(url: str) -> dict[str, float]:
    """The ``_sum``/``_count`` of the server's request-coalescing histograms."""
    values: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("ssc_batch_") and name.endswith(("_sum", "_count")):
            values[name] = float(value)
    return values


def report_batching(before: dict[str, float], after: dict[str, float], workers: int) -> None:
    """Means over the prediction run: requests and patients per batch, queue wait, batch time."""
    def mean(metric: str) -> float:
        count = after.get(f"{metric}_count", 0.0) - before.get(f"{metric}_count", 0.0)
        total = after.get(f"{metric}_sum", 0.0) - before.get(f"{metric}_sum", 0.0)
        return total / count if count else float("nan")

    count = "ssc_batch_requests_count"
    batches = after.get(count, 0.0) - before.get(count, 0.0)
    scope = "" if workers == 1 else " (one worker's metrics)"
    print(f"batches{scope}: {batches:.0f}; per batch {mean('ssc_batch_requests'):.2f} requests, "
          f"{mean('ssc_batch_patients'):.2f} patients, "
          f"{mean('ssc_batch_duration_seconds') * 1e3:.2f} ms (validate + model + audit commit); "
          f"queue wait {mean('ssc_batch_queue_wait_seconds') * 1e3:.2f} ms")


def profile(env: dict[str, str], batch: int, count: int = 60) -> None:
    """Median time of each stage of a batch of one-patient requests, in process, then a cProfile."""
    import cProfile
    import pstats

    os.environ["MLFLOW_TRACKING_URI"] = env["MLFLOW_TRACKING_URI"]
    stages, run_once = _stages(env, batch)
    for _ in range(count):
        run_once()
    print(f"\nstages of a batch of {batch} one-patient requests (median of {count - 10}, ms):")
    for name, times in stages.items():
        print(f"  {name:46s} {statistics.median(times[10:]):8.2f}")
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [run_once() for _ in range(20)])
    print("\ncProfile of 20 batches (cumulative, top 25):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _stages(env: dict[str, str], batch: int) -> tuple[dict[str, list[float]], Any]:
    """A timed replica of the route's work for ``batch`` coalesced requests, stage by stage.

    The stages are timed separately, then the service's batch step as the batcher runs it (which
    does them all once more, so its total is comparable with their sum).
    """
    from datetime import UTC, datetime

    from ssc_response.models.registry import load_served_model
    from ssc_response.serving import inference
    from ssc_response.serving.audit import AuditEntryIn, AuditStore
    from ssc_response.serving.coalescing import Pending, Staged
    from ssc_response.serving.database import make_engine
    from ssc_response.serving.keys import ApiKey, Role
    from ssc_response.serving.prediction_service import PredictionService
    from ssc_response.serving.prometheus import ServiceMetrics
    from ssc_response.serving.schemas import prediction_request_model

    served = load_served_model(env["SSC_MODEL_URI"])
    served.model.explainer  # noqa: B018 - built once, as the service does at start-up
    audit = AuditStore(make_engine(env["SSC_DATABASE_URL"]))
    key = ApiKey(key_id="bench", role=Role.CLINICIAN, label=None, created_at=datetime.now(UTC),
                 revoked_at=None)
    request_model = prediction_request_model(1000)
    service = PredictionService(audit, ServiceMetrics(), max_patients=1000, linger_seconds=0)
    body = json.dumps({"patients": [make_patient()]})
    stages: dict[str, list[float]] = {}

    def timed(name: str, call: Any) -> Any:
        start = time.perf_counter()
        result = call()
        stages.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
        return result

    def run_once() -> None:
        parsed: Any = timed("JSON + envelope, per request (serving)",
                            lambda: request_model.model_validate_json(body))
        records = [patient.root for patient in parsed.patients]
        validated = timed(f"validate_requests, {batch} requests (features)",
                          lambda: inference.validate_requests([records] * batch))
        outputs = timed("predict_records, one model call (models)",
                        lambda: inference.predict_records(served, validated.records))
        entries = [AuditEntryIn(model_name="bench", model_version="0", input=records[0],
                                output={k: v for k, v in out.items() if k != "explanation"},
                                explanation=out["explanation"]) for out in outputs]
        timed("audit append_many + fsync, one call (serving)",
              lambda: audit.append_many(entries))
        pending = [Pending(records, key, served) for _ in range(batch)]
        timed("answer_batch total (the prediction service)",
              lambda: _finished(service.answer_batch(served, pending)))

    def _finished(result: Any) -> Any:
        """The outcomes, the staged step (the audit commit) run here as the committer would."""
        return result.finish() if isinstance(result, Staged) else result

    return stages, run_once


if __name__ == "__main__":
    main()
