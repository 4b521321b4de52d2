"""Internal validation of the whole modelling procedure (TRIPOD+AI items 12e, 16, 23a).

The reported numbers describe everything that chose the champion - preprocessing, tuning,
family selection and recalibration (:func:`training.procedure.fit_procedure`) - because all of
it is repeated inside every resample. Two estimators, named in every report:

``nested_cv`` (default; valid for every family)
    Repeated stratified K-fold cross-validation *around* the procedure: each outer training
    part runs the whole procedure (its own grouped inner folds, selection, recalibration) and
    its model predicts the held-out part. Metrics are computed on each repeat's pooled
    out-of-fold predictions and averaged over repeats; their Monte-Carlo error is the SD across
    repeats over sqrt(repeats). Models are trained on (K-1)/K of the patients, so the estimate
    is slightly pessimistic for the champion trained on all of them. Intervals are
    influence-function (Wald) intervals on the pooled predictions: DeLong's variance for the
    AUROC (LeDell, Petersen & van der Laan 2015), the variance of a mean for the Brier score
    and the MAE, the Fisher information of the calibration fits; they treat the fitted models
    as fixed, so they are somewhat narrow.

``bootstrap`` (Harrell's optimism correction; only for procedures whose candidates do not
memorise their training data, which the experiment config enforces)
    The procedure is refitted on B bootstrap samples (inner folds grouped by patient, so copies
    of one patient never sit on both sides) and scored on its own sample and on the original
    patients; the mean difference, the optimism, is subtracted from the apparent performance.
    Intervals: Noma et al. (2021) location-shifted bootstrap. For forests and boosting the
    correction fails (it scores models on patients they memorised), hence the restriction.

References: Harrell, Lee & Mark, Stat Med 1996; Steyerberg, Clinical Prediction Models 2019
ch. 5 and 17; Varma & Simon, BMC Bioinformatics 2006 (selection inside the resampling).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ssc_response.training.candidates import ProcedureSpec
from ssc_response.training.metrics import (
    _logistic_newton,
    auroc,
    brier,
    brier_variance,
    calibration_slope_intercept,
    delong_variance,
    mae,
    r2,
)
from ssc_response.training.procedure import fit_procedure

BINARY = ("auroc", "brier", "calibration_slope", "calibration_intercept")
CONTINUOUS = ("delta_mae", "delta_r2")


@dataclass(frozen=True)
class Estimate:
    """A validated performance value, its interval and its Monte-Carlo error (NaN: none)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")
    mc_error: float = float("nan")


@dataclass
class Assessment:
    """What internal validation measured for the whole procedure."""

    method: str  # "nested_cv" or "bootstrap"
    estimates: dict[str, Estimate]
    per_resample: pd.DataFrame  # one row per repeat (nested_cv) or replicate (bootstrap)
    chosen: list[str]  # the candidate each resample's procedure chose
    resamples: int
    oof_probability: np.ndarray | None = None  # (repeats, n), nested_cv only
    oof_delta: np.ndarray | None = None
    apparent: dict[str, float] = field(default_factory=dict)

    def mean_oof_probability(self) -> np.ndarray | None:
        """Each patient's out-of-fold probability, averaged over repeats (nested_cv)."""
        if self.oof_probability is None:
            return None
        return np.asarray(self.oof_probability.mean(axis=0), dtype=float)

    def selection_frequency(self) -> pd.Series:
        """How often each candidate won across resamples (model stability, TRIPOD+AI 12e)."""
        return pd.Series(self.chosen, dtype=object).value_counts(normalize=True)


def score(y: np.ndarray, p: np.ndarray, delta: np.ndarray,
          predicted_delta: np.ndarray) -> dict[str, float]:
    """Every headline measure of one set of predictions (NaN where undefined)."""
    values = {name: float("nan") for name in BINARY + CONTINUOUS}
    if np.ptp(y) > 0:
        values["auroc"], values["brier"] = auroc(y, p), brier(y, p)
        try:
            values["calibration_slope"], values["calibration_intercept"] = (
                calibration_slope_intercept(y, p))
        except ValueError:  # separation: undefined on this resample
            pass
    values["delta_mae"] = mae(delta, predicted_delta)
    if np.ptp(delta) > 0:
        values["delta_r2"] = r2(delta, predicted_delta)
    return values


def _fit_and_predict(spec: ProcedureSpec, X: pd.DataFrame, y: np.ndarray, delta: np.ndarray,
                     train: np.ndarray, evaluate: list[np.ndarray],
                     groups: np.ndarray | None = None,
                     ) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Fit the procedure on rows ``train``; its (P, ΔmRSS) for each row set in ``evaluate``."""
    with threadpool_limits(limits=1):  # small fits: threads only synchronise
        fitted = fit_procedure(spec, X.iloc[train].reset_index(drop=True), y[train],
                               delta[train], groups)
        predictions = [(fitted.probability(X.iloc[rows]), fitted.predicted_delta(X.iloc[rows]))
                       for rows in evaluate]
    return predictions, fitted.chosen.label


def nested_cross_validation(spec: ProcedureSpec, X: pd.DataFrame, y: np.ndarray,
                            delta: np.ndarray, n_splits: int = 5, n_repeats: int = 4,
                            seed: int = 0, level: float = 0.95, n_jobs: int | None = -1,
                            tick: Callable[[str], None] | None = None) -> Assessment:
    """Repeated stratified K-fold around the whole procedure (see the module docstring)."""
    y, delta = np.asarray(y, dtype=int), np.asarray(delta, dtype=float)
    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    folds = list(splitter.split(np.zeros(len(y)), y))
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_and_predict)(spec, X, y, delta, train, [test]) for train, test in folds)
    probability = np.full((n_repeats, len(y)), np.nan)
    predicted = np.full((n_repeats, len(y)), np.nan)
    chosen = []
    for i, ((_, test), (predictions, label)) in enumerate(zip(folds, results, strict=True)):
        probability[i // n_splits, test], predicted[i // n_splits, test] = predictions[0]
        chosen.append(label)
        if tick:
            tick("validation")
    per_repeat = pd.DataFrame([score(y, probability[r], delta, predicted[r])
                               for r in range(n_repeats)])
    estimates = _cv_estimates(per_repeat, y, probability, delta, predicted, level)
    return Assessment("nested_cv", estimates, per_repeat, chosen, n_repeats, probability,
                      predicted)


def _cv_estimates(per_repeat: pd.DataFrame, y: np.ndarray, probability: np.ndarray,
                  delta: np.ndarray, predicted: np.ndarray,
                  level: float) -> dict[str, Estimate]:
    """Mean over repeats, Wald intervals from variances averaged over repeats, MC errors.

    Repeats share their patients, so their variances are averaged rather than divided by the
    number of repeats (which would pretend they were independent).
    """
    variances = {
        "auroc": [delong_variance(y.astype(float), p) for p in probability],
        "brier": [brier_variance(y.astype(float), p) for p in probability],
        "calibration_slope": [_slope_variance(y, p) for p in probability],
        "calibration_intercept": [_intercept_variance(y, p) for p in probability],
        "delta_mae": [np.var(np.abs(delta - d), ddof=1) / len(delta) for d in predicted],
    }
    z = float(norm.ppf(0.5 + level / 2))
    estimates = {}
    for name in per_repeat.columns:
        values = per_repeat[name].to_numpy(dtype=float)
        value = float(np.nanmean(values))
        mc = float(np.nanstd(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else (
            float("nan"))
        half = z * float(np.sqrt(np.mean(variances[name]))) if name in variances else np.nan
        estimates[name] = _bounded(name, Estimate(value, value - half, value + half, mc))
    return estimates


def _bounded(name: str, estimate: Estimate) -> Estimate:
    """The AUROC's interval truncated to [0, 1], as ``pROC`` truncates DeLong's interval (at
    n = 20 and AUROC 0.98 the Wald bound would otherwise be 1.027)."""
    if name != "auroc":
        return estimate
    low, high = np.clip([estimate.low, estimate.high], 0.0, 1.0)  # NaN stays NaN
    return Estimate(estimate.value, float(low), float(high), estimate.mc_error)


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def _slope_variance(y: np.ndarray, p: np.ndarray) -> float:
    """Var of the calibration slope: inverse Fisher information of ``y ~ a + b logit(p)``."""
    slope, intercept_of_fit = _recalibration_fit(y, p)
    x = _logit(p)
    fitted = 1 / (1 + np.exp(-(intercept_of_fit + slope * x)))
    weight = fitted * (1 - fitted)
    information = np.array([[weight.sum(), (weight * x).sum()],
                            [(weight * x).sum(), (weight * x * x).sum()]])
    return float(np.linalg.inv(information)[1, 1])


def _recalibration_fit(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the logistic regression of y on logit(p)."""
    coefficients = _logistic_newton(_logit(p), y.astype(float))
    return float(coefficients[1]), float(coefficients[0])


def _intercept_variance(y: np.ndarray, p: np.ndarray) -> float:
    """Var of calibration-in-the-large (slope fixed at 1): ``1 / sum p(1-p)`` at the fit."""
    _, intercept = calibration_slope_intercept(y, p)
    fitted = 1 / (1 + np.exp(-(intercept + _logit(p))))
    return float(1.0 / np.sum(fitted * (1 - fitted)))


def bootstrap_optimism(spec: ProcedureSpec, X: pd.DataFrame, y: np.ndarray,
                       delta: np.ndarray, n_boot: int = 200, seed: int = 0,
                       level: float = 0.95, n_jobs: int | None = -1,
                       tick: Callable[[str], None] | None = None) -> Assessment:
    """Harrell's optimism-corrected performance of the whole procedure (see module docstring)."""
    y, delta = np.asarray(y, dtype=int), np.asarray(delta, dtype=float)
    everyone = np.arange(len(y))
    [(p_all, d_all)], _ = _fit_and_predict(spec, X, y, delta, everyone, [everyone])
    apparent = score(y, p_all, delta, d_all)
    samples = _bootstrap_samples(y, n_boot, seed)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_and_predict)(spec, X, y, delta, rows, [rows, everyone], rows)
        for rows in samples)
    rows_out, chosen = [], []
    for rows, (predictions, label) in zip(samples, results, strict=True):
        (p_boot, d_boot), (p_orig, d_orig) = predictions
        on_sample = score(y[rows], p_boot, delta[rows], d_boot)
        on_original = score(y, p_orig, delta, d_orig)
        rows_out.append({**{f"apparent_{k}": v for k, v in on_sample.items()},
                         **{f"test_{k}": v for k, v in on_original.items()}})
        chosen.append(label)
        if tick:
            tick("validation")
    per_replicate = pd.DataFrame(rows_out)
    estimates = _optimism_estimates(apparent, per_replicate, level)
    return Assessment("bootstrap", estimates, per_replicate, chosen, n_boot, apparent=apparent)


def _location_shifted_ci(apparent_boot: np.ndarray, test_boot: np.ndarray, corrected: float,
                         level: float) -> tuple[float, float]:
    """Noma et al. (2021): the percentile spread of apparent_b, moved onto the corrected value.

    The spread is taken around the mean of ``apparent_b``: bootstrap samples repeat patients,
    so ``apparent_b`` sits on the optimistic side of the original apparent value, and shifting
    its raw percentiles by the optimism alone can give an interval that excludes the estimate.
    No interval (NaN) with fewer than 10 valid replicates, or when the apparent value hardly
    varies (SD below 5 % of that of ``test_b``): its value is then fixed by the fit itself
    (e.g. the in-sample calibration slope of a logistic model is 1) and carries no sampling
    information.
    """
    if apparent_boot.size < 10 or np.std(apparent_boot) <= 0.05 * np.std(test_boot):
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(apparent_boot, [tail, 100 - tail])
    centre = float(np.mean(apparent_boot))
    return float(corrected + low - centre), float(corrected + high - centre)


def _bootstrap_samples(y: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """Bootstrap row samples drawn up front (results do not depend on n_jobs); a sample with
    one outcome class only is redrawn."""
    rng = np.random.default_rng(seed)
    samples: list[np.ndarray] = []
    while len(samples) < n_boot:
        rows = rng.integers(0, len(y), size=len(y))
        if np.ptp(y[rows]) > 0:
            samples.append(np.sort(rows))
    return samples


def _optimism_estimates(apparent: Mapping[str, float], per_replicate: pd.DataFrame,
                        level: float) -> dict[str, Estimate]:
    estimates = {}
    for name, value in apparent.items():
        boot = per_replicate[f"apparent_{name}"].to_numpy(dtype=float)
        test = per_replicate[f"test_{name}"].to_numpy(dtype=float)
        valid = np.isfinite(boot) & np.isfinite(test)
        optimism = boot[valid] - test[valid]
        corrected = value - float(np.mean(optimism))
        low, high = _location_shifted_ci(boot[valid], test[valid], corrected, level)
        mc = float(np.std(optimism, ddof=1) / np.sqrt(valid.sum())) if valid.sum() > 1 else (
            float("nan"))
        estimates[name] = _bounded(name, Estimate(corrected, low, high, mc))
    return estimates
