"""Save and load a :class:`ResponseModel` as a directory of skops, Parquet and JSON files.

No pickle: estimators are stored with skops and loaded with an explicit list of trusted types
(:data:`TRUSTED_TYPES`). Loading refuses a file that contains any type not on the list, so a
tampered or unexpected artifact fails loudly instead of executing code.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io as sio

from models.bundle import ResponseModel, TrainingSummary
from models.uncertainty import BootstrapEnsemble, ConformalInterval

# Exactly the non-builtin types our pipelines contain (tests/models/test_serialization.py fails
# when a new type appears, so the list is reviewed rather than widened blindly).
# skops already trusts plain sklearn/numpy containers; these are the rest, each one reviewed.
TRUSTED_TYPES: tuple[str, ...] = (
    "features.pipeline.ClinicalIndices",  # our indices transformer (stateless but names)
    "models.delta.DeltaMrssClassifier",  # our mRSS-change classifier
    "models.uncertainty.BootstrapEnsemble",  # per-patient probability intervals
    "models.uncertainty.ConformalInterval",  # ΔmRSS prediction intervals
    "numpy.dtype",  # dtypes recorded by fitted transformers
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)

_ESTIMATOR_FILES = {
    "classifier": "classifier.skops",
    "regressor": "regressor.skops",
    "probability_ensemble": "probability_ensemble.skops",
    "delta_conformal": "delta_conformal.skops",
}


class UntrustedArtifactError(ValueError):
    """A model artifact holds types that are not on the trusted list."""


def save_bundle(model: ResponseModel, directory: str | Path) -> Path:
    """Write the model's parts into ``directory`` (created if needed)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for attribute, filename in _ESTIMATOR_FILES.items():
        sio.dump(getattr(model, attribute), target / filename)
    model.background.to_parquet(target / "background.parquet")
    summary = asdict(model.summary)
    (target / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (target / "metadata.json").write_text(
        json.dumps(model.metadata, indent=1, default=str), encoding="utf-8"
    )
    return target


def untrusted_types(directory: str | Path) -> set[str]:
    """Types in the saved estimators that :data:`TRUSTED_TYPES` does not list."""
    found: set[str] = set()
    for filename in _ESTIMATOR_FILES.values():
        found.update(sio.get_untrusted_types(file=Path(directory) / filename))
    return found - set(TRUSTED_TYPES)


def _load_trusted(path: Path) -> Any:
    unknown = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if unknown:
        raise UntrustedArtifactError(
            f"{path.name} contains types that are not trusted: {sorted(unknown)}"
        )
    return sio.load(path, trusted=list(TRUSTED_TYPES))


def load_bundle(directory: str | Path) -> ResponseModel:
    """Read a model written by :func:`save_bundle`, trusting only :data:`TRUSTED_TYPES`."""
    source = Path(directory)
    parts = {name: _load_trusted(source / f) for name, f in _ESTIMATOR_FILES.items()}
    summary_raw = json.loads((source / "summary.json").read_text(encoding="utf-8"))
    summary_raw["numeric_ranges"] = {
        k: tuple(v) for k, v in summary_raw["numeric_ranges"].items()
    }
    if not isinstance(parts["probability_ensemble"], BootstrapEnsemble) or not isinstance(
        parts["delta_conformal"], ConformalInterval
    ):
        raise UntrustedArtifactError("interval artifacts are not of the expected types")
    return ResponseModel(
        classifier=parts["classifier"],
        regressor=parts["regressor"],
        probability_ensemble=parts["probability_ensemble"],
        delta_conformal=parts["delta_conformal"],
        background=pd.read_parquet(source / "background.parquet"),
        summary=TrainingSummary(**summary_raw),
        metadata=json.loads((source / "metadata.json").read_text(encoding="utf-8")),
    )
