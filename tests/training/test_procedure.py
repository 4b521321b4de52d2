"""The modelling procedure: tuning, selection and recalibration on grouped inner folds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.model_selection import StratifiedKFold

from ssc_response.features.pipeline import FeatureSpec
from ssc_response.models.calibration import RecalibratedClassifier, raw_score
from ssc_response.training.candidates import Candidate, ProcedureSpec, candidates_from
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import prepare_cohort
from ssc_response.training.metrics import auroc, brier
from ssc_response.training.procedure import (
    RecordFolds,
    candidate_table,
    fit_on_features,
    fit_procedure,
    inner_folds,
    out_of_fold,
    recalibrated,
)
from ssc_response.training.simulation import simulate_cohort

pytestmark = pytest.mark.model

CORE = ("mrss_total", "disease_duration_months", "tendon_friction_rubs", "crp_mg_l", "sex")
L2 = Candidate("logistic_l2", (("estimator__C", 1.0),))
DELTA = Candidate("delta_mrss_regression", (("estimator__alpha", 10.0),))
SPEC = ProcedureSpec((L2, DELTA), FeatureSpec.listed(CORE), inner_splits=4, seed=3)


@pytest.fixture(scope="module")
def cohort():  # noqa: ANN201 - training.experiment.Cohort
    config = ExperimentConfig(name="t", estimators={"logistic_l2": {}})
    return prepare_cohort(simulate_cohort(160, 21), config)


def test_candidates_are_every_grid_point_in_file_order() -> None:
    found = candidates_from({"logistic_l2": {"estimator__C": [0.1, 1.0]},
                             "delta_mrss_regression": {}})

    assert [c.label for c in found] == ["logistic_l2(C=0.1)", "logistic_l2(C=1.0)",
                                        "delta_mrss_regression"]


def test_inner_folds_keep_every_copy_of_a_patient_on_one_side() -> None:
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 100, 100)  # a bootstrap sample: patients repeat
    y = (rows % 3 == 0).astype(int)

    for train, test in inner_folds(y, rows, 5, seed=1):
        assert not set(rows[train]) & set(rows[test])


def test_grouped_folds_keep_tuning_honest_on_a_bootstrap_sample() -> None:
    """Pure noise, bootstrapped: with copies on both sides of a split a flexible candidate
    looks good out of fold (it recognises the copies); grouped folds see chance only."""
    rng = np.random.default_rng(5)
    n = 150
    X = pd.DataFrame({"mrss_total": rng.integers(15, 45, n).astype(float),
                      "crp_mg_l": rng.lognormal(1.5, 1, n)})
    y = rng.integers(0, 2, n)
    rows = rng.integers(0, n, n)
    forest = Candidate("random_forest", (("estimator__min_samples_leaf", 1),))
    spec = ProcedureSpec((forest,), FeatureSpec.listed(["mrss_total", "crp_mg_l"]), seed=2)
    data = X.iloc[rows].reset_index(drop=True)
    source = RecordFolds(spec, data)

    def oof_auroc(folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
        oof = out_of_fold(spec, source, y[rows], np.zeros(n), folds, with_delta=False)
        return auroc(y[rows], oof.raw[:, 0])

    grouped = oof_auroc(inner_folds(y[rows], rows, 5, seed=1))
    leaky = oof_auroc(list(StratifiedKFold(5, shuffle=True, random_state=1).split(data, y[rows])))

    assert grouped < 0.62
    assert leaky > grouped + 0.1  # the check can fail: copies do leak without grouping


def test_selection_uses_the_recalibrated_out_of_fold_metric(cohort) -> None:  # noqa: ANN001
    folds = inner_folds(cohort.y, np.arange(len(cohort.y)), 4, 3)
    oof = out_of_fold(SPEC, RecordFolds(SPEC, cohort.X), cohort.y, cohort.delta, folds)

    table = candidate_table(SPEC, oof, cohort.y)

    expected = [brier(cohort.y, recalibrated(oof.raw[:, j], cohort.y)) for j in range(2)]
    np.testing.assert_allclose(table["brier"], expected)
    assert table["chosen"].tolist() == [expected[0] <= expected[1], expected[0] > expected[1]]


def test_champion_is_the_chosen_candidate_refitted_and_recalibrated(cohort) -> None:  # noqa: ANN001
    fitted = fit_procedure(SPEC, cohort.X, cohort.y, cohort.delta)

    estimator = fitted.classifier.named_steps["estimator"]
    assert isinstance(estimator, RecalibratedClassifier)
    assert (estimator.intercept, estimator.slope) == fitted.recalibration
    features = fitted.classifier.named_steps["preprocess"].transform(cohort.X)
    np.testing.assert_allclose(
        fitted.probability(cohort.X),
        expit(fitted.recalibration[0] + fitted.recalibration[1]
              * raw_score(estimator.estimator_, features)))
    assert fitted.chosen.label == fitted.candidates.loc[fitted.candidates["chosen"],
                                                        "candidate"].item()


def test_delta_champion_gives_probability_and_change_from_one_model(cohort) -> None:  # noqa: ANN001
    fitted = fit_procedure(replace(SPEC, candidates=(DELTA,)), cohort.X, cohort.y, cohort.delta)

    assert fitted.delta_model.named_steps["estimator"] is (
        fitted.classifier.named_steps["estimator"].estimator_)


def test_every_model_of_the_procedure_reads_the_champions_one_preprocessing(cohort) -> None:  # noqa: ANN001
    """A logistic champion's ΔmRSS model and CV+ fold estimators read the champion's fitted
    preprocessing (the same object), whose encoding ends in the imputation: no scaling."""
    fitted = fit_procedure(replace(SPEC, candidates=(L2,)), cohort.X, cohort.y, cohort.delta,
                           conformal=True)

    preprocess = fitted.classifier.named_steps["preprocess"]
    assert fitted.delta_model.named_steps["preprocess"] is preprocess
    assert list(preprocess.named_steps["encode"].named_steps) == ["columns", "impute"]
    names = list(preprocess.get_feature_names_out())
    assert fitted.conformal is not None
    assert all(list(e.feature_names_in_) == names for e in fitted.conformal.fold_estimators_)


def test_same_inputs_same_procedure(cohort) -> None:  # noqa: ANN001
    first = fit_procedure(SPEC, cohort.X, cohort.y, cohort.delta)
    second = fit_procedure(SPEC, cohort.X, cohort.y, cohort.delta)

    np.testing.assert_array_equal(first.probability(cohort.X), second.probability(cohort.X))
    np.testing.assert_array_equal(first.predicted_delta(cohort.X),
                                  second.predicted_delta(cohort.X))


def test_conformal_interval_comes_from_the_inner_folds(cohort) -> None:  # noqa: ANN001
    fitted = fit_procedure(SPEC, cohort.X, cohort.y, cohort.delta, conformal=True)

    assert fitted.conformal is not None
    assert fitted.conformal.n_folds == SPEC.inner_splits
    assert sorted(np.unique(fitted.conformal.fold_of_)) == list(range(SPEC.inner_splits))


def test_cv_plus_fold_estimators_are_fitted_on_the_delta_models_features(cohort) -> None:  # noqa: ANN001
    """Each fold estimator is the ΔmRSS candidate refitted without its fold's patients on the
    final ΔmRSS model's features; each patient's score is from the fold that held them out."""
    fitted = fit_procedure(SPEC, cohort.X, cohort.y, cohort.delta, conformal=True)
    conformal = fitted.conformal
    assert conformal is not None
    features = fitted.delta_model[:-1].transform(cohort.X)
    delta = np.asarray(cohort.delta, dtype=float)
    folds = inner_folds(cohort.y, np.arange(len(cohort.y)), SPEC.inner_splits, SPEC.seed)

    for k, (train, test) in enumerate(folds):
        estimator = conformal.fold_estimators_[k]
        refit = fitted.delta_candidate.estimator(SPEC.seed, SPEC.rule).fit(
            features.iloc[train], delta[train])
        np.testing.assert_allclose(estimator.predict_delta(features),
                                   refit.predict_delta(features), rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(conformal.fold_of_[test], k)
        held_out = features.iloc[test]
        expected = (np.abs(delta[test] - estimator.predict_delta(held_out))
                    / estimator.residual_sd(held_out))
        np.testing.assert_allclose(conformal.scores_[test], expected, rtol=1e-9, atol=1e-12)


def test_bootstrap_members_read_the_array_unless_their_family_reads_columns(cohort) -> None:  # noqa: ANN001
    features = fit_procedure(SPEC, cohort.X, cohort.y, cohort.delta).classifier.named_steps[
        "preprocess"].transform(cohort.X)
    y, delta = np.asarray(cohort.y), np.asarray(cohort.delta, dtype=float)
    groups = np.arange(len(y))

    logistic = fit_on_features(replace(SPEC, candidates=(L2,)), features, y, delta, groups)
    change = fit_on_features(replace(SPEC, candidates=(DELTA,)), features, y, delta, groups)

    assert not hasattr(logistic, "feature_names_in_")
    assert list(change.feature_names_in_) == list(features.columns)
    on_frame = RecalibratedClassifier(L2.estimator(SPEC.seed, SPEC.rule), logistic.intercept,
                                      logistic.slope).fit(features, y)
    np.testing.assert_allclose(logistic.decision_function(features.to_numpy()),
                               on_frame.decision_function(features), rtol=1e-9, atol=1e-9)
