"""A fitted forest's output from shap's compiled tree evaluator: one C call per forest.

sklearn scores a forest tree by tree, and each tree's ``predict_proba`` spends ~7 µs in Python
input checks. The bootstrap interval of a random-forest model has 30 forests of 200 trees, so a
request cost ~45 ms before anything else. ``shap``'s ``TreeEnsemble`` (already used for the
forest's SHAP values) holds the same trees as arrays and evaluates all of them in one C call
(~15 µs for 8 rows and 200 trees). Like sklearn, it compares float32 inputs against the trees'
thresholds, so the routing is identical; ``tests/models/test_forest_eval.py`` holds the outputs
equal to ``predict_proba`` / ``predict`` on values at and beside every threshold.

The compiled form is built on first use per forest (~4 ms) and kept while the forest lives; it is
never serialised.
"""

from __future__ import annotations

import threading
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

_compiled: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
_lock = threading.Lock()


def compiled_forest(forest: Any) -> Any:
    """shap's ``TreeEnsemble`` of a fitted sklearn forest, built once per forest object."""
    with _lock:  # two threads must not build (or half-build) the same one
        ensemble = _compiled.get(forest)
        if ensemble is None:
            from shap.explainers._tree import TreeEnsemble  # heavy: only for forest models

            ensemble = TreeEnsemble(forest, model_output="raw")
            _compiled[forest] = ensemble
        return ensemble


def forest_output(forest: Any, matrix: np.ndarray) -> np.ndarray:
    """``forest.predict_proba(matrix)[:, 1]`` (a binary classifier) or ``forest.predict(matrix)``.

    ``matrix`` holds the model features in the forest's column order, without missing values
    (the pipeline imputes them before the estimator).
    """
    raw = np.asarray(compiled_forest(forest).predict(np.asarray(matrix), output="raw"), float)
    if hasattr(forest, "classes_"):
        if raw.ndim != 2 or raw.shape[1] != 2:
            raise ValueError(f"Expected a binary classifier's two outputs; got shape {raw.shape}.")
        # Summing 200 scaled leaf fractions can land a rounding error above 1 (or below 0).
        return np.clip(raw[:, 1], 0.0, 1.0)
    return raw.reshape(len(raw))
