"""Estimator factories: every family builds an unfitted pipeline that fits and predicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
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


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_builds_unfitted(name: str) -> None:
    pipeline = make_pipeline(name, "both", seed=1)

    assert list(pipeline.named_steps) == ["preprocess", "estimator"]
    assert is_classifier(pipeline.named_steps["estimator"])
    encode = pipeline.named_steps["preprocess"].named_steps["encode"]
    assert list(encode.named_steps) == ["columns", "impute"]  # no scaling: the estimator's own
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


@pytest.mark.parametrize("name", ["logistic_l1", "logistic_l2", "logistic_elasticnet"])
def test_a_penalised_logistic_fit_is_the_fit_on_standardised_inputs(name: str) -> None:
    """Independent reference: scikit-learn's StandardScaler + LogisticRegression pipeline.
    The same log-odds within 1e-8 (the solver's float path differs only in the last digits),
    read from the raw features with no scaling step."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"mm_h": rng.normal(30, 15, 200), "score": rng.integers(0, 4, 200),
                      "g_l": rng.normal(0.004, 0.001, 200)})  # very different units
    y = (rng.random(200) < 1 / (1 + np.exp(-(X["mm_h"] - 30) / 15 + X["score"] - 1.5))).astype(int)
    ours = family(name).make(0).set_params(tol=1e-10).fit(X, y)
    params = ours.get_params()
    reference = Pipeline([("scale", StandardScaler()),
                          ("model", LogisticRegression(**params))]).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), reference.decision_function(X),
                               rtol=0, atol=1e-8)


def test_seed_reaches_the_estimator() -> None:
    assert make_pipeline("random_forest", seed=12).named_steps["estimator"].random_state == 12


def test_unknown_family_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown estimator family 'svm'") as error:
        make_pipeline("svm")

    for name in FAMILIES:
        assert name in str(error.value)
