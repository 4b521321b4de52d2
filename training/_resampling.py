"""Row selection, outcome coercion and the ``fit_predict`` contract shared by the validators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

FitPredict = Callable[[Any, Any, list[Any]], Sequence[Any]]
"""``fit_predict(X_train, y_train, X_eval_list) -> predictions per eval set``.

Must run the *whole* modelling procedure (preprocessing, feature selection, tuning)
on ``X_train, y_train`` and be deterministic given its inputs (fix ``random_state``).
Binary outcomes: return probabilities of class 1, one 1-D array per eval set.
"""


def take_rows(data: Any, rows: IntArray) -> Any:
    """Return ``rows`` of a DataFrame, Series or array, keeping its type.

    Pandas objects get a fresh ``RangeIndex`` because a bootstrap sample repeats
    rows, and duplicated index labels break joins and ``.loc`` in user pipelines.
    """
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.iloc[rows].reset_index(drop=True)
    return np.asarray(data)[rows]


def outcome_array(y: Any) -> FloatArray:
    """Return the outcome as a finite 1-D float array (metrics work on floats)."""
    values = np.asarray(y, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"y must be 1-D; received shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("y contains missing or infinite values; drop or impute them first.")
    return values


def is_binary(y: FloatArray) -> bool:
    """Whether ``y`` is a 0/1 outcome with both classes present."""
    return set(np.unique(y).tolist()) == {0.0, 1.0}


def n_rows(data: Any) -> int:
    """Number of rows of a DataFrame, Series or array."""
    return int(np.shape(data)[0])


def checked_predictions(
    fit_predict: FitPredict, x_train: Any, y_train: Any, evals: list[Any]
) -> list[FloatArray]:
    """Call ``fit_predict`` and check it returned one 1-D prediction per eval row."""
    predictions = list(fit_predict(x_train, y_train, evals))
    if len(predictions) != len(evals):
        raise ValueError(
            f"fit_predict returned {len(predictions)} prediction sets for {len(evals)} eval sets."
        )
    out = [np.asarray(pred, dtype=float) for pred in predictions]
    for pred, x_eval in zip(out, evals, strict=True):
        if pred.shape != (n_rows(x_eval),):
            raise ValueError(
                f"fit_predict must return 1-D predictions of length {n_rows(x_eval)} "
                f"(class-1 probabilities for a binary outcome); received shape {pred.shape}."
            )
    return out


_MAX_REDRAWS = 1000


def bootstrap_rows(y: FloatArray, n_boot: int, seed: int) -> tuple[list[IntArray], int]:
    """Draw all bootstrap samples up front, so results do not depend on ``n_jobs``.

    For a binary outcome a sample holding one class only is redrawn: no classifier can
    be fitted on it. The redraw count is returned because it makes the bootstrap
    slightly conditional (on both classes being present).
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
