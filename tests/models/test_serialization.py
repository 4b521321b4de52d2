"""Bundle save/load: same predictions after a round trip; untrusted types are refused.

A fresh bundle of every estimator family must hold no type outside ``TRUSTED_TYPES``, and every
entry of ``TRUSTED_TYPES`` must be needed by some family: the list is exact, so a new type is a
reviewed change rather than a silent widening.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio
from sklearn.preprocessing import StandardScaler

from ssc_response.features.pipeline import as_model_frame
from ssc_response.features.validation import validate_records
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.conformal import ConformalDelta
from ssc_response.models.estimators import FAMILIES
from ssc_response.models.serialization import (
    TRUSTED_TYPES,
    OutdatedArtifactError,
    UntrustedArtifactError,
    load_bundle,
    save_bundle,
)
from ssc_response.training.simulation import simulate_cohort
from tests.assertions import assert_same_answer
from tests.bundles import fit_bundle
from tests.factories import make_patient

# Fits a bundle of every estimator family (tens of seconds).
pytestmark = pytest.mark.slow


class NotAnEstimator:
    """A type no reviewer has trusted: loading it could run arbitrary code."""

    def __init__(self) -> None:
        self.payload = "anything"


def make_model(family_name: str, n: int = 90, seed: int = 4) -> ResponseModel:
    """A small fitted bundle of one family (5 bootstrap members: the types, not the quality)."""
    return fit_bundle(simulate_cohort(n, seed), family_name,
                      metadata={"family_under_test": family_name})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ResponseModel, Path]]:
    """Every family fitted once and saved: name -> (model, bundle directory)."""
    root = tmp_path_factory.mktemp("bundles")
    models = {name: make_model(name) for name in FAMILIES}
    return {name: (model, save_bundle(model, root / name)) for name, model in models.items()}


def skops_types(directory: Path) -> set[str]:
    """Every type the bundle's skops files name (what loading them would instantiate)."""
    found: set[str] = set()
    for path in directory.glob("*.skops"):
        found.update(sio.get_untrusted_types(file=path))
    return found


def untrusted_types(directory: Path) -> set[str]:
    return skops_types(directory) - set(TRUSTED_TYPES)


def records() -> pd.DataFrame:
    """Two patients, one with a missing value (the imputation path)."""
    return validate_records([make_patient(patient_id="A"),
                             make_patient(patient_id="B", crp_mg_l=None, age_years=70.0)])


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_fresh_bundle_holds_only_trusted_types(
    saved: dict[str, tuple[ResponseModel, Path]], name: str
) -> None:
    assert untrusted_types(saved[name][1]) == set()


def test_every_trusted_type_is_needed(saved: dict[str, tuple[ResponseModel, Path]]) -> None:
    found: set[str] = set()
    for _, directory in saved.values():
        found.update(skops_types(directory))

    # IterativeImputer is reported or not depending on import order (models/serialization.py).
    may_be_trusted_by_skops = {"sklearn.impute._iterative.IterativeImputer"}
    assert found <= set(TRUSTED_TYPES)
    assert set(TRUSTED_TYPES) - found <= may_be_trusted_by_skops


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_round_trip_keeps_predictions(
    saved: dict[str, tuple[ResponseModel, Path]], name: str
) -> None:
    model, directory = saved[name]

    loaded = load_bundle(directory)

    # Within the stated tolerance: a reloaded frame's memory layout may change a sum's order.
    assert_same_answer(model.predict(records()), loaded.predict(records()))
    assert loaded.metadata == model.metadata
    assert loaded.summary == model.summary


def test_untrusted_type_is_refused(
    saved: dict[str, tuple[ResponseModel, Path]], tmp_path: Path
) -> None:
    directory = save_bundle(saved["logistic_l2"][0], tmp_path / "tampered")
    sio.dump(NotAnEstimator(), directory / "classifier.skops")

    assert untrusted_types(directory) == {f"{__name__}.NotAnEstimator"}
    with pytest.raises(UntrustedArtifactError, match="classifier.skops.*NotAnEstimator"):
        load_bundle(directory)


def test_interval_artifact_of_the_wrong_type_is_refused(
    saved: dict[str, tuple[ResponseModel, Path]], tmp_path: Path
) -> None:
    model = saved["logistic_l2"][0]
    directory = save_bundle(model, tmp_path / "swapped")
    sio.dump(model.delta_cv_plus, directory / "probability_members.skops")  # trusted, misplaced

    with pytest.raises(UntrustedArtifactError,
                       match="probability_members is a ConformalDelta, not a ProbabilityInterval"):
        load_bundle(directory)


def test_a_cv_plus_of_fold_pipelines_saved_before_is_refused(
    saved: dict[str, tuple[ResponseModel, Path]], tmp_path: Path
) -> None:
    """Bundles saved when the CV+ interval held fold pipelines (``fold_models_``) cannot be
    served by the code that gives the fold estimators the ΔmRSS features: a clear refusal."""
    model = saved["logistic_l2"][0]
    directory = save_bundle(model, tmp_path / "old")
    old = ConformalDelta.__new__(ConformalDelta)
    old.fold_models_ = model.delta_cv_plus.fold_estimators_  # type: ignore[attr-defined]
    old.fold_of_, old.scores_ = model.delta_cv_plus.fold_of_, model.delta_cv_plus.scores_
    sio.dump(old, directory / "delta_cv_plus.skops")

    with pytest.raises(OutdatedArtifactError, match="retrain the model"):
        load_bundle(directory)


def test_a_bundle_whose_shared_preprocessing_standardises_is_refused(
    saved: dict[str, tuple[ResponseModel, Path]], tmp_path: Path
) -> None:
    """Bundles saved when a logistic champion's preprocessing ended in a StandardScaler (and
    its ΔmRSS model encoded the records again) are refused with the "retrain" error."""
    model = saved["logistic_l2"][0]
    directory = save_bundle(model, tmp_path / "scaled")
    old = copy.deepcopy(model.classifier)
    encode = old.named_steps["preprocess"].named_steps["encode"]
    encode.steps.append(("scale", StandardScaler().fit(
        old.named_steps["preprocess"].transform(as_model_frame(records())))))
    sio.dump(old, directory / "classifier.skops")

    with pytest.raises(OutdatedArtifactError, match="standardises .* retrain the model"):
        load_bundle(directory)


def test_bundle_holds_no_pickle(saved: dict[str, tuple[ResponseModel, Path]]) -> None:
    suffixes = {path.suffix for path in saved["random_forest"][1].iterdir()}

    assert suffixes == {".skops", ".parquet", ".json"}
