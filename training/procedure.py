"""The modelling procedure as one function: tune, select a family, recalibrate, refit.

Everything that chooses the champion happens inside :func:`fit_procedure`, so that validation
(:mod:`training.assessment`) can repeat all of it in every resample and report the performance
of the whole procedure, not of a winner picked outside the loop:

1. **one inner cross-validation** scores every candidate - each family at each point of its
   search space - on the same folds, with the preprocessing fitted inside each fold. The folds
   are grouped by patient (``StratifiedGroupKFold``), so when the procedure runs on a bootstrap
   sample the copies of one patient never fall on both sides of a split;
2. each candidate's out-of-fold scores are **recalibrated** (:mod:`models.calibration`) and the
   candidate with the best pre-declared metric on those calibrated out-of-fold probabilities
   wins: tuning and family selection are one choice;
3. the winner's recalibration is the one fitted on its out-of-fold scores;
4. the winner is **refitted on all patients**.

The ΔmRSS model behind ``predicted_delta_mrss`` comes from the same folds: when the ΔmRSS
family wins it *is* the champion (one fitted model gives both numbers); otherwise it is the
ΔmRSS candidate with the smallest out-of-fold squared error. Every model of the procedure reads
one preprocessing: in each fold, every candidate reads that fold's encoding; the final champion,
the final ΔmRSS model and its CV+ fold estimators read the champion's fitted preprocessing (an
estimator that needs standardised inputs standardises inside itself), so a prediction encodes a
patient once. Refitted on the same folds, the fold estimators and their held-out residuals give
the CV+ interval (:class:`models.conformal.ConformalDelta`, :func:`cv_plus`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from ssc_response.features.pipeline import build_preprocessor
from ssc_response.models.calibration import RecalibratedClassifier, fit_recalibration, raw_score
from ssc_response.models.conformal import ConformalDelta
from ssc_response.training.candidates import DELTA_FAMILY, Candidate, ProcedureSpec
from ssc_response.training.metrics import auroc, brier

SELECTION_METRICS = {"brier": (brier, min), "auroc": (auroc, max)}


@dataclass
class OutOfFold:
    """The inner cross-validation: every candidate's out-of-fold scores on the same folds."""

    folds: list[tuple[np.ndarray, np.ndarray]]
    raw: np.ndarray  # (n, classifier candidates): raw scores
    delta: np.ndarray  # (n, ΔmRSS candidates): predicted change in mRSS


@dataclass
class FittedProcedure:
    """The procedure's output: the recalibrated champion and the ΔmRSS model."""

    classifier: Pipeline
    delta_model: Pipeline
    chosen: Candidate
    recalibration: tuple[float, float]
    delta_candidate: Candidate
    candidates: pd.DataFrame  # per candidate: the selection metric on calibrated OOF predictions
    conformal: ConformalDelta | None = None

    def probability(self, X: pd.DataFrame) -> np.ndarray:
        """P(response), recalibrated."""
        return np.asarray(self.classifier.predict_proba(X), dtype=float)[:, 1]

    def predicted_delta(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted change in mRSS (points)."""
        features = self.delta_model[:-1].transform(X)
        return np.asarray(self.delta_model[-1].predict_delta(features), dtype=float)


def inner_folds(y: np.ndarray, groups: np.ndarray, n_splits: int,
                seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep every patient's copies together.

    Fewer folds when the minority class has fewer distinct patients than folds requested.
    """
    minority = min(len(np.unique(groups[y == 1])), len(np.unique(groups[y == 0])))
    k = max(2, min(n_splits, minority))
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def fit_procedure(spec: ProcedureSpec, X: pd.DataFrame, y: np.ndarray, delta: np.ndarray,
                  groups: np.ndarray | None = None, conformal: bool = False) -> FittedProcedure:
    """Run the whole procedure on ``X`` (validated records), ``y`` (0/1) and ``delta`` (points).

    ``groups`` names the patient of each row (default: every row its own patient); pass the
    original row numbers for a bootstrap sample. ``conformal`` also builds the ΔmRSS CV+
    interval from the inner folds (the final model needs it; validation replicates do not).
    """
    y, delta = np.asarray(y, dtype=int), np.asarray(delta, dtype=float)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    folds = inner_folds(y, groups, spec.inner_splits, spec.seed)
    oof = out_of_fold(spec, RecordFolds(spec, X), y, delta, folds)
    table = candidate_table(spec, oof, y)
    best = int(table["chosen"].to_numpy().argmax())
    chosen = spec.candidates[best]
    recalibration = fit_recalibration(oof.raw[:, best], y)
    classifier = _final_classifier(spec, chosen, recalibration, X, y, delta)
    delta_index = _delta_choice(spec, chosen, oof, delta)
    delta_candidate = spec.delta_candidates()[delta_index]
    preprocess = classifier.named_steps["preprocess"]  # the one preprocessing of every model
    if chosen.family == DELTA_FAMILY:  # one fitted model gives P(response) and ΔmRSS
        delta_estimator = classifier.named_steps["estimator"].estimator_
    else:
        delta_estimator = delta_candidate.estimator(spec.seed, spec.rule).fit(
            preprocess.transform(X), delta)
    delta_model = Pipeline([("preprocess", preprocess), ("estimator", delta_estimator)])
    interval = None
    if conformal:
        interval = cv_plus(spec, delta_candidate, delta_model, folds, X, delta)
    return FittedProcedure(classifier, delta_model, chosen, recalibration, delta_candidate,
                           table, interval)


def cv_plus(spec: ProcedureSpec, candidate: Candidate, delta_model: Pipeline,
            folds: Sequence[tuple[np.ndarray, np.ndarray]], X: pd.DataFrame,
            delta: np.ndarray) -> ConformalDelta:
    """The CV+ interval of ``delta_model`` (the final ΔmRSS model, ``candidate`` refitted on all
    patients): ``candidate`` refitted on each fold's training part, on the output of
    ``delta_model``'s fitted preprocessing (the champion's), and scored on the fold's held-out
    part.

    That preprocessing was fitted on every patient, so it has seen the held-out patients'
    inputs - never their outcomes (it is label-free: imputation, category levels; each fold
    estimator's own standardisation is fitted on its fold). In exchange a prediction encodes a
    patient once for the champion, the ΔmRSS model and all its fold estimators. The coverage
    guarantee is stated for fold fits that exclude the held-out patients entirely
    (:mod:`models.conformal`); the simulation study measures the coverage.
    """
    features = delta_model[:-1].transform(X)
    estimators = [candidate.estimator(spec.seed, spec.rule).fit(features.iloc[train], delta[train])
                  for train, _ in folds]
    return ConformalDelta.from_folds(estimators, folds, features, delta)


FoldMatrices = tuple[Any, Any]  # (training rows' features, held-out rows' features)


class RecordFolds:
    """Fold matrices from validated records: the encoding is fitted inside each fold.

    The step before the encoding (the clinical indices) learns nothing from the data, so it
    runs once for all patients; the encoding (log scale, imputation, category levels) is fitted
    on each fold's training part only, once, and read by every candidate.
    """

    def __init__(self, spec: ProcedureSpec, X: pd.DataFrame) -> None:
        self._spec = spec
        self.stateless = build_preprocessor(spec.features)[:-1].fit(X)
        self._prepared = self.stateless.transform(X)

    def __call__(self, train: np.ndarray, test: np.ndarray) -> FoldMatrices:
        encoder = build_preprocessor(self._spec.features).named_steps["encode"]
        encoder.fit(self._prepared.iloc[train])
        return (encoder.transform(self._prepared.iloc[train]),
                encoder.transform(self._prepared.iloc[test]))


class MatrixFolds:
    """Fold matrices from features that are already encoded (a bootstrap member's data)."""

    def __init__(self, features: pd.DataFrame) -> None:
        self._features = features

    def __call__(self, train: np.ndarray, test: np.ndarray) -> FoldMatrices:
        return self._features.iloc[train], self._features.iloc[test]


def out_of_fold(spec: ProcedureSpec, source: RecordFolds | MatrixFolds, y: np.ndarray,
                delta: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                with_delta: bool = True) -> OutOfFold:
    """Every candidate fitted on each fold's training part and scored on its held-out part.

    ``with_delta`` also scores the ΔmRSS candidates' predicted change (reusing the fits of
    those that are classifier candidates too).
    """
    deltas = spec.delta_candidates() if with_delta else ()
    result = OutOfFold(folds, np.full((len(y), len(spec.candidates)), np.nan),
                       np.full((len(y), len(deltas)), np.nan))
    for train, test in folds:
        x_train, x_test = source(train, test)
        fitted: dict[Candidate, BaseEstimator] = {}
        for j, candidate in enumerate(spec.candidates):
            fitted[candidate] = _fit_candidate(spec, candidate, x_train, y[train], delta[train])
            result.raw[test, j] = raw_score(fitted[candidate], x_test)
        for j, candidate in enumerate(deltas):
            estimator = fitted.get(candidate)
            if estimator is None:
                estimator = _fit_candidate(spec, candidate, x_train, y[train], delta[train])
            result.delta[test, j] = estimator.predict_delta(x_test)
    return result


def _fit_candidate(spec: ProcedureSpec, candidate: Candidate, x_train: pd.DataFrame,
                   y: np.ndarray, delta: np.ndarray) -> BaseEstimator:
    target = delta if candidate.target == "delta" else y
    return candidate.estimator(spec.seed, spec.rule).fit(x_train, target)


def recalibrated(raw: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Out-of-fold scores turned into probabilities by their own logistic recalibration."""
    intercept, slope = fit_recalibration(raw, y)
    return np.asarray(expit(intercept + slope * raw), dtype=float)


def candidate_table(spec: ProcedureSpec, oof: OutOfFold, y: np.ndarray) -> pd.DataFrame:
    """Each candidate's selection metric on its recalibrated out-of-fold probabilities.

    Recalibrating before comparing judges every family by what it will serve: a forest's timid
    probabilities are not penalised for a miscalibration the procedure corrects anyway.
    """
    metric, best = SELECTION_METRICS[spec.selection_metric]
    values = [metric(y, recalibrated(oof.raw[:, j], y)) for j in range(len(spec.candidates))]
    winner = values.index(best(values))  # ties: the first listed
    return pd.DataFrame({
        "candidate": [c.label for c in spec.candidates],
        "family": [c.family for c in spec.candidates],
        spec.selection_metric: values,
        "chosen": [j == winner for j in range(len(values))],
    })


def _delta_choice(spec: ProcedureSpec, chosen: Candidate, oof: OutOfFold,
                  delta: np.ndarray) -> int:
    """The ΔmRSS candidate: the champion itself, else the smallest out-of-fold squared error."""
    deltas = spec.delta_candidates()
    if chosen in deltas:
        return deltas.index(chosen)
    errors = np.mean((oof.delta - delta[:, None]) ** 2, axis=0)
    return int(np.argmin(errors))


def _final_classifier(spec: ProcedureSpec, chosen: Candidate, recalibration: tuple[float, float],
                      X: pd.DataFrame, y: np.ndarray, delta: np.ndarray) -> Pipeline:
    """The chosen candidate refitted on every patient, with its out-of-fold recalibration."""
    preprocess = build_preprocessor(spec.features).fit(X)
    target = delta if chosen.target == "delta" else y
    intercept, slope = recalibration
    estimator = RecalibratedClassifier(chosen.estimator(spec.seed, spec.rule), intercept, slope)
    return Pipeline([("preprocess", preprocess),
                     ("estimator", estimator.fit(preprocess.transform(X), target))])


def fit_on_features(spec: ProcedureSpec, features: pd.DataFrame, y: np.ndarray,
                    delta: np.ndarray, groups: np.ndarray) -> RecalibratedClassifier:
    """The procedure on already-encoded features: tune among ``spec.candidates`` on grouped
    inner folds, recalibrate on the winner's out-of-fold scores, refit. A bootstrap member of
    the probability interval (``groups``: the original patient of each row).

    The refit reads the features' float array unless its family reads a column by name: a
    scikit-learn estimator fitted on a frame re-checks its names and dtypes at every call
    (~0.6 ms, most of a member's serving cost), so :class:`models.probability_interval.
    ProbabilityInterval` checks the names once for all members and hands them the array. The
    numbers are the same either way (the same float64 values)."""
    folds = inner_folds(y, groups, spec.inner_splits, spec.seed)
    oof = out_of_fold(spec, MatrixFolds(features), y, delta, folds, with_delta=False)
    table = candidate_table(spec, oof, y)
    best = int(table["chosen"].to_numpy().argmax())
    chosen = spec.candidates[best]
    intercept, slope = fit_recalibration(oof.raw[:, best], y)
    target = delta if chosen.target == "delta" else y
    member = RecalibratedClassifier(chosen.estimator(spec.seed, spec.rule), intercept, slope)
    inputs = features if chosen.reads_columns else features.to_numpy(dtype=float)
    return member.fit(inputs, target)
