"""MLflow tracking of an experiment run: inputs, provenance, metrics, reports, model, registry.

Where MLflow lives comes from the environment (``MLFLOW_TRACKING_URI``; default the embedded
``sqlite:///mlflow.db`` in the working directory). Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features import schema
from ssc_response.models.parity import serving_parity
from ssc_response.models.registry import BUNDLE_ARTIFACT, DEFAULT_ALIAS
from ssc_response.models.serialization import load_bundle, save_bundle

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
PYFUNC_ENTRY = Path(__file__).resolve().parent.parent / "models" / "pyfunc_entry.py"


@dataclass(frozen=True)
class Registration:
    """The registered version and whether the alias moved to it."""

    name: str
    version: str
    promoted: bool
    failures: tuple[str, ...]


def configure_tracking() -> str:
    """Point MLflow at the environment's tracking URI (or the embedded SQLite default)."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    return uri


def artifact_root(tracking_uri: str) -> str | None:
    """Where new experiments keep artifacts: ``SSC_ARTIFACT_ROOT``, else beside a SQLite store.

    MLflow's own default (``./mlruns``) depends on the working directory of whoever created
    the experiment; keeping artifacts next to the database keeps the store self-contained.
    """
    explicit = os.environ.get("SSC_ARTIFACT_ROOT")
    if explicit:
        return explicit
    if tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        return (database.parent / "mlartifacts").as_uri()
    return None  # a tracking server decides for itself


def use_experiment(name: str) -> str:
    """Activate the named experiment, creating it with :func:`artifact_root` if needed."""
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    existing = client.get_experiment_by_name(name)
    if existing is None:
        location = artifact_root(mlflow.get_tracking_uri())
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = existing.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return str(experiment_id)


def file_sha256(path: str | Path) -> str:
    """Content hash of the data file, so a run names exactly the bytes it learnt from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_commit() -> str:
    """The code version: the git commit of the working tree, marked dirty when it is."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def log_dataset(frame: pd.DataFrame, data_path: Path, outcome: str, sha256: str) -> None:
    """Record the training data as an MLflow dataset input with its content hash."""
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    dataset = from_pandas(frame, source=str(data_path.resolve()),
                                      name=data_path.name, targets=outcome)
    mlflow.log_input(dataset, context="training")
    mlflow.set_tags({"data.sha256": sha256, "data.path": str(data_path), "data.rows": len(frame)})


def flat_params(prefix: str, value: Any) -> dict[str, str]:
    """Nested config -> ``a.b.c`` parameter names (MLflow params are flat strings)."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, inner in value.items():
            flat |= flat_params(f"{prefix}.{key}" if prefix else str(key), inner)
        return flat
    return {prefix: str(value)[:500]}


def model_signature() -> Any:
    """Input schema: the id and baseline fields of the data dictionary, only required ones required.

    Every column is declared ``Any``: MLflow's type enforcement is stricter than the data
    contract and refuses ordinary inputs (integers read from a CSV for a ``double`` field,
    0/1 for a boolean, an all-missing text column read as floats). The model validates its
    input itself with :func:`features.validation.validate_frame`, which names every problem, so
    the signature states which columns exist and which are required, and leaves types to it.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec
    from mlflow.types.schema import AnyType

    required = set(schema.REQUIRED_FIELDS)
    columns: list[ColSpec | TensorSpec] = [
        ColSpec(AnyType(), f.name, required=f.name in required)
        for f in schema.fields().values() if f.role in ("id", "baseline")
    ]
    return ModelSignature(inputs=Schema(columns))


def input_example(frame: pd.DataFrame) -> pd.DataFrame:
    """Two training rows, baseline columns only, as JSON-ready floats, strings and None."""
    fields = [f for f in schema.fields().values() if f.role != "outcome" and f.name in frame]
    columns = {}
    for f in fields:
        column = frame[f.name].head(2)
        if f.is_numeric:
            columns[f.name] = pd.to_numeric(column.astype("Float64")).astype("float64")
        else:
            columns[f.name] = column.astype(object).where(column.notna(), None)
    return pd.DataFrame(columns)


def pip_requirements() -> list[str]:
    """The package's runtime dependencies pinned to their installed versions.

    ``make setup`` installs exactly ``requirements.lock``, so these are the locked versions
    (``tests/training/test_run.py`` holds the logged model's requirements to the lock).
    """
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    declared = [Requirement(text) for text in requires("ssc-response") or []]
    runtime = [r.name for r in declared if r.marker is None or r.marker.evaluate({"extra": ""})]
    return [f"{name}=={version(name)}" for name in runtime]


def log_serving_parity(model: Any, bundle_dir: Path, records: pd.DataFrame) -> None:
    """Load the saved bundle back, compare its outputs on ``records`` with the fitted objects in
    memory and log the largest differences; a saved model that disagrees is refused (raises)."""
    import mlflow

    distance = serving_parity(model, load_bundle(bundle_dir), records)
    mlflow.log_metrics({"serving_parity_max_abs_diff": distance.max_abs,
                        "serving_parity_max_rel_diff": distance.max_rel})


def log_model(model: Any, example: pd.DataFrame, training: pd.DataFrame | None = None) -> str:
    """Log the bundle as a models-from-code pyfunc model; returns the model URI.

    With the ``training`` records, the saved bundle's parity with ``model`` is checked and logged
    first (:func:`log_serving_parity`).
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = save_bundle(model, Path(tmp) / BUNDLE_ARTIFACT)
        if training is not None:
            log_serving_parity(model, bundle_dir, training)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_ENTRY),
            artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
            signature=model_signature(),
            input_example=example,
            pip_requirements=pip_requirements(),
        )
    return str(info.model_uri)


def register(model_uri: str, name: str, failures: list[str], run_id: str) -> Registration:
    """Register a new version; move the champion alias only when every threshold passed."""
    import mlflow
    from mlflow.tracking import MlflowClient

    version = mlflow.register_model(model_uri, name, tags={"run_id": run_id})
    client = MlflowClient()
    promoted = not failures
    client.set_model_version_tag(name, version.version, "promotion",
                                 "passed" if promoted else "failed")
    if failures:
        client.set_model_version_tag(name, version.version, "promotion_failures",
                                     "; ".join(failures)[:4000])
    else:
        client.set_registered_model_alias(name, DEFAULT_ALIAS, version.version)
    return Registration(name, str(version.version), promoted, tuple(failures))


def log_metrics(metrics: dict[str, float]) -> None:
    """Log finite metrics; NaN (undefined on this cohort) is recorded as a tag instead."""
    import mlflow

    finite = {k: v for k, v in metrics.items() if np.isfinite(v)}
    mlflow.log_metrics(finite)
    undefined = sorted(set(metrics) - set(finite))
    if undefined:
        mlflow.set_tag("metrics.undefined", ",".join(undefined))
