"""Compiled tree-ensemble outputs equal sklearn's, also for values exactly at split thresholds."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression

from models import tree_eval
from models.tree_eval import tree_output


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 6))
    x[:, 5] = rng.integers(0, 2, size=300)  # a 0/1 column, like a one-hot feature
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 5] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    return x, y


def splits(model: Any) -> list[tuple[int, float]]:
    """(feature, threshold) of the first trees' splits, forest or histogram boosting."""
    if hasattr(model, "estimators_"):
        trees = [tree.tree_ for tree in model.estimators_[:10]]
        return [(int(f), float(t)) for tree in trees
                for f, t in zip(tree.feature, tree.threshold, strict=True) if f >= 0]
    nodes = [predictors[0].nodes for predictors in model._predictors[:10]]
    return [(int(n["feature_idx"]), float(n["num_threshold"])) for tree in nodes for n in tree
            if not n["is_leaf"]]


def at_thresholds(model: Any, base: np.ndarray) -> np.ndarray:
    """Rows with one feature set exactly at a split threshold, and just either side of it."""
    rows = []
    for feature, threshold in splits(model):
        for value in (threshold, np.nextafter(threshold, np.inf), np.nextafter(threshold, -np.inf)):
            row = base.copy()
            row[feature] = value
            rows.append(row)
    return np.array(rows)


CLASSIFIERS = [
    RandomForestClassifier(n_estimators=50, min_samples_leaf=3, random_state=0),
    ExtraTreesClassifier(n_estimators=50, min_samples_leaf=3, random_state=0),
    HistGradientBoostingClassifier(max_iter=50, random_state=0),
]
REGRESSORS = [
    RandomForestRegressor(n_estimators=40, random_state=0),
    ExtraTreesRegressor(n_estimators=40, random_state=0),
    HistGradientBoostingRegressor(max_iter=40, random_state=0),
]


@pytest.mark.parametrize("forest", CLASSIFIERS, ids=lambda m: type(m).__name__)
def test_classifier_probabilities_equal_predict_proba(forest: Any) -> None:
    x, y = data()
    forest.fit(x, y)
    probe = np.vstack([x[:50], at_thresholds(forest, x[0])])

    np.testing.assert_allclose(tree_output(forest, probe), forest.predict_proba(probe)[:, 1],
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("forest", REGRESSORS, ids=lambda m: type(m).__name__)
def test_regressor_outputs_equal_predict(forest: Any) -> None:
    x, _ = data(1)
    forest.fit(x, x[:, 0] * 3 - x[:, 2])
    probe = np.vstack([x[:50], at_thresholds(forest, x[1])])

    np.testing.assert_allclose(tree_output(forest, probe), forest.predict(probe),
                               rtol=0, atol=1e-10)


def test_a_multiclass_forest_or_an_unsupported_model_is_refused() -> None:
    x, y = data()
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y + (x[:, 3] > 1))
    with pytest.raises(ValueError, match="binary"):
        tree_output(forest, x[:3])
    with pytest.raises(ValueError, match="LogisticRegression"):
        tree_output(LogisticRegression().fit(x, y), x[:3])


def test_compiled_once_per_forest_and_dropped_with_it() -> None:
    x, y = data()
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    first = tree_eval.compiled_trees(forest)

    assert tree_eval.compiled_trees(forest) is first
    compiled = weakref.ref(first)
    del forest, first
    gc.collect()
    assert compiled() is None  # not kept alive by the cache
