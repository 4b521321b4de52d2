"""Estimator factories: each returns an *unfitted* model pipeline for one estimator family.

Families are named in experiment files (``experiments/*.yaml``). Hyper-parameters use the
pipeline's ``estimator__`` prefix, so a search space reads ``{"estimator__C": [0.1, 1.0]}``.

Every family reads the same features: the shared preprocessing's imputed, encoded frame, in
clinical units. Scaling belongs to the estimators that need it: the penalised logistic
regressions standardise inside their own ``fit`` (:class:`StandardisedLogisticRegression`) and
the ΔmRSS ridge inside its own (:class:`models.delta.DeltaMrssClassifier`); trees need none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ssc_response.features.pipeline import FeatureSpec, build_preprocessor
from ssc_response.models.delta import DeltaMrssClassifier

DELTA_ALPHAS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)  # ridge penalties of the ΔmRSS model


@dataclass(frozen=True)
class Family:
    """An estimator family: how to build it and what it is trained on."""

    name: str
    make: Callable[[int], BaseEstimator]
    target: str  # "binary": the responder flag; "delta": the continuous change in mRSS
    description: str
    # Tree ensembles nearly reproduce their training outcomes, so in-sample performance says
    # little and Harrell's bootstrap, which scores each bootstrap model on patients it mostly
    # trained on, under-corrects them grossly: they are validated by cross-validation instead.
    memorises: bool = False
    # Reads an input column by name (the ΔmRSS model: baseline mRSS), so it must be fitted on a
    # frame; the others can be fitted on a plain array (models/probability_interval.py).
    reads_columns: bool = False


class StandardisedLogisticRegression(LogisticRegression):
    """Penalised logistic regression fitted on standardised inputs, predicting from raw ones.

    A penalty's strength depends on each input's unit unless the inputs are standardised, so
    ``fit`` standardises (:class:`sklearn.preprocessing.StandardScaler`, on the rows it is given:
    inside every resample) and then folds the scaling back into ``coef_`` and ``intercept_``.
    The fitted model is the one fitted on the standardised inputs, and a prediction is one dot
    product on the features as every other estimator reads them, with no scaling step to run.
    """

    def fit(self, X: pd.DataFrame | np.ndarray, y: np.ndarray,
            sample_weight: np.ndarray | None = None) -> StandardisedLogisticRegression:
        scaler = StandardScaler().fit(X)
        scaled = scaler.transform(X)
        if isinstance(X, pd.DataFrame):  # keep the names, so predictions check them
            scaled = pd.DataFrame(scaled, columns=X.columns, index=X.index)
        super().fit(scaled, y, sample_weight)
        # Set by LogisticRegression.fit, which mypy cannot see through.
        coef = self.coef_ / scaler.scale_  # type: ignore[has-type]
        self.intercept_ = self.intercept_ - coef @ scaler.mean_  # type: ignore[has-type]
        self.coef_ = coef
        return self


def _logistic(l1_ratio: float) -> Callable[[int], BaseEstimator]:
    def make(seed: int) -> BaseEstimator:
        return StandardisedLogisticRegression(
            C=1.0, l1_ratio=l1_ratio, solver="saga", max_iter=5000, random_state=seed
        )

    return make


def _random_forest(seed: int) -> BaseEstimator:
    return RandomForestClassifier(
        n_estimators=100, min_samples_leaf=5, max_features="sqrt", random_state=seed, n_jobs=1
    )


def _gradient_boosting(seed: int) -> BaseEstimator:
    # Shallow trees, strong shrinkage and early stopping off: at 30-300 patients boosting
    # overfits quickly, and the validation split early stopping needs would be tiny.
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=100, max_depth=3, min_samples_leaf=10,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )


def _delta_regression(seed: int) -> BaseEstimator:
    return DeltaMrssClassifier()  # deterministic: nothing to seed


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("logistic_l1", _logistic(1.0), "binary", "L1-penalised logistic regression"),
        Family("logistic_l2", _logistic(0.0), "binary", "L2-penalised logistic regression"),
        Family(
            "logistic_elasticnet", _logistic(0.5), "binary",
            "elastic-net logistic regression",
        ),
        Family("random_forest", _random_forest, "binary", "random forest", True),
        Family(
            "gradient_boosting", _gradient_boosting, "binary",
            "histogram gradient boosting", True,
        ),
        Family(
            "delta_mrss_regression", _delta_regression, "delta",
            "ridge regression of the change in mRSS; P(response) from its residual distribution "
            "(SD growing with baseline) at the rule's whole-point cut", reads_columns=True,
        ),
    )
}


def family(name: str) -> Family:
    """Look up a family by name, with an error that lists the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(
            f"unknown estimator family {name!r}; known families: {', '.join(FAMILIES)}"
        ) from None


def make_pipeline(
    family_name: str, feature_set: FeatureSpec | str = "both",
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> Pipeline:
    """An unfitted preprocessing + estimator pipeline for one family."""
    chosen = family(family_name)
    pipeline = Pipeline(
        [
            ("preprocess", build_preprocessor(feature_set)),
            ("estimator", chosen.make(seed)),
        ]
    )
    return pipeline.set_params(**(params or {}))
