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

from ssc_response.models.bundle import ResponseModel
from ssc_response.models.conformal import ConformalDelta
from ssc_response.models.probability_interval import ProbabilityInterval
from ssc_response.models.summary import TrainingSummary

# Exactly the non-builtin types our pipelines contain (tests/models/test_serialization.py fails
# when a new type appears, so the list is reviewed rather than widened blindly).
# skops already trusts plain sklearn/numpy containers; these are the rest, each one reviewed.
TRUSTED_TYPES: tuple[str, ...] = (
    # our indices transformer (stateless but names)
    "ssc_response.features.pipeline.ClinicalIndices",
    # one-hot columns that keep a blank category blank; chained-equations imputation
    "ssc_response.features.imputation.CategoryColumns",
    "ssc_response.features.imputation.ChainedImputer",
    # Chained-equations imputation. skops trusts IterativeImputer by default only when
    # sklearn's experimental module was imported before skops listed sklearn's estimators, so
    # whether it is reported depends on import order: listed here so loading never depends on
    # it. Its fitted (feature, neighbours, regressor) triplets are a namedtuple of sklearn's own.
    "sklearn.impute._iterative.IterativeImputer",
    "sklearn.impute._iterative._ImputerTriplet",
    # the champion with its recalibration
    "ssc_response.models.calibration.RecalibratedClassifier",
    # the ΔmRSS CV+ interval (fold estimators, scores)
    "ssc_response.models.conformal.ConformalDelta",
    # our mRSS-change classifier
    "ssc_response.models.delta.DeltaMrssClassifier",
    # penalised logistic regression that standardises inside its own fit
    "ssc_response.models.estimators.StandardisedLogisticRegression",
    # bootstrap SE of the log-odds
    "ssc_response.models.probability_interval.ProbabilityInterval",
    "numpy.dtype",  # dtypes recorded by fitted transformers
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)

PROBES_FILE = "probes.json"
DRAWS_FILE = "missing_draws.skops"  # the stochastic imputer (absent when there is none)
_ESTIMATOR_FILES = {
    "classifier": "classifier.skops",
    "delta_model": "delta_model.skops",
    "probability_members": "probability_members.skops",
    "delta_cv_plus": "delta_cv_plus.skops",
}
_EXPECTED_TYPES = {"probability_members": ProbabilityInterval, "delta_cv_plus": ConformalDelta}


class UntrustedArtifactError(ValueError):
    """A model artifact holds types that are not on the trusted list."""


class OutdatedArtifactError(ValueError):
    """A model artifact was saved in a layout this code no longer serves: retrain it."""


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
    if model.missing_draws is not None:
        sio.dump(model.missing_draws, target / DRAWS_FILE)
    if model.probes is not None:  # synthetic records and their outputs (models/parity.py)
        (target / PROBES_FILE).write_text(json.dumps(model.probes), encoding="utf-8")
    return target


# Models registered before the code moved under the ``ssc_response`` namespace name their own
# classes by the old top-level names; those modules no longer exist, so they cannot be served.
_PRE_NAMESPACE_PREFIXES = ("features.", "models.")


def _load_trusted(path: Path) -> Any:
    unknown = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if any(name.startswith(_PRE_NAMESPACE_PREFIXES) for name in unknown):
        raise OutdatedArtifactError(
            f"{path.name} was saved before the code moved to the ssc_response namespace "
            "(it names features.* / models.* classes): retrain the model to serve it")
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
    for pairs in ("numeric_ranges", "quantiles", "central"):  # JSON has lists, the summary tuples
        summary_raw[pairs] = {k: tuple(v) for k, v in summary_raw.get(pairs, {}).items()}
    for name, expected in _EXPECTED_TYPES.items():
        if not isinstance(parts[name], expected):
            raise UntrustedArtifactError(f"{name} is a {type(parts[name]).__name__}, "
                                         f"not a {expected.__name__}")
    if not hasattr(parts["delta_cv_plus"], "fold_estimators_"):
        raise OutdatedArtifactError(
            "delta_cv_plus holds CV+ fold pipelines, saved before the fold estimators read the "
            "ΔmRSS model's features: retrain the model to serve it")
    encode = parts["classifier"].named_steps["preprocess"].named_steps["encode"]
    if "impute" not in getattr(encode, "named_steps", {}):
        raise OutdatedArtifactError(
            "the model imputes blank fields with training medians and missing indicators, "
            "saved before chained-equations imputation: retrain the model to serve it")
    _refuse_scaled_preprocessing(parts["classifier"], parts["delta_model"])
    draws = source / DRAWS_FILE
    return ResponseModel(
        classifier=parts["classifier"],
        delta_model=parts["delta_model"],
        probability_members=parts["probability_members"],
        delta_cv_plus=parts["delta_cv_plus"],
        background=pd.read_parquet(source / "background.parquet"),
        summary=TrainingSummary(**summary_raw),
        metadata=json.loads((source / "metadata.json").read_text(encoding="utf-8")),
        probes=_read_json(source / PROBES_FILE),
        missing_draws=_load_trusted(draws) if draws.is_file() else None,
    )


def _refuse_scaled_preprocessing(classifier: Any, delta_model: Any) -> None:
    """Refuse a model whose shared preprocessing standardises (saved before scaling moved into
    the estimators that need it): its ΔmRSS model read an encoding of its own, and its bootstrap
    members read standardised features, which this code no longer computes."""
    for pipeline in (classifier, delta_model):
        if pipeline is None:
            continue
        encode = pipeline.named_steps["preprocess"].named_steps["encode"]
        if "scale" in encode.named_steps:
            raise OutdatedArtifactError(
                "the model standardises its features in the shared preprocessing, saved before "
                "every estimator read one encoding: retrain the model to serve it")


def _read_json(path: Path) -> Any:
    """The file's JSON value, ``None`` when there is no such file."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
