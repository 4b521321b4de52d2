"""Median times of the validation paths: one API record, API batches, a large CSV-like cohort.

Run from the repository root: ``.venv/bin/python benchmarks/bench_validation.py``.
Prints figures only (no thresholds): the service's budget for a whole one-patient prediction is
p99 < 30 ms, so validating one record should cost a millisecond or two.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.factories

from ssc_response.features.validation import validate_frame, validate_record, validate_records  # noqa: E402
from tests.factories import make_followup, make_patient  # noqa: E402


def median_ms(run: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls, in milliseconds (after one warm-up call)."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def complete_record(patient_id: str = "SSC-0001") -> dict[str, object]:
    """Every field of the data dictionary, valid, as the API would receive it."""
    return {**make_patient(patient_id=patient_id), **make_followup()}


def csv_like_cohort(n_rows: int) -> pd.DataFrame:
    """``n_rows`` complete records with every value as text, as ``read_table`` gives a CSV."""
    one = pd.DataFrame([complete_record()]).astype(str)
    cohort = one.iloc[np.zeros(n_rows, dtype=int)].reset_index(drop=True)
    return cohort.assign(patient_id=[f"P{i}" for i in range(n_rows)])


def main() -> None:
    record = complete_record()
    batch = [complete_record(f"P{i}") for i in range(1000)]
    cohort = csv_like_cohort(100_000)
    cases: list[tuple[str, Callable[[], object], int]] = [
        ("validate_record, 1 complete record", lambda: validate_record(record), 200),
        ("validate_records, 1 record", lambda: validate_records(batch[:1]), 200),
        ("validate_records, 1,000 records", lambda: validate_records(batch), 20),
        ("validate_frame, 100,000 rows of text", lambda: validate_frame(cohort), 5),
    ]
    for label, run, repeat in cases:
        print(f"{label:<40} {median_ms(run, repeat):9.2f} ms  (median of {repeat})")


if __name__ == "__main__":
    main()
