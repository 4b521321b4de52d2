"""The installed ``ssc-response`` program works from an empty folder outside the repository.

Runs the console script in a subprocess, in a temporary folder, with no repository path and no
MLflow or database settings in the environment: everything it needs (built-in experiments, the
data dictionary) comes with the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ssc_response.features.validation import validate_records
from ssc_response.training.config import builtin_experiments

pytestmark = pytest.mark.slow

PROGRAM = Path(sys.executable).parent / "ssc-response"
UNSET = ("MLFLOW_TRACKING_URI", "SSC_DATABASE_URL", "SSC_MODEL_URI", "PYTHONPATH",
         "SSC_ARTIFACT_ROOT", "SSC_MODEL_NAME")


def run(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run([str(PROGRAM), *arguments], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=600, check=False)


def test_demo_without_serving_works_from_an_empty_folder(tmp_path: Path) -> None:
    result = run(tmp_path, "demo", "--no-serve", "--experiment", "quick", "--n", "100")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "model ready at models:/ssc-skin-response" in result.stdout
    request = tmp_path / "demo" / "prediction_request.json"
    assert f"request to send: {Path('demo') / 'prediction_request.json'}" in result.stdout
    patients = json.loads(request.read_text(encoding="utf-8"))["patients"]
    assert len(validate_records(patients)) == 1  # a request the API accepts


def test_train_and_runs_work_from_an_empty_folder(tmp_path: Path) -> None:
    assert run(tmp_path, "simulate", "--n", "100", "--seed", "3", "--output",
               "cohort.csv").returncode == 0

    trained = run(tmp_path, "train", "--data", "cohort.csv", "--experiment", "quick")
    listed = run(tmp_path, "runs")  # the default experiment, by its name

    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "registered ssc-skin-response version 1" in trained.stdout
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "no runs yet for experiment 'ssc-skin-response-default'" in listed.stdout


def test_an_unknown_experiment_is_a_clear_error_listing_the_known_ones(tmp_path: Path) -> None:
    result = run(tmp_path, "runs", "--experiment", "nope")

    assert result.returncode == 2
    assert "unknown experiment 'nope'" in result.stderr
    assert ", ".join(builtin_experiments()) in result.stderr
    assert {"default", "quick"} <= set(builtin_experiments())
    assert "Traceback" not in result.stderr
