"""Estimator factories: every family builds an unfitted pipeline that fits and predicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ssc_response.features.derived_columns import add_derived_columns
from ssc_response.features.pipeline import as_model_frame
from ssc_response.models.estimators import FAMILIES, family, make_pipeline
from ssc_response.training.simulation import simulate_cohort


def small_cohort(n: int = 90, seed: int = 4) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    derived = add_derived_columns(simulate_cohort(n, seed))
    derived = derived[derived["skin_responder"].notna()].reset_index(drop=True)
    return (as_model_frame(derived), derived["skin_responder"].astype(int).to_numpy(),
            derived["delta_mrss"].to_numpy(dtype=float))


COHORT = small_cohort()


def has_scaler(pipeline: object) -> bool:
    preprocess = pipeline.named_steps["preprocess"]  # type: ignore[attr-defined]
    # encode = columns -> chained-equations imputation -> (scale, for the families that need it)
    encode = preprocess.named_steps["encode"]
    return any(isinstance(step, StandardScaler) for _, step in encode.steps)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_builds_unfitted(name: str) -> None:
    pipeline = make_pipeline(name, "both", seed=1)

    assert list(pipeline.named_steps) == ["preprocess", "estimator"]
    assert is_classifier(pipeline.named_steps["estimator"])
    assert has_scaler(pipeline) == FAMILIES[name].scale
    with pytest.raises(NotFittedError):
        check_is_fitted(pipeline.named_steps["estimator"])


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.slow  # every family, the boosted trees take tens of seconds
def test_every_family_fits_and_predicts_probabilities(name: str) -> None:
    X, y, delta = COHORT
    target = delta if family(name).target == "delta" else y

    proba = make_pipeline(name, "both", seed=1).fit(X, target).predict_proba(X)[:, 1]

    assert proba.shape == (len(X),)
    assert np.all((proba >= 0) & (proba <= 1))


def test_search_space_parameters_reach_the_estimator() -> None:
    pipeline = make_pipeline("logistic_l2", params={"estimator__C": 0.3})

    assert pipeline.named_steps["estimator"].C == 0.3


def test_seed_reaches_the_estimator() -> None:
    assert make_pipeline("random_forest", seed=12).named_steps["estimator"].random_state == 12


def test_unknown_family_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown estimator family 'svm'") as error:
        make_pipeline("svm")

    for name in FAMILIES:
        assert name in str(error.value)
