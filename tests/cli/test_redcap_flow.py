"""A centre's REDCap project from an empty folder, as a new user would go: the dictionary,
an export with labels and checkboxes, ``describe`` on it, all with the installed program.

Runs the console script in a subprocess in a temporary folder, without MLflow settings (the
embedded ``sqlite:///mlflow.db`` default), as ``test_from_any_folder.py`` does.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ssc_response.training.simulation import simulate_cohort
from tests.cli.installed_program import run
from tests.redcap_export import to_redcap_export

pytestmark = pytest.mark.slow


def test_dictionary_then_export_then_describe(tmp_path: Path) -> None:
    made = run(tmp_path, "redcap-dictionary", "--output", "ssc_response_redcap.csv")
    assert made.returncode == 0, made.stderr
    with (tmp_path / "ssc_response_redcap.csv").open(encoding="utf-8", newline="") as stream:
        variables = {row["Variable / Field Name"] for row in csv.DictReader(stream)}
    export = to_redcap_export(simulate_cohort(30, seed=21), labels=True, missing_code="ND")
    checkboxes = {c.split("___")[0] for c in export.columns if "___" in c}
    assert checkboxes <= variables  # the export is of the project the dictionary creates
    export.to_csv(tmp_path / "redcap_export.csv", index=False)

    described = run(tmp_path, "describe", "--data", "redcap_export.csv", "--output", "report")
    assert described.returncode == 0, described.stderr
    assert "Traceback" not in described.stderr
    assert "described 30 patients (REDCap export)" in described.stdout
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "mlflow.db").is_file()  # the run went to the default store


def test_train_and_predict_read_the_export_as_it_comes(tmp_path: Path) -> None:
    """Steps 4 and 5 of the centre's first hour: no column renamed by hand."""
    export = to_redcap_export(simulate_cohort(150, seed=22), labels=True, missing_code="UNK")
    export.to_csv(tmp_path / "redcap_export.csv", index=False)

    trained = run(tmp_path, "train", "--data", "redcap_export.csv", "--experiment", "quick")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "registered ssc-skin-response version 1" in trained.stdout

    predicted = run(tmp_path, "predict", "--data", "redcap_export.csv",
                    "--output", "predictions.csv")
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    with (tmp_path / "predictions.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 150  # one row per patient, not per REDCap event row
    assert {row["patient_id"] for row in rows} == set(export["patient_id"])
