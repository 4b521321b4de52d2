"""Batch scoring benchmark: ``predict --engine pandas`` (one process, chunks) against
``--engine spark`` (``local[2]``), same file, same model, same run.

Simulates N patients into a Parquet file (in blocks, outside the measurement), then runs each
engine as the real command in a subprocess and prints wall time, CPU time (user + system: less
sensitive to a shared machine's load), patients per second, the peak memory of the whole
process tree (the JVM and Spark's Python workers included; sampled every 0.2 s from /proc) and
the ratios; finally checks that the two outputs agree within the stated
tolerance (relative 1e-9). The simulator leaves fields blank as its cohorts do (a quarter of
patients without a biopsy, scattered laboratory blanks), so the run includes the missing-data
ranges and the refusals of patients with too little recorded; their shares are printed. Prints
figures; asserts nothing.

    MLFLOW_TRACKING_URI=sqlite:///path/mlflow.db python benchmarks/bench_batch.py --n 1000000
    python benchmarks/bench_batch.py --train --n 100000          # no store yet: train one first
    python benchmarks/bench_batch.py --model-uri models:/other@champion --engines pandas
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

BLOCK = 100_000


@dataclass
class Run:
    engine: str
    seconds: float
    peak_mb: float
    patients: int
    cpu_seconds: float  # user + system time of the command (its threads and waited children)

    @property
    def per_second(self) -> float:
        return self.patients / self.seconds


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="ssc-bench-batch-") as tmp:
        workdir = Path(tmp)
        env = environment(args, workdir)
        source = simulate(workdir / "patients.parquet", args.n)
        print(f"{args.n:,} simulated patients in {source.stat().st_size / 1e6:.0f} MB of Parquet; "
              f"model {args.model_uri}; cores: {os.cpu_count()}", flush=True)
        runs = [run_engine(engine, args, env, source, workdir) for engine in args.engines]
        report(runs)
        describe_rows(workdir / f"{runs[0].engine}.parquet")
        if len(runs) == 2:
            compare(workdir / "pandas.parquet", workdir / "spark.parquet")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="simulated patients")
    parser.add_argument("--model-uri", default="models:/ssc-skin-response@champion")
    parser.add_argument("--train", action="store_true", help="train a quick model first")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--engines", nargs="+", default=["pandas", "spark"],
                        choices=["pandas", "spark"])
    return parser.parse_args()


def environment(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    """The environment with the given MLflow store, or (``--train``, or none given) a store
    holding the quick experiment's champion trained here (``bench_serving``'s recipe)."""
    from served_model import model_environment, train_model

    tracking = os.environ.get("MLFLOW_TRACKING_URI")
    if args.train or not tracking:
        tracking = train_model("quick", workdir)
    return model_environment(tracking)


def simulate(path: Path, n: int) -> Path:
    """``n`` simulated patients' baseline columns, written block by block (unique IDs)."""
    from ssc_response.features.io import TableWriter
    from ssc_response.features.schema import baseline_fields
    from ssc_response.training.simulation import simulate_cohort

    with TableWriter(path) as writer:
        for block, start in enumerate(range(0, n, BLOCK)):
            cohort = simulate_cohort(min(BLOCK, n - start), 1000 + block)
            columns = ["patient_id", *[c for c in baseline_fields() if c in cohort]]
            writer.write(cohort[columns].assign(patient_id=[
                f"B{block:03d}-{i:06d}" for i in range(len(cohort))]))
    return path


def run_engine(engine: str, args: argparse.Namespace, env: dict[str, str], source: Path,
               workdir: Path) -> Run:
    command = [sys.executable, "-c", "from ssc_response.cli.main import app; app()", "predict",
               "--data", str(source), "--output", str(workdir / f"{engine}.parquet"),
               "--model", args.model_uri, "--engine", engine, "--chunk-rows",
               str(args.chunk_rows), "--spark-master", args.spark_master]
    started = time.perf_counter()
    cpu_before = _children_cpu()
    process = subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    peak = PeakMemory(process.pid)
    output = process.communicate()[0].decode(errors="replace")
    seconds = time.perf_counter() - started
    peak.stop()
    if process.returncode != 0:
        sys.exit(f"{engine} failed:\n{output}")
    print(f"  {engine}: {output.strip().splitlines()[-1]}", flush=True)
    return Run(engine, seconds, peak.mb, args.n, _children_cpu() - cpu_before)


def _children_cpu() -> float:
    """CPU seconds of this process's finished children: on a shared machine the wall time
    grows with the others' load, the CPU time much less."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PeakMemory:
    """The largest total resident memory of a process and its descendants, sampled."""

    def __init__(self, root: int) -> None:
        self.mb = 0.0
        self._root = root
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            self.mb = max(self.mb, tree_rss_mb(self._root))


def tree_rss_mb(root: int) -> float:
    """Resident memory (MB) of ``root`` and its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    page_mb = os.sysconf("SC_PAGE_SIZE") / 1e6
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents[int(entry.name)] = int(stat[1])
        rss[int(entry.name)] = pages * page_mb
    tree, changed = {root}, True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(rss.get(pid, 0.0) for pid in tree)


def report(runs: list[Run]) -> None:
    for run in runs:
        print(f"{run.engine:>6}: {run.seconds:7.1f} s wall   {run.cpu_seconds:7.1f} s CPU   "
              f"{run.per_second:9,.0f} patients/s   "
              f"peak memory {run.peak_mb:7,.0f} MB (process tree)")
    if len(runs) == 2:
        first, second = runs
        print(f"ratio {second.engine}/{first.engine}: throughput "
              f"{second.per_second / first.per_second:.2f}x, peak memory "
              f"{second.peak_mb / first.peak_mb:.2f}x")


def describe_rows(path: Path) -> None:
    """What the patients cost: how many had a blank field the model reads (each drew the
    stochastic imputations of its missing-data range) and how many were refused, and why."""
    import pandas as pd

    table = pd.read_parquet(path, columns=["missing_data", "refused"])
    refused = table["refused"].fillna("")
    ranged = (table["missing_data"].fillna("") != "") & (refused == "")
    needed = refused.str.contains("needed for a prediction", regex=False)
    print(f"rows: {len(table):,}; predicted with a missing-data range (a blank model field): "
          f"{ranged.mean():.1%}; predicted complete: {((~ranged) & (refused == '')).mean():.1%}; "
          f"refused: {(refused != '').mean():.1%} (not enough information {needed.mean():.1%}, "
          f"out of scope {((refused != '') & ~needed).mean():.1%})")


def compare(pandas_path: Path, spark_path: Path) -> None:
    """Row for row, within the stated tolerance (:mod:`models.tolerance`)."""
    import numpy as np
    import pandas as pd

    from ssc_response.models.tolerance import ABSOLUTE_FLOOR, RELATIVE_TOLERANCE

    first, second = pd.read_parquet(pandas_path), pd.read_parquet(spark_path)
    same_rows = len(first) == len(second) and (first["patient_id"] == second["patient_id"]).all()
    numbers = [c for c in first if first[c].dtype == float]
    a, b = first[numbers].to_numpy(), second[numbers].to_numpy()
    scale = np.maximum(np.abs(a), np.abs(b))
    within = np.abs(a - b) <= np.maximum(RELATIVE_TOLERANCE * scale, ABSOLUTE_FLOOR)
    texts = all((first[c].fillna("") == second[c].fillna("")).all()
                for c in first if c not in numbers)
    print(f"outputs agree (same rows and order, numbers within relative {RELATIVE_TOLERANCE:g}, "
          f"text equal): {bool(same_rows and within.all() and texts)}; largest absolute "
          f"difference {np.nanmax(np.abs(a - b)):.3g}")


if __name__ == "__main__":
    main()
