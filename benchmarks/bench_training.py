"""Time an experiment (default: the default experiment) on 200 simulated patients, end to end.

Run from the repository root: ``.venv/bin/python benchmarks/bench_training.py [--n 200]
[--experiment default]``. Trains into a throwaway MLflow store. Prints the total wall and CPU
time (this process and its joblib workers) and a per-stage breakdown taken from the runner's
progress ticks: validation (one tick per outer fold or bootstrap resample, each running the whole
procedure), the final procedure on every patient, the probability interval's bootstrap refits
(one tick each), then the rest (reports, model logging with its parity check, registry). Wall
time on a shared machine depends on what else runs; CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class StageClock:
    """Attributes the time since the previous tick to the stage named by each tick."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.seconds: dict[str, float] = defaultdict(float)
        self.fits: dict[str, int] = defaultdict(int)

    def __call__(self, label: str) -> None:
        now = time.perf_counter()
        self.seconds[label] += now - self.last
        self.fits[label] += 1
        self.last = now


def cpu_seconds() -> float:
    """CPU time of this process and of its children: joblib's loky workers are stopped first,
    as a child's time counts only once it has exited."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="simulated patients")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--experiment", default="default",
                        help="built-in experiment name or YAML path")
    return parser.parse_args()


def report(clock: StageClock, wall: float, cpu: float, summary: object) -> None:
    print(f"champion: {summary.champion}")  # type: ignore[attr-defined]
    print(f"validation: {summary.validation_text}")  # type: ignore[attr-defined]
    metrics = summary.metrics  # type: ignore[attr-defined]
    print(f"auroc_corrected {metrics['auroc_corrected']:.3f}  "
          f"calibration_slope_corrected {metrics['calibration_slope_corrected']:.2f}")
    print(f"{'stage':<40} {'ticks':>6} {'seconds':>9}")
    for stage, seconds in clock.seconds.items():
        print(f"{stage:<40} {clock.fits[stage]:>6} {seconds:>9.1f}")
    rest = wall - sum(clock.seconds.values())
    print(f"{'reports, logging, parity, registry':<40} {'':>6} {rest:>9.1f}")
    print(f"{'TOTAL wall':<40} {'':>6} {wall:>9.1f}")
    print(f"{'TOTAL CPU (all threads)':<40} {'':>6} {cpu:>9.1f}")


def main() -> None:
    args = arguments()
    sys.path.insert(0, str(REPO))
    from ssc_response.features.io import write_table
    from ssc_response.training.run import run_experiment
    from ssc_response.training.simulation import simulate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        data = Path(tmp) / "cohort.csv"
        write_table(simulate_cohort(args.n, args.seed), data)
        clock = StageClock()
        cpu_start = cpu_seconds()
        summary = run_experiment(args.experiment, data, tick=clock)
        wall, cpu = time.perf_counter() - clock.started, cpu_seconds() - cpu_start
    print(f"{args.experiment} on {args.n} simulated patients, {os.cpu_count()} CPUs")
    report(clock, wall, cpu, summary)


if __name__ == "__main__":
    main()
