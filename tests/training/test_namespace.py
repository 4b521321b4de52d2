"""The installed distribution claims one import name, ``ssc_response``, and nothing generic.

A researcher's folder with its own ``models.py`` and ``features.py`` must not break loading the
registered model: before the namespace, ``import models`` in MLflow's models-from-code entry file
picked up the researcher's file instead of ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ssc_response.features.schema import baseline_fields

REPO = Path(__file__).resolve().parents[2]
GENERIC = {"features", "models", "training", "serving", "cli", "experiments"}

LOAD_AND_PREDICT = """
import sys, mlflow, pandas as pd
table = mlflow.pyfunc.load_model(sys.argv[1]).predict(pd.read_csv(sys.argv[2]))
print(table["probability_response"].round(12).to_json(orient="values"))
"""


def test_no_installed_package_has_a_generic_top_level_name() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    top_level = {name.split(".")[0] for name in setuptools["packages"]}

    assert top_level == {"ssc_response"}
    assert not GENERIC & top_level


@pytest.mark.slow  # loads a registered model in a subprocess
def test_registered_model_loads_beside_a_researchers_own_models_py(
        tmp_path: Path, trained_model_uri: str, trained_store: dict[str, Any]) -> None:
    folder = tmp_path / "notebook"
    folder.mkdir()
    for name in ("models", "features", "serving", "cli"):
        (folder / f"{name}.py").write_text("raise ImportError('the researcher own module')\n")
    raw = pd.read_csv(trained_store["cohort"])
    patients = raw[["patient_id", *[c for c in baseline_fields() if c in raw]]].head(3)
    patients.to_csv(folder / "patients.csv", index=False)
    environment = {**os.environ, "MLFLOW_TRACKING_URI": str(trained_store["tracking_uri"]),
                   "PYTHONPATH": str(folder)}

    result = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, trained_model_uri,
                             "patients.csv"], cwd=folder, env=environment, capture_output=True,
                            text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stderr[-3000:]
    probabilities = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(probabilities) == 3
    # a patient with too much blank is refused (no number, issue 19); the others are scored
    answered = [p for p in probabilities if p is not None]
    assert answered and all(0 < p < 1 for p in answered)


@pytest.mark.parametrize("old_module", ["features.pipeline", "models.delta"])
def test_a_model_saved_under_the_old_names_is_refused_with_retrain(
        tmp_path: Path, old_module: str) -> None:
    """Models registered before the namespace name ``models.*`` classes: refused, "retrain"."""
    import skops.io as sio

    from ssc_response.models.serialization import OutdatedArtifactError, load_bundle

    class OldEstimator:
        def __init__(self) -> None:
            self.coefficients = [1.0, 2.0]

    OldEstimator.__module__ = old_module
    sio.dump(OldEstimator(), tmp_path / "classifier.skops")

    with pytest.raises(OutdatedArtifactError, match="retrain"):
        load_bundle(tmp_path)
