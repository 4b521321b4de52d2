"""Wall times of the feature path on a large simulated cohort, step by step and end to end.

Run from the repository root: ``.venv/bin/python benchmarks/bench_features.py [n_patients]``.
Prints figures only (no thresholds): simulate, write CSV, read + validate, derived columns, the
preprocessor's fit_transform, and the whole ``ssc-response features`` command in a subprocess.
Everything is written to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ssc_response.features.derived_columns import add_derived_columns
from ssc_response.features.io import read_cohort, write_table
from ssc_response.features.pipeline import as_model_frame, build_preprocessor
from ssc_response.training.simulation import simulate_cohort

N_PATIENTS = 100_000
SEED = 2024
T = TypeVar("T")


def timed(label: str, n_rows: int, run: Callable[[], T]) -> T:
    """Run once, print seconds and rows per second, return the result."""
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:8.2f} s  {n_rows / seconds:>12,.0f} rows/s")
    return result


def cli_command() -> list[str]:
    """The installed ``ssc-response`` console script beside this interpreter, or its entry point."""
    script = Path(sys.executable).with_name("ssc-response")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ssc_response.cli.main import app; app()"]


def run_cli(data: Path, output: Path) -> None:
    command = [*cli_command(), "features", "--data", str(data), "--output", str(output)]
    subprocess.run(command, check=True, capture_output=True, text=True)


def main(n: int = N_PATIENTS) -> None:
    print(f"feature path, {n:,} simulated patients")
    with tempfile.TemporaryDirectory() as folder:
        data, output = Path(folder) / "in.csv", Path(folder) / "out.csv"
        simulated = timed("simulate_cohort", n, lambda: simulate_cohort(n, SEED))
        timed("write_table (CSV)", n, lambda: write_table(simulated, data))
        cohort = timed("read_cohort (read + validate)", n, lambda: read_cohort(data))
        timed("add_derived_columns", n, lambda: add_derived_columns(cohort))
        X = as_model_frame(cohort)
        preprocessor = build_preprocessor("both")
        timed('build_preprocessor("both").fit_transform', n, lambda: preprocessor.fit_transform(X))
        timed("ssc-response features (subprocess)", n, lambda: run_cli(data, output))
        sizes = [path.stat().st_size / 1e6 for path in (data, output)]
        print(f"CSV in {sizes[0]:.1f} MB, out {sizes[1]:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_PATIENTS)
