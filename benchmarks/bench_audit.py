"""Audit benchmark: ``AuditStore.append_many`` of one served batch, against a reference replica.

"Before" is a verbatim replica of the plain implementation (stdlib ``json.dumps`` per call,
SQLAlchemy Core for the transaction and statements); "after" is the store as it is now, which is
that implementation again since the direct-sqlite3 path and the reusable encoder were removed
(they saved ~0.36 ms per batch of 8, under 10 % of a served request). Both append
to the same temporary SQLite database (WAL, synchronous=FULL, so every batch is fsynced), in
alternating blocks so that disk and WAL-size drift affect both alike; the whole chain must verify at
the end, which shows that the two write the same format. Also timed: the canonical JSON and hash of
one entry, building a batch of ``AuditEntryIn``, and the floor no Python change can remove (sqlite3
alone inserting already-serialised rows and committing). Wall time is what a request waits for; CPU
time (this thread's) is what the GIL-bound service pays. Prints figures; asserts nothing else.

    python benchmarks/bench_audit.py
    MLFLOW_TRACKING_URI=sqlite:////tmp/bstore/mlflow.db python benchmarks/bench_audit.py \\
        --model-uri models:/ssc-skin-response@champion   # entries from the real model
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy import Connection, Engine, insert, select  # noqa: E402

from ssc_response.serving.audit import AuditEntryIn, AuditRecord, AuditStore, canonical_json  # noqa: E402
from ssc_response.serving.audit.hashing import GENESIS_HASH, HASHED_FIELDS, compute_entry_hash  # noqa: E402
from ssc_response.serving.database import (  # noqa: E402
    audit_predictions,
    make_engine,
    utc_now_iso,
    write_transaction,
)
from tests.factories import make_patient  # noqa: E402

BATCH = 8
AUDIT_LOCK_KEY = 0x5353_4341_5544_4954
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
            batches = compare_append_many(engine, entry, args.rounds, args.block)
            floor = time_calls(lambda: sqlite3_floor(floor_engine, entry), args.rounds * args.block)
            result = AuditStore(engine).verify()
        finally:
            engine.dispose()
            floor_engine.dispose()
    print(f"\nappend_many of {BATCH} entries, fsync included (median ms of "
          f"{args.rounds * args.block} batches each):")
    row("", "wall", "CPU")
    for name, (wall, cpu) in batches.items():
        row(name, statistics.median(wall), statistics.median(cpu))
    row("floor: sqlite3 alone, rows pre-serialised", statistics.median(floor[0]),
        statistics.median(floor[1]))
    print(f"chain written by both verifies: ok={result.ok}, entries={result.checked}")
    print_per_entry(entry)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="alternating blocks per variant")
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


# --- before: the previous implementation, verbatim ------------------------------------------------


def legacy_canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def legacy_compute_entry_hash(fields: Mapping[Any, Any]) -> str:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(legacy_canonical_json(payload).encode("utf-8")).hexdigest()


def legacy_append_many(engine: Engine, entries: Sequence[AuditEntryIn]) -> list[AuditRecord]:
    prepared = [legacy_prepare(entry) for entry in entries]
    with write_transaction(engine, AUDIT_LOCK_KEY) as conn:
        head_seq, head_hash = legacy_chain_head(conn)
        rows = legacy_chain(prepared, head_seq, head_hash)
        records = [AuditRecord.model_validate(row) for row in rows]
        conn.execute(insert(audit_predictions), rows)
    return records


def legacy_prepare(entry: AuditEntryIn) -> dict[str, Any]:
    return {
        "prediction_id": str(entry.prediction_id),
        "key_id": entry.key_id,
        "patient_id": entry.patient_id,
        "model_name": entry.model_name,
        "model_version": entry.model_version,
        "model_run_id": entry.model_run_id,
        "input_json": legacy_canonical_json(entry.input),
        "output_json": legacy_canonical_json(entry.output),
        "explanation_json": legacy_canonical_json(entry.explanation),
    }


def legacy_chain_head(conn: Connection) -> tuple[int, str]:
    columns = audit_predictions.c
    head = conn.execute(
        select(columns.seq, columns.entry_hash).order_by(columns.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if head is None else (head.seq, head.entry_hash)


def legacy_chain(prepared: Sequence[dict[str, Any]], head_seq: int,
                 head_hash: str) -> list[dict[str, Any]]:
    rows, prev_hash = [], head_hash
    for offset, fields in enumerate(prepared, start=1):
        row = {**fields, "seq": head_seq + offset, "created_at": utc_now_iso()}
        row["prev_hash"] = prev_hash
        row["entry_hash"] = prev_hash = legacy_compute_entry_hash(row)
        rows.append(row)
    return rows


# --- timing ---------------------------------------------------------------------------------------


def compare_append_many(engine: Engine, entry: Mapping[str, Any], rounds: int,
                        block: int) -> dict[str, Timing]:
    """Before and after on one database, alternating blocks of ``block`` batches after a warm-up."""
    store = AuditStore(engine)
    variants: dict[str, Callable[[list[AuditEntryIn]], object]] = {
        "before (json.dumps per call, SQLAlchemy Core)": lambda es: legacy_append_many(engine, es),
        "after  (AuditStore.append_many)": store.append_many,
    }
    timings: dict[str, Timing] = {name: ([], []) for name in variants}
    for round_ in range(rounds + 1):
        for name, append in variants.items():
            for _ in range(block):
                entries = make_entries(entry)  # fresh prediction_ids, built outside the timing
                wall, cpu = time_once(lambda: append(entries))  # noqa: B023 - called right here
                if round_:  # round 0 warms up caches, the pool and the WAL
                    timings[name][0].append(wall)
                    timings[name][1].append(cpu)
    return timings


def sqlite3_floor(engine: Engine, entry: Mapping[str, Any]) -> None:
    """What append_many cannot go below: the lock, the inserts and the fsync'd commit."""
    texts = [canonical_json(entry[name]) for name in ("input", "output", "explanation")]
    fairy = engine.raw_connection()
    try:
        connection = fairy.driver_connection
        connection.execute("BEGIN IMMEDIATE")
        head = connection.execute("SELECT max(seq) FROM audit_predictions").fetchone()[0] or 0
        rows = [(head + i, str(uuid4()), utc_now_iso(), "k", "p", "m", "1", "r", *texts,
                 "0" * 64, "0" * 64) for i in range(1, BATCH + 1)]
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
    """Per-entry costs, before and after, in microseconds (median wall; no I/O involved)."""
    values = [entry[name] for name in ("input", "output", "explanation")]
    stored = {"seq": 1, "prediction_id": str(uuid4()), "created_at": utc_now_iso(),
              "key_id": "k", "patient_id": "p", "model_name": "m", "model_version": "1",
              "model_run_id": None, "prev_hash": GENESIS_HASH,
              **dict(zip(("input_json", "output_json", "explanation_json"),
                         (canonical_json(value) for value in values), strict=True))}
    assert all(canonical_json(v) == legacy_canonical_json(v) for v in values)
    assert compute_entry_hash(stored) == legacy_compute_entry_hash(stored)
    fields = {"key_id": "0123456789abcdef", "patient_id": "SSC-0001",
              "model_name": "ssc-skin-response", "model_version": "1", "model_run_id": "run-1",
              "input": entry["input"], "output": entry["output"],
              "explanation": entry["explanation"]}
    pid = uuid4()
    cases = {
        "canonical JSON of one entry (3 values)": (
            lambda: [legacy_canonical_json(v) for v in values],
            lambda: [canonical_json(v) for v in values]),
        "entry_hash of one entry": (
            lambda: legacy_compute_entry_hash(stored), lambda: compute_entry_hash(stored)),
    }
    print("\nper-entry work (median us of 3000 calls):")
    row("", "before", "after")
    for name, (before, after) in cases.items():
        row(name, *(median_us(call) for call in (before, after)))
    # Unchanged, and shown to explain why: validation (pydantic-core) is cheaper than skipping it.
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
