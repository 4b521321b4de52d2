"""In-process cost of ``ResponseModel.predict`` for 1 and 1,000 patients, in total and by stage.

Fits the bundle of each family of ``experiments/quick.yaml`` (or ``--experiment``) on 200
simulated patients with ``training.experiment.fit_final`` (no validation, no MLflow), then times
``predict`` on validated frames of simulated patients (with the cohort's missing values) and each
stage of it on its own.
Then, for a batch of API records (1 and 8, as the service coalesces them), validation plus
``predict`` both ways in the same run: the typed frame (``validate_records``) and the arrays the
service uses (``validate_record_columns``). Prints median and p99 in milliseconds; asserts
nothing. Stages call the bundle's private parts (the compiled twins) the way ``predict`` does.
Run from the repository root:

    .venv/bin/python benchmarks/bench_inference.py [--repeats 500] [--family logistic_l2]
    .venv/bin/python benchmarks/bench_inference.py --experiment experiments/default.yaml \
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

from features import schema  # noqa: E402
from features.validation import (  # noqa: E402
    validate_frame,
    validate_record_columns,
    validate_records,
)
from models.bundle import ResponseModel, _probability  # noqa: E402
from training.config import load_experiment  # noqa: E402
from training.experiment import fit_final, prepare_cohort  # noqa: E402
from training.simulation import simulate_cohort  # noqa: E402

TRAINING_PATIENTS, TRAINING_SEED, SCORING_SEED = 200, 7, 99
BATCHES = (1, 1000)
SERVED_BATCHES = (1, 8)  # one-patient requests coalesced by the service: typically 8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500, help="timed calls for 1 patient")
    parser.add_argument("--family", action="append",
                        help="family of the experiment (default: all of it)")
    parser.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "quick.yaml",
                        help="experiment config whose families are fitted (default: quick.yaml; "
                        "experiments/default.yaml has the tree families)")
    return parser.parse_args()


def fitted_models(families: list[str] | None, experiment: Path) -> dict[str, ResponseModel]:
    config = load_experiment(experiment)
    cohort = prepare_cohort(simulate_cohort(TRAINING_PATIENTS, TRAINING_SEED), config)
    chosen = families or list(config.estimators)
    return {name: fit_final(cohort, config, name, metadata={}) for name in chosen}


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


def timings(call: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median and p99 wall time of ``call`` in ms, after a few warm-up calls."""
    for _ in range(min(5, repeats)):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), float(np.percentile(times, 99))


def stages(model: ResponseModel, records: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    """``predict`` and, one by one, what it spends its time on (on the same records)."""
    inputs = model._compiled.inputs(records)
    features = model._features(inputs)
    matrix, with_indices = features.to_numpy(), model._compiled.frame(inputs)
    shown = {name: inputs.column(name) for name in model._shown_fields}
    estimator = model.classifier.named_steps["estimator"]
    members_input = matrix if model._ensemble_reads_arrays else features
    preprocess = model.classifier.named_steps["preprocess"]
    return {
        "predict (total)": lambda: model.predict(records),
        "  read records + derived indices": lambda: model._compiled.inputs(records),
        "  encode features (framed)": lambda: model._features(inputs),
        "  classifier probability": lambda: _probability(estimator, features),
        "  bootstrap interval": lambda: model.probability_ensemble.interval(members_input),
        "  ΔmRSS regressor": lambda: model._delta.predict(inputs, matrix),
        "  explanation (as served: arrays, dicts)": lambda: model.explainer.explain_dicts(
            matrix, shown),
        "  explanation (frames, objects)": lambda: model.explainer.explain(features,
                                                                           with_indices),
        "  warnings": lambda: model._checks.messages(inputs),
        "sklearn preprocessor (for reference)": lambda: preprocess.transform(
            records.reindex(columns=schema.baseline_fields())),
    }


def served_paths(model: ResponseModel, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A batch of API records validated and predicted both ways: typed frame, then arrays."""
    frame, arrays = validate_records(records), validate_record_columns(records)
    return {
        "frame: validate_records": lambda: validate_records(records),
        "frame: predict": lambda: model.predict(frame),
        "frame: both": lambda: model.predict(validate_records(records)),
        "arrays: validate_record_columns": lambda: validate_record_columns(records),
        "arrays: predict": lambda: model.predict(arrays),
        "arrays: both (the service's path)": lambda: model.predict(
            validate_record_columns(records)),
    }


def report(title: str, calls: dict[str, Callable[[], Any]], repeats: int) -> None:
    print(f"\n{title}, {repeats} calls (ms)".ljust(45) + "median      p99")
    for label, call in calls.items():
        median, p99 = timings(call, repeats)
        print(f"  {label:40s} {median:9.3f} {p99:9.3f}")


def main() -> None:
    args = parse_args()
    models = fitted_models(args.family, args.experiment)
    frames = {n: scoring_frame(n) for n in BATCHES}
    served = {n: api_records(n) for n in SERVED_BATCHES}
    for name, model in models.items():
        model.warm()  # builds the explainer and the compiled twins, as start-up does
        for n, records in frames.items():
            repeats = args.repeats if n == 1 else max(10, args.repeats // 20)
            report(f"{name}: {n} patient(s)", stages(model, records), repeats)
        for n, given in served.items():
            report(f"{name}: {n} API record(s), frame vs arrays", served_paths(model, given),
                   args.repeats)


if __name__ == "__main__":
    main()
