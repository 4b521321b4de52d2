"""Run an experiment: validate the whole modelling procedure, then fit it on every patient.

Order of work (pre-declared, so the numbers mean what they say):

1. the cohort's labels come from the experiment's own outcome thresholds;
2. the whole procedure (:mod:`training.procedure`: tuning, family selection and recalibration
   on grouped inner folds) is validated by :mod:`training.assessment`, which repeats all of it
   in every resample; a comparison feature set, when the experiment names one, is validated on
   the same resamples (:mod:`training.comparison`);
3. the procedure runs once more on every patient: that is the champion, with the CV+ interval
   of its ΔmRSS model from its own inner folds;
4. its probability interval comes from bootstrap refits of the champion's family that repeat
   its tuning and recalibration (:func:`fit_probability_interval`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ssc_response.features.derived_columns import add_derived_columns
from ssc_response.features.imputation import ChainedImputer
from ssc_response.features.pipeline import FeatureSpec, as_model_frame
from ssc_response.models.calibration import RecalibratedClassifier
from ssc_response.models.probability_interval import ProbabilityInterval
from ssc_response.training.assessment import Assessment, bootstrap_optimism, nested_cross_validation
from ssc_response.training.candidates import ProcedureSpec, ResponseRule, candidates_from
from ssc_response.training.comparison import compare_feature_sets
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.procedure import FittedProcedure, fit_on_features, fit_procedure

log = logging.getLogger(__name__)

Tick = Callable[[str], None]


@dataclass
class Cohort:
    """The analysable patients: model inputs, binary outcome and change in mRSS."""

    frame: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    delta: np.ndarray
    n_excluded: int
    n_out_of_scope: int = 0  # rows outside the experiment's population, set aside


@dataclass
class Validation:
    """What validation measured: the procedure's assessment, and a comparison if asked."""

    assessment: Assessment
    comparison: dict[str, float] = field(default_factory=dict)
    reference: Assessment | None = None
    decision_curves: pd.DataFrame | None = None

    @property
    def method(self) -> str:
        return self.assessment.method


@dataclass
class FinalModel:
    """The procedure fitted on every patient, with its probability interval."""

    procedure: FittedProcedure
    probability_interval: ProbabilityInterval
    missing_draws: ChainedImputer | None = None

    @property
    def selected(self) -> str:
        return self.procedure.chosen.family

    def features(self, X: pd.DataFrame) -> pd.DataFrame:
        """The champion's model features (its fitted preprocessing)."""
        return champion_features(self.procedure, X)

    def probability_with_interval(self, X: pd.DataFrame, level: float,
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(response) and its interval at ``level``."""
        logit = self.procedure.classifier.decision_function(X)
        low, high = self.probability_interval.interval(self.features(X), logit, level)
        return 1 / (1 + np.exp(-logit)), low, high

    def delta_with_interval(self, X: pd.DataFrame, level: float,
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted ΔmRSS and its CV+ interval at ``level`` (points)."""
        conformal = self.procedure.conformal
        if conformal is None:
            raise ValueError("the final procedure was fitted without its CV+ interval")
        features = self.procedure.delta_model[:-1].transform(X)  # the fold estimators' inputs
        baseline = features["mrss_total"].to_numpy(float)
        low, high = conformal.interval(features, baseline, level)
        return self.procedure.predicted_delta(X), low, high


def prepare_cohort(frame: pd.DataFrame, config: ExperimentConfig) -> Cohort:
    """Set aside patients outside the experiment's population; derive outcomes with its
    thresholds; keep patients whose outcome is known."""
    outside = config.population.rules().outside(frame)
    if outside.any():
        log.info("%d rows set aside: outside the population the model is for", outside.sum())
    frame = frame.loc[~outside].reset_index(drop=True)
    derived = add_derived_columns(frame, config.outcome.thresholds())
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
        n_out_of_scope=int(outside.sum()),
    )


def procedure_spec(config: ExperimentConfig, features: FeatureSpec | None = None,
                   ) -> ProcedureSpec:
    """The experiment's modelling procedure (candidates, features, rule, inner folds, seed)."""
    v = config.validation
    return ProcedureSpec(
        candidates=candidates_from(config.estimators),
        features=features or config.features(),
        rule=ResponseRule(*config.outcome.skin_rule()),
        inner_splits=v.inner_splits,
        selection_metric=v.selection_metric,
        seed=v.seed,
    )


def validate(cohort: Cohort, config: ExperimentConfig, tick: Tick | None = None) -> Validation:
    """Validate the whole procedure; with a comparison, the reference on the same resamples."""
    spec = procedure_spec(config)
    assessment = _assess(spec, cohort, config, tick)
    reference_features = config.reference_features()
    if reference_features is None:
        return Validation(assessment)
    reference = _assess(procedure_spec(config, reference_features), cohort, config, tick)
    differences, curves = compare_feature_sets(cohort.y, assessment, reference,
                                               config.validation.interval_level)
    return Validation(assessment, differences, reference, curves)


def _assess(spec: ProcedureSpec, cohort: Cohort, config: ExperimentConfig,
            tick: Tick | None) -> Assessment:
    v = config.validation
    if v.method == "bootstrap":
        return bootstrap_optimism(spec, cohort.X, cohort.y, cohort.delta, v.bootstrap, v.seed,
                                  v.interval_level, v.n_jobs, tick)
    return nested_cross_validation(spec, cohort.X, cohort.y, cohort.delta, v.cv_splits,
                                   v.cv_repeats, v.seed, v.interval_level, v.n_jobs, tick)


def fit_final(cohort: Cohort, config: ExperimentConfig, tick: Tick | None = None) -> FinalModel:
    """The procedure on every patient (with its ΔmRSS CV+ interval), then its probability
    interval from bootstrap refits of the champion's family."""
    spec = procedure_spec(config)
    with threadpool_limits(limits=1):
        procedure = fit_procedure(spec, cohort.X, cohort.y, cohort.delta, conformal=True)
    log.info("champion %s (recalibration intercept %.2f, slope %.2f)", procedure.chosen.label,
             *procedure.recalibration)
    if tick:
        tick("final model")
    interval = fit_probability_interval(spec, procedure, cohort, config, tick)
    return FinalModel(procedure, interval, fit_missing_draws(procedure, cohort.X))


def fit_missing_draws(procedure: FittedProcedure, X: pd.DataFrame) -> ChainedImputer:
    """The champion's imputation step refitted to draw (``sample_posterior=True``) over the
    training range (min-max, not the point imputation's 5th-95th percentiles): what the
    service draws a patient's blank fields from (:mod:`models.missing_range`)."""
    preprocess = procedure.classifier.named_steps["preprocess"]
    columns = preprocess.named_steps["encode"].named_steps["columns"].transform(
        preprocess.named_steps["indices"].transform(X))
    point = preprocess.named_steps["encode"].named_steps["impute"]
    draws = clone(point).set_params(sample_posterior=True, quantiles=(0.0, 1.0),
                                    add_indicator=False)
    return draws.fit(columns)


def champion_features(procedure: FittedProcedure, X: pd.DataFrame) -> pd.DataFrame:
    """The champion's model features (its fitted preprocessing), named."""
    return procedure.classifier.named_steps["preprocess"].transform(X)


def fit_probability_interval(spec: ProcedureSpec, procedure: FittedProcedure, cohort: Cohort,
                             config: ExperimentConfig,
                             tick: Tick | None = None) -> ProbabilityInterval:
    """B refits of the champion's family on bootstrap samples of its features, each tuned on
    its own grouped inner folds and recalibrated on its own out-of-fold scores."""
    family_spec = replace(spec, candidates=tuple(
        c for c in spec.candidates if c.family == procedure.chosen.family))
    features = champion_features(procedure, cohort.X)
    samples = _bootstrap_rows(cohort.y, config.uncertainty.bootstrap_models, spec.seed)
    members = Parallel(n_jobs=config.validation.n_jobs, return_as="generator")(
        delayed(_member)(replace(family_spec, seed=spec.seed + b), features, cohort, rows)
        for b, rows in enumerate(samples))
    fitted = []
    for member in members:
        fitted.append(member)
        if tick:
            tick("probability interval")
    return ProbabilityInterval(fitted, feature_names=list(features.columns))


def _member(spec: ProcedureSpec, features: pd.DataFrame, cohort: Cohort,
            rows: np.ndarray) -> RecalibratedClassifier:
    with threadpool_limits(limits=1):
        return fit_on_features(spec, features.iloc[rows], cohort.y[rows], cohort.delta[rows],
                               rows)


def _bootstrap_rows(y: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    """``n`` bootstrap samples of row numbers, each holding both outcome classes."""
    rng = np.random.default_rng([seed, 7])
    samples: list[np.ndarray] = []
    while len(samples) < n:
        rows = np.sort(rng.integers(0, len(y), size=len(y)))
        if np.ptp(y[rows]) > 0:
            samples.append(rows)
    return samples
