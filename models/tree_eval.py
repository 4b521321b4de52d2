"""Tree-ensemble outputs from shap's compiled tree evaluator: one C call per model.

sklearn scores a forest tree by tree, and each tree's ``predict_proba`` spends ~7 µs in Python
input checks: the bootstrap interval of a random-forest model (30 forests of 200 trees) cost
~45 ms per request. A histogram gradient-boosting model costs ~0.5 ms per ``predict_proba`` call
in checks, x 30 bootstrap members. ``shap``'s ``TreeEnsemble`` (already used for these models'
SHAP values) holds the same trees as arrays and evaluates all of them in one C call (~15 µs for
8 rows and 200 trees). It reads inputs in the model's own precision (float32 for forests, float64
for histogram boosting), so every row takes the same branches; ``tests/models/test_tree_eval.py``
holds the outputs equal to sklearn's on values at and beside every split threshold.

The compiled form is built on first use per model (~4 ms for a 200-tree forest) and kept while
the model lives; it is never serialised.
"""

from __future__ import annotations

import threading
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from scipy.special import expit
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

# Raw output = P(class 1) (mean of the trees' class fractions) / the mean prediction.
AVERAGED = (RandomForestClassifier, ExtraTreesClassifier, RandomForestRegressor,
            ExtraTreesRegressor)
# Raw output = the log-odds of class 1 (classifier) / the prediction (regressor).
BOOSTED = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
SUPPORTED = AVERAGED + BOOSTED

_compiled: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
_lock = threading.Lock()


def supports(model: Any) -> bool:
    """Whether :func:`tree_output` can score ``model``: a supported type, binary if a classifier."""
    classes = getattr(model, "classes_", None)
    return isinstance(model, SUPPORTED) and (classes is None or len(classes) == 2)


def compiled_trees(model: Any) -> Any:
    """shap's ``TreeEnsemble`` of a fitted model, built once per model object."""
    with _lock:  # two threads must not build (or half-build) the same one
        ensemble = _compiled.get(model)
        if ensemble is None:
            from shap.explainers._tree import TreeEnsemble  # heavy: only for tree models

            ensemble = TreeEnsemble(model, model_output="raw")
            _compiled[model] = ensemble
        return ensemble


def tree_output(model: Any, matrix: np.ndarray) -> np.ndarray:
    """``model.predict_proba(matrix)[:, 1]`` (a binary classifier) or ``model.predict(matrix)``.

    ``matrix`` holds the model features in the model's column order, without missing values
    (the pipeline imputes them before the estimator).
    """
    if not supports(model):
        classes = getattr(model, "classes_", None)
        raise ValueError("Expected a binary classifier or a regressor among the supported tree "
                         f"models; got {type(model).__name__} with classes {classes}.")
    raw = np.asarray(compiled_trees(model).predict(np.asarray(matrix), output="raw"), float)
    if not hasattr(model, "classes_"):
        return raw.reshape(len(raw))
    if isinstance(model, BOOSTED):
        return np.asarray(expit(raw.reshape(len(raw))), dtype=float)
    # Summing 200 scaled leaf fractions can land a rounding error above 1 (or below 0).
    return np.clip(raw[:, 1], 0.0, 1.0)
