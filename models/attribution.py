"""How a fitted estimator's output is attributed to its model features (SHAP values).

Used by :class:`models.explain.GroupedExplainer`, which groups the values back to input fields.

The method depends on the estimator (chosen once, in ``GroupedExplainer.__init__``):

- binary ``LogisticRegression``: exact linear SHAP in logit space against the background mean;
- ``RandomForestClassifier``: ``shap.TreeExplainer`` in probability space (class 1);
- gradient-boosted classifiers: ``shap.TreeExplainer`` in raw (logit) space;
- the champion wrapped in its recalibration (``RecalibratedClassifier``, logit = a + b * raw):
  the inner estimator's attribution in its raw space, times ``b``, with base ``a + b * base`` -
  exact, since the recalibration is affine in the raw score - in logit space;
- the ΔmRSS classifier (``logit_attribution``): its own exact split of the log-odds;
- anything else with ``predict_proba`` (or ``predict`` for a regressor): permutation SHAP on a
  small background sample, in probability (or ΔmRSS) space. Its base value is the mean model
  output over that sample, so additivity holds against that mean.

Tree models use the path-dependent algorithm, whose base value is the training-set mean output
stored in the trees. It is exact and fast; the interventional algorithm took ~25 s for 1,000 rows
of a 300-tree forest and, for ``HistGradientBoosting*`` with missing values, was not additive.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression

from ssc_response.models.calibration import RecalibratedClassifier, raw_space

LOGIT = "logit"
PROBABILITY = "probability"
DELTA_MRSS = "delta_mrss"

# The families of models/estimators.py. A forest stores class frequencies in its leaves, so its
# raw output is the probability; boosted trees add up log-odds.
PROBABILITY_TREES = (RandomForestClassifier,)
LOGIT_TREES = (GradientBoostingClassifier, HistGradientBoostingClassifier)
# Model-agnostic fallback: each row costs 2 x pairs x (features + 1) x background model evaluations.
FALLBACK_BACKGROUND = 50
FALLBACK_PAIRS = 5
FALLBACK_CHUNK = 200_000  # model input rows per call: ~64 MB at 40 features


class Attributor(Protocol):
    """SHAP values of a batch: ``(base value, rows x model features)`` in ``output_space``."""

    output_space: str

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]: ...


class _LinearAttributor:
    """Exact interventional SHAP for ``coef · x + intercept``: no sampling, one vectorised line."""

    def __init__(self, coef: np.ndarray, intercept: float, mean: np.ndarray, space: str) -> None:
        self.output_space = space
        self._coef = coef
        self._mean = mean
        self._base = float(intercept + coef @ mean)

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        return self._base, (matrix - self._mean) * self._coef


class _OwnLogitAttributor:
    """An estimator that splits its own log-odds exactly (``logit_attribution``, see
    :class:`models.delta.DeltaMrssClassifier`) against the background."""

    def __init__(self, estimator: Any, background: np.ndarray) -> None:
        self.output_space = LOGIT
        self._estimator = estimator
        self._background = background

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        base, values = self._estimator.logit_attribution(matrix, self._background)
        return float(base), values


class _RecalibratedAttributor:
    """``logit = a + b * raw``: the raw score's attribution scaled by ``b`` (exact, as the map
    is affine), base ``a + b * base``."""

    def __init__(self, inner: Attributor, intercept: float, slope: float) -> None:
        self.output_space = LOGIT
        self._inner = inner
        self._intercept = intercept
        self._slope = slope

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        base, values = self._inner(matrix)
        return self._intercept + self._slope * base, self._slope * values


class _TreeAttributor:
    """``shap.TreeExplainer`` (path-dependent) in the trees' raw output space."""

    def __init__(self, estimator: Any, space: str) -> None:
        import shap  # heavy: loaded only when a tree model is explained

        self.output_space = space
        self._explainer = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
        expected = np.atleast_1d(self._explainer.expected_value)
        # Forests return one column per class; boosted binary models return a single output.
        self._class = 1 if expected.size == 2 else None
        self._base = float(expected[-1])

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        values = np.asarray(self._explainer.shap_values(matrix, check_additivity=False))
        return self._base, values[..., self._class] if self._class is not None else values


class _ModelOutput:
    """The scalar model output being explained; restores the column names sklearn saw in fit."""

    def __init__(self, estimator: Any, names: list[str], proba: bool) -> None:
        self._estimator = estimator
        self._names = names
        self._proba = proba

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(matrix, columns=self._names)
        if self._proba:
            return np.asarray(self._estimator.predict_proba(frame))[:, 1]
        return np.asarray(self._estimator.predict(frame), dtype=float)


class _PermutationAttributor:
    """Model-agnostic permutation SHAP (antithetic pairs) against a small background sample.

    Each permutation walks from "all features from the background" to "all from the patient";
    the steps telescope, so every row is exactly additive against the background mean output.
    ``shap.PermutationExplainer`` was not used: it seeds numpy's *global* RNG once at start-up,
    so repeated requests for one patient gave different answers (and threads share that RNG).
    Here the permutations are drawn once, so a row gets the same explanation alone or in a batch.
    """

    def __init__(self, model: _ModelOutput, background: np.ndarray, seed: int, space: str) -> None:
        self.output_space = space
        self._model = model
        self._background = background
        self._base = float(np.mean(model(background)))
        rng = np.random.default_rng(seed)
        forward = [rng.permutation(background.shape[1]) for _ in range(FALLBACK_PAIRS)]
        self._orders = [order for f in forward for order in (f, f[::-1])]

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        values = np.zeros_like(matrix, dtype=float)
        # Bound memory: each row expands to (p + 1) x background model inputs per permutation.
        step = max(1, FALLBACK_CHUNK // ((matrix.shape[1] + 1) * len(self._background)))
        for start in range(0, len(matrix), step):
            rows = matrix[start : start + step]
            values[start : start + step] = sum(self._walk(rows, o) for o in self._orders)
        return self._base, values / len(self._orders)

    def _walk(self, rows: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Marginal contributions of each feature when added in ``order`` (rows x features)."""
        n_features, n_background = rows.shape[1], len(self._background)
        rank = np.empty(n_features, dtype=int)
        rank[order] = np.arange(n_features)
        from_row = rank[None, :] < np.arange(n_features + 1)[:, None]  # step k: first k of order
        mixed = np.where(from_row[None, :, None, :], rows[:, None, None, :], self._background)
        means = self._model(mixed.reshape(-1, n_features))
        means = means.reshape(len(rows), n_features + 1, n_background).mean(axis=2)
        contributions = np.empty((len(rows), n_features))
        contributions[:, order] = np.diff(means, axis=1)
        return contributions


def _require_binary(estimator: Any) -> None:
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise ValueError(f"Expected a binary classifier; got classes {list(classes)}.")


def _linear(estimator: Any, background: pd.DataFrame, space: str) -> _LinearAttributor:
    coef = np.ravel(estimator.coef_).astype(float)
    if coef.size != background.shape[1]:
        raise ValueError(
            f"Expected one coefficient per model feature ({background.shape[1]}); got {coef.size}."
        )
    intercept = float(np.ravel(estimator.intercept_)[0]) if np.size(estimator.intercept_) else 0.0
    return _LinearAttributor(coef, intercept, background.to_numpy(dtype=float).mean(axis=0), space)


def _fallback(
    estimator: Any, background: pd.DataFrame, max_background: int, seed: int
) -> _PermutationAttributor:
    proba = hasattr(estimator, "predict_proba")
    if not proba and not hasattr(estimator, "predict"):
        raise TypeError(f"Cannot explain {type(estimator).__name__}: no predict_proba or predict.")
    size = min(max_background, FALLBACK_BACKGROUND, len(background))
    rows = np.random.default_rng(seed).choice(len(background), size, replace=False)
    model = _ModelOutput(estimator, [str(c) for c in background.columns], proba)
    sample = background.to_numpy(dtype=float, na_value=np.nan)[np.sort(rows)]
    return _PermutationAttributor(model, sample, seed, PROBABILITY if proba else DELTA_MRSS)


def _recalibrated(estimator: RecalibratedClassifier, background: pd.DataFrame,
                  max_background: int, seed: int) -> Attributor:
    """The inner estimator's attribution, when it is in the space recalibration reads (its
    decision function's, or its probability); else permutation SHAP of the whole."""
    inner = make_attributor(estimator.estimator_, background, max_background, seed)
    if inner.output_space == {"logit": LOGIT, "probability": PROBABILITY}[
            raw_space(estimator.estimator_)]:
        return _RecalibratedAttributor(inner, estimator.intercept, estimator.slope)
    return _fallback(estimator, background, max_background, seed)


def make_attributor(
    estimator: Any, background: pd.DataFrame, max_background: int, seed: int
) -> Attributor:
    """Pick the method for this estimator type: exact where its structure allows, else sampled."""
    _require_binary(estimator)
    if isinstance(estimator, RecalibratedClassifier):
        return _recalibrated(estimator, background, max_background, seed)
    if hasattr(estimator, "logit_attribution"):
        return _OwnLogitAttributor(estimator, background.to_numpy(dtype=float))
    if isinstance(estimator, LogisticRegression):
        return _linear(estimator, background, LOGIT)
    if isinstance(estimator, PROBABILITY_TREES):
        return _TreeAttributor(estimator, PROBABILITY)
    if isinstance(estimator, LOGIT_TREES):
        return _TreeAttributor(estimator, LOGIT)
    return _fallback(estimator, background, max_background, seed)
