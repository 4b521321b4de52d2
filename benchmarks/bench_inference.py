"""In-process cost of ``ResponseModel.predict`` for 1 and 1,000 patients, in total and by step.

Fits the bundle of each family of the ``quick`` experiment (or ``--experiment``, a name or a file)
on 200 simulated patients with ``training.experiment.fit_final`` (no validation, no MLflow), then
times ``predict`` on validated frames of simulated patients (with the cohort's missing values) and
each of its named steps on its own. Then, for a batch of API records (1 and 8, as the service
coalesces them), the service's path: validation (``serving.inference.validate_patients``) and
``predict``. Prints median and p99 in milliseconds; asserts nothing. Run from the repository root:

    .venv/bin/python benchmarks/bench_inference.py [--repeats 500] [--family logistic_l2]
    .venv/bin/python benchmarks/bench_inference.py --experiment default \
        --family random_forest --family gradient_boosting
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ssc_response.features import schema  # noqa: E402
from ssc_response.features.validation import validate_frame  # noqa: E402
from ssc_response.models.bundle import ResponseModel  # noqa: E402
from ssc_response.serving.inference import validate_patients  # noqa: E402
from ssc_response.training.config import load_experiment  # noqa: E402
from ssc_response.training.experiment import fit_final, prepare_cohort  # noqa: E402
from ssc_response.training.packaging import package  # noqa: E402
from ssc_response.training.simulation import simulate_cohort  # noqa: E402

TRAINING_PATIENTS, TRAINING_SEED, SCORING_SEED = 200, 7, 99
BATCHES = (1, 1000)
SERVED_BATCHES = (1, 8)  # one-patient requests coalesced by the service: typically 8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500, help="timed calls for 1 patient")
    parser.add_argument("--family", action="append",
                        help="family of the experiment (default: all of it)")
    parser.add_argument("--experiment", default="quick",
                        help="experiment (name or file) whose families are fitted (default: "
                        "quick; default has the tree families)")
    return parser.parse_args()


def fitted_models(families: list[str] | None, experiment: str) -> dict[str, ResponseModel]:
    """Each family's procedure (the experiment's search space for it alone), fitted and
    packaged as ``ssc-response train`` would serve it."""
    config = load_experiment(experiment)
    cohort = prepare_cohort(simulate_cohort(TRAINING_PATIENTS, TRAINING_SEED), config)
    chosen = families or list(config.estimators)
    models = {}
    for name in chosen:
        alone = config.model_copy(update={"estimators": {name: config.estimators[name]}})
        models[name] = package(fit_final(cohort, alone), cohort, alone, {})
    return models


def scoring_frame(n: int) -> pd.DataFrame:
    """Validated baseline records, as the service hands them to the model."""
    cohort = simulate_cohort(n, SCORING_SEED)
    baseline = [c for c in cohort.columns if c == "patient_id" or c in schema.baseline_fields()]
    return validate_frame(cohort[baseline])


def api_records(n: int) -> list[dict[str, Any]]:
    """Simulated baseline records as the API hands them over (plain values, None for gaps)."""
    frame = scoring_frame(n).astype(object)
    return [{k: None if pd.isna(v) else v for k, v in row.items()}
            for row in frame.to_dict("records")]


def timings(call: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """Median and p99 wall time of ``call`` and its mean CPU time, in ms, after a few warm-up
    calls. CPU time is the steadier figure on a shared machine."""
    for _ in range(min(5, repeats)):
        call()
    times = []
    cpu_start = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    cpu = (time.process_time() - cpu_start) * 1e3 / repeats
    return statistics.median(times), float(np.percentile(times, 99)), cpu


def stages(model: ResponseModel, records: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    """``predict`` and, one by one, its named steps (on the same records)."""
    with_indices, features = model.transform(records)
    logit = model.logit(features)
    return {
        "predict (total)": lambda: model.predict(records),
        "  transform (fitted feature pipeline)": lambda: model.transform(records),
        "  log-odds (recalibrated classifier)": lambda: model.logit(features),
        "  probability interval (bootstrap members)": lambda: model.probability_interval(
            features, logit),
        "  ΔmRSS (delta model, the same features)": lambda: model.delta_mrss(features),
        "  ΔmRSS interval (CV+ fold estimators)": lambda: model.delta_interval(
            features, with_indices),
        "  explanation": lambda: model.explanations(features, with_indices),
        "  warnings": lambda: model.warnings(records),
    }


def served_path(model: ResponseModel, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A batch of API records validated and predicted as the service does."""
    frame = validate_patients(records)
    return {
        "validate (data contract)": lambda: validate_patients(records),
        "predict": lambda: model.predict(frame),
        "both (the service's path)": lambda: model.predict(validate_patients(records)),
    }


def report(title: str, calls: dict[str, Callable[[], Any]], repeats: int) -> None:
    print(f"\n{title}, {repeats} calls (ms)".ljust(47) + "median       p99   CPU/call")
    for label, call in calls.items():
        median, p99, cpu = timings(call, repeats)
        print(f"  {label:42s} {median:9.3f} {p99:9.3f} {cpu:9.3f}")


def main() -> None:
    args = parse_args()
    models = fitted_models(args.family, args.experiment)
    frames = {n: scoring_frame(n) for n in BATCHES}
    served = {n: api_records(n) for n in SERVED_BATCHES}
    for name, model in models.items():
        model.warm()  # builds the explainer, as start-up does
        for n, records in frames.items():
            repeats = args.repeats if n == 1 else max(10, args.repeats // 20)
            report(f"{name}: {n} patient(s)", stages(model, records), repeats)
        for n, given in served.items():
            report(f"{name}: {n} API record(s)", served_path(model, given), args.repeats)


if __name__ == "__main__":
    main()
