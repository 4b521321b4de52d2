"""Page benchmark: time to get the rendered result page, against the JSON API in the same run.

Starts ``serve`` (uvicorn, one worker) like ``bench_serving.py``, signs in through the sign-in
form, then, one request at a time on one keep-alive connection (a clinician at a browser, not a
load test), times N submissions of the one-patient form (validation, model, SHAP explanation,
durable audit write, the result page with its SVG chart rendered) and N JSON predictions of the
same patient. Two patients: a complete one (nothing the model reads is blank: no stochastic
imputation is drawn) and the same patient with ESR blank (the page then states the range the
blank field leaves open, from 20 draws of the chained-equations imputer, and the field to
record). Also times the auditor's page of a stored prediction. Prints median and p95 and the
page/API ratio; asserts nothing. The target is a result page in under 200 ms on 2 cores.

    MLFLOW_TRACKING_URI=sqlite:///path/mlflow.db python benchmarks/bench_pages.py
    python benchmarks/bench_pages.py --train        # no store yet: train a quick one first
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_serving import environment  # noqa: E402
from served_model import start, train_model  # noqa: E402

from tests.factories import make_patient  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="ssc-bench-pages-") as tmp:
        workdir = Path(tmp)
        tracking = os.environ.get("MLFLOW_TRACKING_URI")
        if args.train or not tracking:
            tracking = train_model("quick", workdir)
        env = environment(args, tracking, workdir)
        keys = {role: create_key(env["SSC_DATABASE_URL"], role)
                for role in ("clinician", "auditor")}
        server, url = start(env, workdir, 1)
        try:
            measure(url, keys, args.n)
        finally:
            server.terminate()
            server.wait(30)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--model-uri", default="models:/ssc-skin-response@champion")
    parser.add_argument("--train", action="store_true", help="train a quick model first")
    return parser.parse_args()


def create_key(database_url: str, role: str) -> str:
    from ssc_response.serving.database import make_engine
    from ssc_response.serving.keys import KeyStore

    engine = make_engine(database_url)
    try:
        return KeyStore(engine).create(role, label="benchmark")[1]
    finally:
        engine.dispose()


def signed_in(url: str, key: str, home: str) -> tuple[httpx.Client, str]:
    """A client signed in through the form, and its session's CSRF token (from ``home``)."""
    client = httpx.Client(base_url=url, timeout=30)
    token = CSRF.search(client.get("/").text).group(1)  # type: ignore[union-attr]
    client.post("/sign-in", data={"api_key": key, "csrf_token": token})
    page = client.get(home)
    return client, CSRF.search(page.text).group(1)  # type: ignore[union-attr]


def form_data(record: dict[str, object]) -> dict[str, str]:
    def text(value: object) -> str:
        if value is None:
            return ""  # not recorded
        return ("yes" if value else "no") if isinstance(value, bool) else str(value)

    return {name: text(value) for name, value in record.items()}


def timed(call: Callable[[], httpx.Response], n: int) -> list[float]:
    for _ in range(10):  # warm-up
        call().raise_for_status()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return times


PATIENTS = {"complete": {}, "ESR blank": {"esr_mm_h": None}}


def measure(url: str, keys: dict[str, str], n: int) -> None:
    page_client, csrf = signed_in(url, keys["clinician"], "/patient")
    api = httpx.Client(base_url=url, timeout=30,
                       headers={"Authorization": f"Bearer {keys['clinician']}"})
    report("/healthz (the server's floor)", timed(lambda: api.get("/healthz"), n))
    for name, blanks in PATIENTS.items():
        patient = make_patient(**blanks)
        data = {**form_data(patient), "csrf_token": csrf}
        body = {"patients": [patient]}
        missing = api.post("/v1/predictions", json=body).json()["predictions"][0]["missing_data"]
        shown = 'id="missing-range"' in page_client.post("/patient", data=data).text
        print(f"{name} patient: API missing_data {'given' if missing else 'null'}; "
              f"page shows the range: {shown}")
        page = timed(lambda data=data: page_client.post("/patient", data=data), n)
        json_api = timed(lambda body=body: api.post("/v1/predictions", json=body), n)
        report(f"result page, {name} (POST /patient)", page)
        report(f"JSON API, {name} (POST /v1/predictions)", json_api)
        ratio = statistics.median(page) / statistics.median(json_api)
        print(f"result page / JSON API, {name}, median: {ratio:.2f}")
    body = {"patients": [make_patient()]}
    prediction_id = api.post("/v1/predictions", json=body).json()["predictions"][0]["prediction_id"]
    auditor, _ = signed_in(url, keys["auditor"], "/audit")
    entry = timed(lambda: auditor.get(f"/audit/predictions/{prediction_id}"), n)
    report("auditor's prediction page (GET)", entry)


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"{name:<48} n={len(times)}  median {statistics.median(times):6.1f} ms  "
          f"p95 {p95:6.1f} ms  max {ordered[-1]:6.1f} ms")


if __name__ == "__main__":
    main()
