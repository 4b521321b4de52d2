"""Updating a registered model for a new centre: three updates and a closed test between them.

The three standard updates (Steyerberg 2019, ch. 20; Vergouwe et al., Stat Med 2017;36:4529-39),
each fitted on the new centre's patients with the one logistic fit (:mod:`models.logistic_fit`):

* ``intercept``: ``logit P = a + LP`` (recalibration in the large; the slope stays 1);
* ``recalibration``: ``logit P = a + b LP`` (logistic recalibration);
* ``refit``: the whole modelling procedure of the model's experiment, run on the new centre
  (:func:`training.experiment.fit_final`).

``LP`` is the served model's log-odds. The first two are exact rewrites of the served model:
its recalibration ``i + s raw`` becomes ``(a + b i) + (b s) raw`` in the classifier and in every
bootstrap member of the probability interval (whose spread, the interval, scales by ``b``).

**The ΔmRSS model follows.** Its predicted change is shifted by the mean residual at the new
centre (a re-estimated offset) and its residual SD multiplied by the root mean square of the
standardised residuals there (a recalibrated scale). The CV+ interval is rebuilt on the new
centre: its fold estimators get the same offset and scale, and the new patients, each assigned
to one fold estimator, give the conformity scores (fold estimators never fitted on the new
centre, so these scores are held-out ones). A refit rebuilds the interval from its own folds.

**Closed testing** (Vergouwe et al. 2017): likelihood-ratio tests on the new centre, at 5 %,
each of a simpler model against the refit, in order of extent: the served model
(df = parameters + 1), the intercept update (df = parameters), the logistic recalibration
(df = parameters - 1). The first that is not significantly worse than the refit is chosen; the
refit only when all three are. Each hypothesis is tested only after the larger ones containing
it were rejected, so the procedure keeps the 5 % error rate overall. The refit's parameters
are counted as its model features plus one; its likelihood is its apparent one, as in the paper
(penalised families make the test conservative).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit, log_expit
from scipy.stats import chi2
from sklearn.pipeline import Pipeline

from ssc_response.models.bundle import ResponseModel
from ssc_response.models.calibration import RecalibratedClassifier
from ssc_response.models.conformal import ConformalDelta
from ssc_response.models.delta import DeltaMrssClassifier
from ssc_response.models.logistic_fit import fit_intercept_slope, fit_intercept_with_offset
from ssc_response.models.probability_interval import ProbabilityInterval

METHODS = ("none", "intercept", "recalibration", "refit")
ALPHA = 0.05


def log_likelihood(y: np.ndarray, logit: np.ndarray) -> float:
    """Bernoulli log-likelihood of outcomes ``y`` under log-odds ``logit``."""
    return float(np.sum(y * log_expit(logit) + (1 - y) * log_expit(-logit)))


@dataclass(frozen=True)
class Recalibration:
    """``logit P_new = intercept + slope * LP``."""

    intercept: float
    slope: float = 1.0

    def apply(self, lp: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(lp, dtype=float)


def fit_intercept_update(lp: np.ndarray, y: np.ndarray) -> Recalibration:
    return Recalibration(float(fit_intercept_with_offset(lp, y).coefficients[0]))


def fit_logistic_recalibration(lp: np.ndarray, y: np.ndarray) -> Recalibration:
    intercept, slope = fit_intercept_slope(lp, y).coefficients
    return Recalibration(float(intercept), float(slope))


@dataclass(frozen=True)
class ClosedTest:
    """Each likelihood-ratio test (name, statistic, df, p-value) and the method chosen."""

    tests: tuple[tuple[str, float, int, float], ...]
    chosen: str


def closed_test(y: np.ndarray, lp: np.ndarray, refit_logit: np.ndarray,
                refit_parameters: int) -> ClosedTest:
    """Vergouwe et al.'s closed testing procedure (module docstring)."""
    ll = {"none": log_likelihood(y, lp),
          "intercept": log_likelihood(y, fit_intercept_update(lp, y).apply(lp)),
          "recalibration": log_likelihood(y, fit_logistic_recalibration(lp, y).apply(lp)),
          "refit": log_likelihood(y, refit_logit)}
    tests = []
    for simpler, df in (("none", refit_parameters + 1), ("intercept", refit_parameters),
                        ("recalibration", max(refit_parameters - 1, 1))):
        statistic = max(0.0, 2 * (ll["refit"] - ll[simpler]))
        p_value = float(chi2.sf(statistic, df))
        tests.append((f"refit vs {simpler}", statistic, df, p_value))
        if p_value >= ALPHA:  # the simpler model is not significantly worse: keep it
            return ClosedTest(tuple(tests), simpler)
    chosen = "refit"
    return ClosedTest(tuple(tests), chosen)


# --- the served model rewritten -------------------------------------------------------------------

def _recalibrated_member(member: RecalibratedClassifier,
                         update: Recalibration) -> RecalibratedClassifier:
    """``(a + b i) + (b s) raw``: the member's own recalibration composed with the update."""
    changed = copy.deepcopy(member)
    changed.intercept = update.intercept + update.slope * member.intercept
    changed.slope = update.slope * member.slope
    return changed


def recalibrated_model(model: ResponseModel, update: Recalibration) -> ResponseModel:
    """The served model with its probability (and its interval) recalibrated by ``update``."""
    classifier = copy.deepcopy(model.classifier)
    classifier.steps[-1] = ("estimator", _recalibrated_member(model.estimator, update))
    members = model.probability_members
    interval = ProbabilityInterval([_recalibrated_member(m, update) for m in members.members_],
                                   members.feature_names_)
    delta_model = model.delta_model
    if delta_model is None:  # the ΔmRSS model was the champion: keep it apart from the update
        delta_model = Pipeline([("preprocess", model.classifier.named_steps["preprocess"]),
                                ("estimator", model.estimator.estimator_)])
    return replace(model, classifier=classifier, probability_members=interval,
                   delta_model=delta_model, probes=None)


def _shifted(estimator: DeltaMrssClassifier, offset: float,
             scale: float) -> DeltaMrssClassifier:
    """A ΔmRSS estimator with its predicted change moved by ``offset`` and its SD scaled."""
    changed = copy.deepcopy(estimator)
    changed.intercept_ = estimator.intercept_ + offset
    for name in ("sd_intercept_", "sd_slope_", "sd_floor_"):
        setattr(changed, name, getattr(estimator, name) * scale)
    return changed


def delta_followed(model: ResponseModel, X: object, delta: np.ndarray,
                   seed: int) -> tuple[ResponseModel, float, float]:
    """The ΔmRSS model and its CV+ interval moved to the new centre (module docstring);
    returns the model, the offset and the scale. ``model.delta_model`` must be set."""
    assert model.delta_model is not None
    _, delta_features = model.transform(X)  # type: ignore[arg-type]
    estimator = model.delta_model.named_steps["estimator"]
    offset = float(np.mean(delta - estimator.predict_delta(delta_features)))
    shifted = _shifted(estimator, offset, 1.0)
    standardised = (delta - shifted.predict_delta(delta_features)) / shifted.residual_sd(
        delta_features)
    scale = float(np.sqrt(np.mean(standardised**2)))
    delta_model = Pipeline([("preprocess", model.delta_model.named_steps["preprocess"]),
                            ("estimator", _shifted(estimator, offset, scale))])
    folds = [_shifted(e, offset, scale) for e in model.delta_cv_plus.fold_estimators_]
    fold_of = np.random.default_rng(seed).integers(0, len(folds), size=len(delta))
    scores = np.empty(len(delta))
    for k, fold in enumerate(folds):
        rows = fold_of == k
        part = delta_features.iloc[np.flatnonzero(rows)]
        scores[rows] = np.abs(delta[rows] - fold.predict_delta(part)) / fold.residual_sd(part)
    cv_plus = ConformalDelta(folds, fold_of, scores)
    return replace(model, delta_model=delta_model, delta_cv_plus=cv_plus), offset, scale


def probability_of(model: ResponseModel, X: object) -> np.ndarray:
    """P(response) of ``model`` for validated records ``X``."""
    _, features = model.transform(X)  # type: ignore[arg-type]
    return np.asarray(expit(model.logit(features)), dtype=float)
