"""Harrell's bootstrap optimism correction of apparent performance.

References
----------
Harrell FE, Lee KL, Mark DB. Multivariable prognostic models. Stat Med 1996;15:361-387.
Steyerberg EW. Clinical Prediction Models, 2nd ed. Springer 2019, ch. 5 and 17.
Noma H, Shinozaki T, Iba K, Teramukai S, Furukawa TA. Confidence intervals of prediction
accuracy measures for multivariable prediction models based on the bootstrap-based
optimism correction methods. Stat Med 2021;40:5691-5701.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed

from training._resampling import (
    FitPredict,
    FloatArray,
    IntArray,
    checked_predictions,
    is_binary,
    n_rows,
    outcome_array,
    take_rows,
)
from training.metrics import Metric, score_all

_MAX_REDRAWS = 1000
_MIN_VALID_FOR_CI = 10


@dataclass(frozen=True)
class OptimismResult:
    """Outcome of :func:`optimism_corrected`; every mapping is keyed by metric name.

    Attributes
    ----------
    apparent : performance of the procedure fitted and evaluated on the original data.
    optimism : mean over valid replicates of ``apparent_boot - test_boot``.
    corrected : ``apparent - optimism``.
    ci_lower, ci_upper : location-shifted bootstrap interval (see :func:`optimism_corrected`).
    apparent_boot : per replicate, fitted and evaluated on the bootstrap sample (NaN = invalid).
    test_boot : per replicate, fitted on the bootstrap sample, evaluated on the original data.
    n_valid : replicates with a finite optimism for that metric.
    n_failed : replicates whose ``fit_predict`` raised; they are NaN in every array.
    n_redrawn : bootstrap samples discarded because they held a single outcome class.
    errors : messages of the failed replicates (first 5), to diagnose failures.
    """

    apparent: dict[str, float]
    optimism: dict[str, float]
    corrected: dict[str, float]
    ci_lower: dict[str, float]
    ci_upper: dict[str, float]
    apparent_boot: dict[str, FloatArray]
    test_boot: dict[str, FloatArray]
    n_valid: dict[str, int]
    n_boot: int
    n_failed: int
    n_redrawn: int
    seed: int
    ci_level: float
    errors: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        """One row per metric: apparent, optimism, corrected, CI bounds and n_valid."""
        columns = ("apparent", "optimism", "corrected", "ci_lower", "ci_upper", "n_valid")
        return pd.DataFrame({c: pd.Series(getattr(self, c)) for c in columns})


def _draw_indices(y: FloatArray, n_boot: int, seed: int) -> tuple[list[IntArray], int]:
    """Pre-draw all bootstrap samples so results do not depend on ``n_jobs``.

    For a binary outcome, samples with a single class are redrawn: no classifier can be
    fitted on them, and dropping them (rather than failing) is the usual practice.
    The redraw count is reported because it makes the bootstrap slightly conditional.
    """
    rng = np.random.default_rng(seed)
    binary = is_binary(y)
    samples: list[IntArray] = []
    redrawn = 0
    while len(samples) < n_boot:
        rows = rng.integers(0, y.size, size=y.size)
        if binary and np.ptp(y[rows]) == 0:
            redrawn += 1
            if redrawn > _MAX_REDRAWS:
                raise ValueError(
                    "bootstrap keeps drawing one class only; the minority is too small."
                )
            continue
        samples.append(rows)
    return samples, redrawn


def _replicate(
    fit_predict: FitPredict,
    x: Any,
    y_raw: Any,
    y: FloatArray,
    rows: IntArray,
    metrics: Mapping[str, Metric],
) -> tuple[dict[str, float], dict[str, float]] | str:
    """One bootstrap replicate: (apparent_b, test_b) scores, or the error message."""
    x_boot, y_boot = take_rows(x, rows), take_rows(y_raw, rows)
    try:
        pred_boot, pred_orig = checked_predictions(fit_predict, x_boot, y_boot, [x_boot, x])
    except Exception as exc:  # a replicate may fail (e.g. a tuner on a degenerate sample)
        return f"{type(exc).__name__}: {exc}"
    apparent = score_all(metrics, y[rows], pred_boot, strict=False)
    return apparent, score_all(metrics, y, pred_orig, strict=False)


def _location_shifted_ci(
    apparent_boot: FloatArray, optimism: float, level: float
) -> tuple[float, float]:
    finite = apparent_boot[np.isfinite(apparent_boot)]
    # A constant apparent distribution (e.g. the calibration slope of an unpenalised GLM
    # is always 1 in-sample) carries no sampling information: no interval, not a fake one.
    if finite.size < _MIN_VALID_FOR_CI or np.ptp(finite) < 1e-12:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low - optimism), float(high - optimism)


def _collect(
    outcomes: list[tuple[dict[str, float], dict[str, float]] | str], names: Sequence[str]
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], list[str]]:
    errors = [o for o in outcomes if isinstance(o, str)]
    apparent = {m: np.full(len(outcomes), np.nan) for m in names}
    test = {m: np.full(len(outcomes), np.nan) for m in names}
    for b, outcome in enumerate(outcomes):
        if isinstance(outcome, str):
            continue
        for m in names:
            apparent[m][b], test[m][b] = outcome[0][m], outcome[1][m]
    return apparent, test, errors


def optimism_corrected(
    fit_predict: FitPredict,
    X: Any,
    y: Any,
    metrics: Mapping[str, Metric],
    n_boot: int = 200,
    seed: int = 0,
    n_jobs: int | None = 1,
    ci_level: float = 0.95,
) -> OptimismResult:
    """Bootstrap optimism-corrected performance of a whole modelling procedure.

    Algorithm (Harrell, Lee & Mark 1996; Steyerberg 2019, ch. 5):

    1. ``apparent``: fit on the original data, evaluate on the original data.
    2. For each bootstrap sample ``b`` (n rows drawn with replacement): fit on it, evaluate
       on it (``apparent_b``) and on the original data (``test_b``);
       ``optimism_b = apparent_b - test_b``.
    3. ``corrected = apparent - mean(optimism_b)``.

    Because ``fit_predict`` re-runs tuning and selection inside every replicate, the
    optimism of those steps is corrected too.

    Confidence interval: the *location-shifted bootstrap* interval of Noma et al. (2021):
    the percentile interval of ``apparent_b`` shifted by the mean optimism,
    ``[q_lo(apparent_b) - optimism, q_hi(apparent_b) - optimism]``. It reuses the same
    replicates (a double bootstrap would cost ``n_boot**2`` fits) and had near-nominal
    coverage in their simulations. Limitations: it treats the optimism as a constant
    (its own uncertainty is ignored), so it can be too narrow at very small n or with
    strongly data-driven procedures; and it is undefined (NaN) for measures whose apparent
    value never varies, e.g. the calibration slope of an unpenalised logistic model.

    Notes
    -----
    * Binary outcomes: bootstrap samples holding a single class are redrawn and counted
      in ``n_redrawn``.
    * A replicate whose ``fit_predict`` raises is recorded as failed (NaN) with its
      message in ``errors``; a metric that is undefined on a replicate is NaN for that
      metric only. Averages use the valid replicates (``n_valid``). The apparent fit on
      the original data is not guarded: errors there propagate.
    * Harrell's bootstrap under-corrects learners that memorise the training data
      (1-nearest-neighbour, fully grown trees, random forests): the original data
      share ~63% of rows with each bootstrap sample, so ``test_b`` is itself optimistic.
      Compare with :func:`training.cross_validation.repeated_cv_predictions` for them.
    * Reproducible for a given ``seed`` whatever ``n_jobs``: all samples are drawn up
      front, provided ``fit_predict`` itself is deterministic.

    Parameters
    ----------
    fit_predict : callable
        ``fit_predict(X_train, y_train, X_eval_list) -> list of 1-D predictions``.
    X : DataFrame or array of shape (n, p)
    y : Series or array of shape (n,)
        Passed to ``fit_predict`` with its type kept; metrics receive float arrays.
    metrics : mapping of name to ``metric(y, pred) -> float``
    n_boot : int, default 200
    seed : int, default 0
    n_jobs : int or None, default 1
        Parallel workers (joblib); ``-1`` uses all cores.
    ci_level : float, default 0.95

    Returns
    -------
    OptimismResult
    """
    if n_boot < 1 or not 0 < ci_level < 1 or not metrics:
        raise ValueError(
            f"need n_boot >= 1, 0 < ci_level < 1 and at least one metric; received "
            f"n_boot={n_boot}, ci_level={ci_level}, metrics={list(metrics)}."
        )
    y_arr = outcome_array(y)
    if n_rows(X) != y_arr.size:
        raise ValueError(f"X has {n_rows(X)} rows but y has {y_arr.size}.")
    names = list(metrics)
    pred_apparent = checked_predictions(fit_predict, X, y, [X])[0]
    apparent = score_all(metrics, y_arr, pred_apparent, strict=True)
    samples, redrawn = _draw_indices(y_arr, n_boot, seed)
    outcomes = Parallel(n_jobs=n_jobs)(
        delayed(_replicate)(fit_predict, X, y, y_arr, rows, metrics) for rows in samples
    )
    apparent_boot, test_boot, errors = _collect(list(outcomes), names)
    if len(errors) == n_boot:
        raise RuntimeError(f"all {n_boot} bootstrap replicates failed; first error: {errors[0]}")
    return _summarise(apparent, apparent_boot, test_boot, errors, (n_boot, redrawn, seed), ci_level)


def _summarise(
    apparent: dict[str, float],
    apparent_boot: dict[str, FloatArray],
    test_boot: dict[str, FloatArray],
    errors: list[str],
    design: tuple[int, int, int],
    ci_level: float,
) -> OptimismResult:
    n_boot, redrawn, seed = design
    optimism: dict[str, float] = {}
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    n_valid: dict[str, int] = {}
    for m in apparent:
        diffs = apparent_boot[m] - test_boot[m]
        valid = np.isfinite(diffs)
        n_valid[m] = int(valid.sum())
        optimism[m] = float(diffs[valid].mean()) if n_valid[m] else float("nan")
        lower[m], upper[m] = _location_shifted_ci(apparent_boot[m][valid], optimism[m], ci_level)
    return OptimismResult(
        apparent=apparent,
        optimism=optimism,
        corrected={m: apparent[m] - optimism[m] for m in apparent},
        ci_lower=lower,
        ci_upper=upper,
        apparent_boot=apparent_boot,
        test_boot=test_boot,
        n_valid=n_valid,
        n_boot=n_boot,
        n_failed=len(errors),
        n_redrawn=redrawn,
        seed=seed,
        ci_level=ci_level,
        errors=tuple(errors[:5]),
    )
