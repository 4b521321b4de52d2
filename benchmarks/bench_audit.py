"""Audit benchmark: ``AuditStore.append_many`` of one served batch, and the floor below it.

Appends to a temporary SQLite database (WAL, synchronous=FULL, so every batch is fsynced); the
chain must verify at the end. Also timed: the canonical JSON and hash of one entry, building a
batch of ``AuditEntryIn``, and the floor no Python change can remove (sqlite3 alone inserting
already-serialised rows and committing). Wall time is what a request waits for; CPU time (this
thread's) is what the GIL-bound service pays. Prints figures; asserts nothing else.

    python benchmarks/bench_audit.py
    MLFLOW_TRACKING_URI=sqlite:////tmp/bstore/mlflow.db python benchmarks/bench_audit.py \\
        --model-uri models:/ssc-skin-response@champion   # entries from the real model
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import Engine  # noqa: E402

from ssc_response.serving.audit import AuditEntryIn, AuditStore, canonical_json  # noqa: E402
from ssc_response.serving.audit.hashing import GENESIS_HASH, compute_entry_hash  # noqa: E402
from ssc_response.serving.database import make_engine, utc_now_iso  # noqa: E402
from tests.factories import make_patient  # noqa: E402

BATCH = 8
UNITS = ("", "points", "grade", "%", "months", "g/L", "% predicted", "mm")

Timing = tuple[list[float], list[float]]  # (wall ms, CPU ms) per call


def main() -> None:
    args = parse_args()
    entry = real_entry(args.model_uri) if args.model_uri else synthetic_entry()
    sizes = {name: len(canonical_json(entry[name])) for name in ("input", "output", "explanation")}
    print(f"entry: {'model ' + args.model_uri if args.model_uri else 'synthetic'}, "
          f"canonical JSON bytes {sizes}, batch of {BATCH}")
    with tempfile.TemporaryDirectory(prefix="ssc-bench-audit-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'audit.db'}")
        floor_engine = make_engine(f"sqlite:///{Path(tmp) / 'floor.db'}")
        try:
            store = AuditStore(engine)
            batches = time_append_many(store, entry, args.rounds * args.block)
            floor = time_calls(lambda: sqlite3_floor(floor_engine, entry), args.rounds * args.block)
            result = store.verify()
        finally:
            engine.dispose()
            floor_engine.dispose()
    print(f"\nappend_many of {BATCH} entries, fsync included (median ms of "
          f"{args.rounds * args.block} batches):")
    row("", "wall", "CPU")
    row("AuditStore.append_many", statistics.median(batches[0]), statistics.median(batches[1]))
    row("floor: sqlite3 alone, rows pre-serialised", statistics.median(floor[0]),
        statistics.median(floor[1]))
    print(f"chain verifies: ok={result.ok}, entries={result.checked}")
    print_per_entry(entry)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="blocks of batches to time")
    parser.add_argument("--block", type=int, default=20, help="batches per block")
    parser.add_argument("--model-uri", help="take the entry from this model (needs MLflow store)")
    return parser.parse_args()


# --- entries --------------------------------------------------------------------------------------


def synthetic_entry(seed: int = 7) -> dict[str, Any]:
    """An entry shaped like the service's: the patient record, the answer, a SHAP explanation."""
    rng = random.Random(seed)
    record = make_patient()
    interval = {"estimate": rng.random(), "lower": rng.random() / 2,
                "upper": 0.5 + rng.random() / 2}
    output = {
        "patient_id": record["patient_id"],
        "model": {"name": "ssc-skin-response", "version": "1", "run_id": uuid4().hex},
        "probability_response": {**interval, "level": 0.95, "unit": "probability"},
        "predicted_delta_mrss": {"estimate": rng.gauss(-7, 3), "lower": rng.gauss(-16, 3),
                                 "upper": rng.gauss(1.6, 1), "level": 0.9, "unit": "points"},
        "indices": {"mrss_total": 22.0, "escsg_activity_index": 4.0, "escsg_active": True,
                    "eustar_activity_index": 5.5, "eustar_active": True,
                    "acr_eular_2013_score": 22.0, "hypocomplementemia": False},
        "warnings": [f"{name} = {record[name]} is outside the training range 0.49-2.33; the "
                     "prediction extrapolates" for name in list(record)[-5:]],
    }
    features = [name for name in record if name != "patient_id"][:59]
    contributions = [
        {"feature": name,
         "value": record[name] if isinstance(record[name], str) else float(record[name]),
         "unit": rng.choice(UNITS),
         # SHAP values span many magnitudes; some print in exponent form (e.g. 7.4e-32).
         "contribution": rng.gauss(0, 0.15) * 10 ** -rng.choice((0, 0, 0, 1, 2, 3, 30))}
        for name in features
    ]
    explanation = {"base_value": rng.random(), "output_space": "logit",
                   "output_value": rng.gauss(0, 1), "contributions": contributions}
    return {"input": record, "output": output, "explanation": explanation}


def real_entry(model_uri: str) -> dict[str, Any]:
    """The entry the service records for ``make_patient()`` with the model at ``model_uri``."""
    from ssc_response.models.registry import load_served_model
    from ssc_response.serving import inference

    served = load_served_model(model_uri)
    record = make_patient()
    output = inference.predict(served, [inference.validate_patients([record])])[0][0]
    ref = served.ref
    answer = {"patient_id": output["patient_id"],
              "model": {"name": ref.name, "version": ref.version, "run_id": ref.run_id},
              **{k: output[k] for k in ("probability_response", "predicted_delta_mrss",
                                        "indices", "warnings")}}
    return {"input": record, "output": answer, "explanation": output["explanation"]}


def make_entries(entry: Mapping[str, Any]) -> list[AuditEntryIn]:
    """A batch as ``serving/routers/predictions.py`` builds it: one validated model per entry."""
    return [
        AuditEntryIn(prediction_id=uuid4(), key_id="0123456789abcdef", patient_id="SSC-0001",
                     model_name="ssc-skin-response", model_version="1", model_run_id="run-1",
                     input=entry["input"], output=entry["output"],
                     explanation=entry["explanation"])
        for _ in range(BATCH)
    ]


# --- timing ---------------------------------------------------------------------------------------


def time_append_many(store: AuditStore, entry: Mapping[str, Any], count: int) -> Timing:
    """``count`` timed batches after ten untimed ones (caches, the pool and the WAL warm up)."""
    walls: list[float] = []
    cpus: list[float] = []
    for done in range(count + 10):
        entries = make_entries(entry)  # fresh prediction_ids, built outside the timing
        wall, cpu = time_once(lambda: store.append_many(entries))  # noqa: B023 - called here
        if done >= 10:
            walls.append(wall)
            cpus.append(cpu)
    return walls, cpus


def sqlite3_floor(engine: Engine, entry: Mapping[str, Any]) -> None:
    """What append_many cannot go below: the lock, the inserts and the fsync'd commit."""
    texts = [canonical_json(entry[name]) for name in ("input", "output", "explanation")]
    fairy = engine.raw_connection()
    try:
        connection = fairy.driver_connection
        connection.execute("BEGIN IMMEDIATE")
        head = connection.execute("SELECT max(seq) FROM audit_predictions").fetchone()[0] or 0
        rows = [(head + i, str(uuid4()), utc_now_iso(), "k", "p", "m", "1", "r", *texts,
                 uuid4().hex * 2, uuid4().hex * 2) for i in range(1, BATCH + 1)]
        connection.executemany(
            f"INSERT INTO audit_predictions VALUES ({', '.join('?' * len(rows[0]))})", rows
        )
        connection.commit()
    finally:
        fairy.close()


def time_once(call: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, this thread's CPU ms) of one call."""
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return (time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3


def time_calls(call: Callable[[], object], count: int) -> Timing:
    """``count`` timed calls after ten untimed ones."""
    for _ in range(10):
        call()
    walls, cpus = zip(*(time_once(call) for _ in range(count)), strict=True)
    return list(walls), list(cpus)


def print_per_entry(entry: Mapping[str, Any]) -> None:
    """Per-entry costs in microseconds (median wall; no I/O involved)."""
    values = [entry[name] for name in ("input", "output", "explanation")]
    stored = {"seq": 1, "prediction_id": str(uuid4()), "created_at": utc_now_iso(),
              "key_id": "k", "patient_id": "p", "model_name": "m", "model_version": "1",
              "model_run_id": None, "prev_hash": GENESIS_HASH,
              **dict(zip(("input_json", "output_json", "explanation_json"),
                         (canonical_json(value) for value in values), strict=True))}
    fields = {"key_id": "0123456789abcdef", "patient_id": "SSC-0001",
              "model_name": "ssc-skin-response", "model_version": "1", "model_run_id": "run-1",
              "input": entry["input"], "output": entry["output"],
              "explanation": entry["explanation"]}
    pid = uuid4()
    print("\nper-entry work (median us of 3000 calls):")
    row("canonical JSON of one entry (3 values)",
        median_us(lambda: [canonical_json(v) for v in values]))
    row("entry_hash of one entry", median_us(lambda: compute_entry_hash(stored)))
    # Shown to explain why the service validates: pydantic-core is cheaper than skipping it.
    print(f"\nbuilding {BATCH} AuditEntryIn (median us of 3000 calls):")
    row("validated: AuditEntryIn(...), as the service does",
        median_us(lambda: [AuditEntryIn(prediction_id=pid, **fields) for _ in range(BATCH)]))
    row("unvalidated: AuditEntryIn.model_construct(...)",
        median_us(lambda: [AuditEntryIn.model_construct(prediction_id=pid, **fields)
                           for _ in range(BATCH)]))


def median_us(call: Callable[[], object]) -> float:
    return statistics.median(time_calls(call, 3000)[0]) * 1e3


def row(name: str, *figures: float | str) -> None:
    cells = "".join(f"{f:>10.3f}" if isinstance(f, float) else f"{f:>10}" for f in figures)
    print(f"  {name:52s}{cells}")


if __name__ == "__main__":
    main()
