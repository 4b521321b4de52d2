"""Run an experiment: compare families, validate the winner honestly, fit and package it.

Order of work (pre-declared, so the numbers mean what they say):
1. every candidate family is scored by repeated stratified cross-validation, tuning nested
   inside, on the pre-declared selection metric;
2. the winner's whole procedure (tuning included) is optimism-corrected with Harrell's
   bootstrap, unless it is a learner that memorises its training data, for which that
   correction fails and its nested cross-validation is reported (:mod:`training.headline`);
   the winner is chosen before these numbers exist;
3. the winner is refitted on all patients and packaged with its intervals and explainer.
Selecting among families is itself a source of optimism that step 2 does not cover; the model
card says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, cross_val_predict

from features import schema
from features.derive import add_derived_columns
from features.pipeline import (
    as_model_frame,
    categorical_fields,
    numeric_feature_names,
    numeric_fields,
)
from models.bundle import ResponseModel, TrainingSummary
from models.estimators import family, make_delta_regressor, make_feature_regressor
from models.uncertainty import BootstrapEnsemble, ConformalInterval
from training.config import ExperimentConfig
from training.cross_validation import CVResult, repeated_cv_predictions
from training.headline import Estimate, from_bootstrap, from_cross_validation
from training.metrics import (
    auroc,
    brier,
    calibration_intercept,
    calibration_slope,
    mae,
    r2,
    score_all,
)
from training.modelling import (
    FamilySpec,
    fit_tuned,
    make_fit_predict,
    one_thread_per_fit,
    with_delta,
)
from training.optimism import OptimismResult, optimism_corrected

log = logging.getLogger(__name__)

BINARY_METRICS = {
    "auroc": auroc,
    "brier": brier,
    "calibration_slope": calibration_slope,
    "calibration_intercept": calibration_intercept,
}
CONTINUOUS_METRICS = {"mae": mae, "r2": r2}
LOWER_IS_BETTER = {"brier", "mae"}
Tick = Callable[[str], None]


@dataclass
class Cohort:
    """The analysable patients: model inputs, binary outcome and change in mRSS."""

    frame: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    delta: np.ndarray
    n_excluded: int


@dataclass
class Validation:
    """What the experiment measured, ready to be logged (see :mod:`training.headline`)."""

    candidates: dict[str, CVResult]
    selected: str
    binary: OptimismResult | None  # None: Harrell's bootstrap is not valid for the learner
    delta: OptimismResult
    oof_probability: np.ndarray
    apparent: dict[str, float]
    corrected: dict[str, Estimate]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """How the headline binary metrics were corrected for optimism."""
        return "cross-validation" if self.binary is None else "bootstrap"


def prepare_cohort(frame: pd.DataFrame, config: ExperimentConfig) -> Cohort:
    """Derive outcomes and keep patients whose outcome (and change in mRSS) is known."""
    derived = add_derived_columns(frame)
    outcome = config.outcome.name if config.outcome.is_binary else "skin_responder"
    if outcome not in derived:
        raise ValueError(f"the data have no follow-up columns to derive the outcome {outcome!r}")
    known = derived[outcome].notna() & derived["delta_mrss"].notna()
    kept = derived.loc[known].reset_index(drop=True)
    if kept[outcome].nunique() < 2:
        raise ValueError(f"outcome {outcome!r} has a single class among the {len(kept)} patients")
    return Cohort(
        frame=kept,
        X=as_model_frame(kept),
        y=kept[outcome].astype(int).to_numpy(),
        delta=kept["delta_mrss"].to_numpy(dtype=float),
        n_excluded=int((~known).sum()),
    )


def family_spec(config: ExperimentConfig, name: str) -> FamilySpec:
    """A candidate family with the experiment's search space, seed and response rule."""
    criterion = {
        "abs_threshold": config.outcome.abs_threshold,
        "rel_threshold": config.outcome.rel_threshold,
        "strict": config.outcome.strict,
    }
    if config.outcome.name == "skin_responder_mcid":
        criterion = {"abs_threshold": config.outcome.abs_threshold, "rel_threshold": 0.0,
                     "strict": False}
    return FamilySpec(name, config.estimators[name], config.feature_set,
                      config.validation.inner_splits, config.validation.seed, criterion)


def _ticking(fit_predict: Any, tick: Tick | None, label: str) -> Any:
    def wrapped(*args: Any) -> Any:
        result = fit_predict(*args)
        if tick:
            tick(label)
        return result

    return wrapped


def compare_candidates(cohort: Cohort, config: ExperimentConfig,
                       tick: Tick | None = None) -> dict[str, CVResult]:
    """Repeated stratified CV (tuning nested) of every family on the same folds."""
    v = config.validation
    results = {}
    for name in config.estimators:
        fit_predict = _ticking(make_fit_predict(family_spec(config, name)), tick, name)
        results[name] = repeated_cv_predictions(
            fit_predict, with_delta(cohort.X, cohort.delta), cohort.y,
            n_splits=v.cv_splits, n_repeats=v.cv_repeats, seed=v.seed, metrics=BINARY_METRICS,
        )
    return results


def select_family(candidates: dict[str, CVResult], metric: str) -> str:
    """The family with the best pooled cross-validated value of the pre-declared metric."""
    metric = "brier" if metric == "mae" else metric  # candidates are compared on the binary scale
    values = {name: float(r.pooled_metrics[metric].mean()) for name, r in candidates.items()}
    chooser = min if metric in LOWER_IS_BETTER else max
    return chooser(values, key=lambda name: values[name])


def delta_fit_predict(feature_set: str) -> Any:
    """The mRSS-change regression as a ``fit_predict`` for optimism correction."""

    def fit_predict(X_train: pd.DataFrame, y_train: np.ndarray, X_evals: list[pd.DataFrame]):
        model = make_delta_regressor(feature_set).fit(X_train, y_train)
        return [model.predict(X_eval) for X_eval in X_evals]

    return fit_predict


def validate(cohort: Cohort, config: ExperimentConfig, tick: Tick | None = None) -> Validation:
    """Compare, select, then optimism-correct the selected procedure and the ΔmRSS model."""
    with one_thread_per_fit():
        return _validate(cohort, config, tick)


def _validate(cohort: Cohort, config: ExperimentConfig, tick: Tick | None) -> Validation:
    v = config.validation
    candidates = compare_candidates(cohort, config, tick)
    selected = select_family(candidates, v.selection_metric)
    log.info("selected family %s by cross-validated %s", selected, v.selection_metric)
    spec = family_spec(config, selected)
    binary = None
    if not family(selected).memorises:
        binary = _bootstrap(_ticking(make_fit_predict(spec), tick, "bootstrap"),
                            with_delta(cohort.X, cohort.delta), cohort.y, BINARY_METRICS, config)
    delta = _bootstrap(_ticking(delta_fit_predict(config.feature_set), tick, "bootstrap ΔmRSS"),
                       cohort.X, cohort.delta, CONTINUOUS_METRICS, config)
    if binary is None:
        apparent = apparent_metrics(cohort, spec)
        corrected = from_cross_validation(candidates[selected], cohort.y, v.interval_level)
    else:
        apparent, corrected = binary.apparent, from_bootstrap(binary)
    result = Validation(candidates, selected, binary, delta, candidates[selected].mean_oof(),
                        apparent, corrected)
    result.metrics = headline_metrics(result, config)
    return result


def _bootstrap(fit_predict: Any, X: pd.DataFrame, y: np.ndarray, metrics: dict[str, Any],
               config: ExperimentConfig) -> OptimismResult:
    v = config.validation
    return optimism_corrected(fit_predict, X, y, metrics, n_boot=v.bootstrap, seed=v.seed,
                              ci_level=v.interval_level)


def apparent_metrics(cohort: Cohort, spec: FamilySpec) -> dict[str, float]:
    """The procedure fitted and scored on all patients (what the bootstrap calls apparent)."""
    model = fit_tuned(spec, cohort.X, cohort.y, cohort.delta)
    return score_all(BINARY_METRICS, cohort.y, model.predict_proba(cohort.X)[:, 1], strict=False)


def headline_metrics(validation: Validation, config: ExperimentConfig) -> dict[str, float]:
    """Metrics under the stable names researchers compare runs by."""
    metrics = _binary_headline(validation) | _delta_headline(validation.delta, config)
    for name, result in validation.candidates.items():
        for metric in ("auroc", "brier"):
            metrics[f"cv_{metric}_{name}"] = float(result.pooled_metrics[metric].mean())
    return {k: float(v) for k, v in metrics.items()}


def _binary_headline(validation: Validation) -> dict[str, float]:
    """Apparent, corrected (with intervals), cross-validated and, after a bootstrap, out-of-bag."""
    c, a = validation.corrected, validation.apparent
    cv = validation.candidates[validation.selected].pooled_metrics
    metrics = {"auroc_apparent": a["auroc"], "brier_apparent": a["brier"],
               "auroc_cv": cv["auroc"].mean(), "brier_cv": cv["brier"].mean(),
               "calibration_slope_corrected": c["calibration_slope"].value,
               "calibration_intercept_corrected": c["calibration_intercept"].value}
    for name in ("auroc", "brier"):
        metrics |= {f"{name}_corrected": c[name].value, f"{name}_corrected_ci_low": c[name].low,
                    f"{name}_corrected_ci_high": c[name].high}
    if validation.binary is not None:  # pessimistic (Efron & Tibshirani 1997): a check
        metrics |= {f"{name}_oob": validation.binary.oob[name] for name in ("auroc", "brier")}
    return metrics


def _delta_headline(d: OptimismResult, config: ExperimentConfig) -> dict[str, float]:
    """The ΔmRSS regression (Harrell's correction: a ridge model, which it suits)."""
    metrics = {"delta_mae_corrected": d.corrected["mae"], "delta_r2_corrected": d.corrected["r2"]}
    if not config.outcome.is_binary:
        metrics |= {"mae_corrected": d.corrected["mae"], "r2_corrected": d.corrected["r2"]}
    return metrics


def used_fields(feature_set: str) -> list[str]:
    """The raw input fields a feature set reads (derived indices excluded)."""
    baseline = set(schema.baseline_fields())
    return [n for n in numeric_fields(feature_set) if n in baseline] + categorical_fields(
        feature_set
    )


def fit_final(cohort: Cohort, config: ExperimentConfig, selected: str,
              metadata: dict[str, Any]) -> ResponseModel:
    """Refit the selected procedure on every patient and package what serving needs."""
    with one_thread_per_fit():
        return _fit_final(cohort, config, selected, metadata)


def _fit_final(cohort: Cohort, config: ExperimentConfig, selected: str,
               metadata: dict[str, Any]) -> ResponseModel:
    seed = config.validation.seed
    classifier = fit_tuned(family_spec(config, selected), cohort.X, cohort.y, cohort.delta)
    features = classifier.named_steps["preprocess"].transform(cohort.X)
    target = cohort.delta if family(selected).target == "delta" else cohort.y
    ensemble = BootstrapEnsemble().fit(
        classifier.named_steps["estimator"], features, target,
        n_models=config.uncertainty.bootstrap_models, seed=seed,
    )
    # The served ridge reads the classifier's features (one preprocessing per request); it is
    # the same model as make_delta_regressor's, whose folds (preprocessing inside) give the
    # conformal residuals.
    scaled = numeric_feature_names(classifier.named_steps["preprocess"])
    regressor = make_feature_regressor(scaled).fit(features, cohort.delta)
    out_of_fold = cross_val_predict(
        make_delta_regressor(config.feature_set), cohort.X, cohort.delta,
        cv=KFold(n_splits=5, shuffle=True, random_state=seed),
    )
    background = features.sample(n=min(100, len(features)), random_state=seed)
    return ResponseModel(
        classifier=classifier,
        regressor=regressor,
        probability_ensemble=ensemble,
        delta_conformal=ConformalInterval().fit(cohort.delta - out_of_fold),
        background=background,
        summary=TrainingSummary.from_frame(cohort.X, used_fields(config.feature_set)),
        metadata=metadata | {
            "family": selected,
            "feature_set": config.feature_set,
            "probability_interval_level": config.uncertainty.probability_interval_level,
            "delta_interval_level": config.uncertainty.delta_interval_level,
        },
    )
