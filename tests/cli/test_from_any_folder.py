"""The installed ``ssc-response`` program works from an empty folder outside the repository.

Runs the console script in a subprocess, in a temporary folder, with no repository path and no
MLflow or database settings in the environment: everything it needs (built-in experiments, the
data dictionary) comes with the installed package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssc_response.features.validation import validate_records
from ssc_response.training.config import builtin_experiments
from tests.cli.installed_program import run

pytestmark = pytest.mark.slow


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
