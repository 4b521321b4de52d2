"""Compiled forest outputs equal sklearn's, including for values exactly at split thresholds."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from models import forest_eval
from models.forest_eval import forest_output


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 6))
    x[:, 5] = rng.integers(0, 2, size=300)  # a 0/1 column, like a one-hot feature
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 5] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    return x, y


def at_thresholds(forest: Any, base: np.ndarray) -> np.ndarray:
    """Rows with one feature set exactly at a split threshold, and just above it."""
    rows = []
    for tree in forest.estimators_[:10]:
        inner = tree.tree_.feature >= 0
        for feature, threshold in zip(tree.tree_.feature[inner], tree.tree_.threshold[inner],
                                      strict=True):
            for value in (threshold, np.nextafter(threshold, np.inf)):
                row = base.copy()
                row[feature] = value
                rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("kind", [RandomForestClassifier, ExtraTreesClassifier])
def test_classifier_probabilities_equal_predict_proba(kind: Any) -> None:
    x, y = data()
    forest = kind(n_estimators=50, min_samples_leaf=3, random_state=0).fit(x, y)
    probe = np.vstack([x[:50], at_thresholds(forest, x[0])])

    np.testing.assert_allclose(forest_output(forest, probe), forest.predict_proba(probe)[:, 1],
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", [RandomForestRegressor, ExtraTreesRegressor])
def test_regressor_outputs_equal_predict(kind: Any) -> None:
    x, _ = data(1)
    target = x[:, 0] * 3 - x[:, 2]
    forest = kind(n_estimators=40, random_state=0).fit(x, target)
    probe = np.vstack([x[:50], at_thresholds(forest, x[1])])

    np.testing.assert_allclose(forest_output(forest, probe), forest.predict(probe),
                               rtol=0, atol=1e-10)


def test_a_multiclass_forest_is_refused() -> None:
    x, y = data()
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y + (x[:, 3] > 1))
    with pytest.raises(ValueError, match="binary"):
        forest_output(forest, x[:3])


def test_compiled_once_per_forest_and_dropped_with_it() -> None:
    x, y = data()
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    first = forest_eval.compiled_forest(forest)

    assert forest_eval.compiled_forest(forest) is first
    compiled = weakref.ref(first)
    del forest, first
    gc.collect()
    assert compiled() is None  # not kept alive by the cache
