"""Estimator factories: each returns an *unfitted* model pipeline for one estimator family.

The ΔmRSS regressor also has a numpy twin for serving (:func:`compile_delta_regressor`).

Families are named in experiment files (``experiments/*.yaml``). Hyper-parameters use the
pipeline's ``estimator__`` prefix, so a search space reads ``{"estimator__C": [0.1, 1.0]}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from features.fast_transform import CompiledPreprocessor, compile_preprocessor
from features.inputs import Inputs
from features.pipeline import build_preprocessor
from models.delta import DeltaMrssClassifier

DELTA_ALPHAS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)  # ridge penalties of the ΔmRSS model


@dataclass(frozen=True)
class Family:
    """An estimator family: how to build it and what it is trained on."""

    name: str
    make: Callable[[int], BaseEstimator]
    scale: bool  # penalised linear models need standardised inputs
    target: str  # "binary": the responder flag; "delta": the continuous change in mRSS
    description: str
    # Tree ensembles nearly reproduce their training outcomes, so in-sample performance says
    # little and Harrell's bootstrap, which scores each bootstrap model on patients it mostly
    # trained on, under-corrects them grossly: they are validated by cross-validation instead.
    memorises: bool = False


def _logistic(l1_ratio: float) -> Callable[[int], BaseEstimator]:
    def make(seed: int) -> BaseEstimator:
        return LogisticRegression(
            C=1.0, l1_ratio=l1_ratio, solver="saga", max_iter=5000, random_state=seed
        )

    return make


def _random_forest(seed: int) -> BaseEstimator:
    return RandomForestClassifier(
        n_estimators=200, min_samples_leaf=5, max_features="sqrt", random_state=seed, n_jobs=1
    )


def _gradient_boosting(seed: int) -> BaseEstimator:
    # Shallow trees, strong shrinkage and early stopping off: at 30-300 patients boosting
    # overfits quickly, and the validation split early stopping needs would be tiny.
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=100, max_depth=3, min_samples_leaf=10,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )


def _delta_regression(seed: int) -> BaseEstimator:
    return DeltaMrssClassifier(random_state=seed)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("logistic_l1", _logistic(1.0), True, "binary", "L1-penalised logistic regression"),
        Family("logistic_l2", _logistic(0.0), True, "binary", "L2-penalised logistic regression"),
        Family(
            "logistic_elasticnet", _logistic(0.5), True, "binary",
            "elastic-net logistic regression",
        ),
        Family("random_forest", _random_forest, False, "binary", "random forest", True),
        Family(
            "gradient_boosting", _gradient_boosting, False, "binary",
            "histogram gradient boosting", True,
        ),
        Family(
            "delta_mrss_regression", _delta_regression, False, "delta",
            "ridge regression of the change in mRSS; P(response) from its residual distribution",
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
    family_name: str, feature_set: str = "both", params: dict[str, Any] | None = None,
    seed: int = 0,
) -> Pipeline:
    """An unfitted preprocessing + estimator pipeline for one family."""
    chosen = family(family_name)
    pipeline = Pipeline(
        [
            ("preprocess", build_preprocessor(feature_set, scale=chosen.scale)),
            ("estimator", chosen.make(seed)),
        ]
    )
    return pipeline.set_params(**(params or {}))


def make_delta_regressor(feature_set: str = "both") -> Pipeline:
    """The model of the continuous change in mRSS behind ``predicted_delta_mrss``, from records.

    Validation fits this whole pipeline in every fold (preprocessing included). The served
    bundle holds its equivalent on the classifier's features, :func:`make_feature_regressor`.
    """
    return Pipeline(
        [
            ("preprocess", build_preprocessor(feature_set, scale=True)),
            ("estimator", RidgeCV(alphas=DELTA_ALPHAS)),
        ]
    )


def make_feature_regressor(scaled_features: Sequence[str]) -> Pipeline:
    """The ΔmRSS ridge on an already-preprocessed feature matrix (the classifier's features).

    Standardises ``scaled_features`` (the numeric block: values and missingness indicators) and
    passes the one-hot columns through, as :func:`make_delta_regressor`'s own preprocessing
    does: fitted on a preprocessor's output for the same patients, it predicts what that
    pipeline predicts (to rounding), without preprocessing every request twice. Standardising
    an already standardised block (a logistic classifier's) changes nothing but rounding.
    """
    scale = ColumnTransformer(
        [("numeric", StandardScaler(), list(scaled_features))],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline([("scale", scale), ("estimator", RidgeCV(alphas=DELTA_ALPHAS))])


@dataclass(frozen=True, eq=False)
class LinearDelta:
    """A fitted ΔmRSS regressor as arrays: what its ``predict`` computes, without sklearn's checks.

    ``preprocess`` is set only for bundles whose regressor preprocesses records itself (made by
    :func:`make_delta_regressor` before the preprocessing was shared).
    """

    preprocess: CompiledPreprocessor | None
    order: np.ndarray  # input columns in the order the ridge sees them
    mean: np.ndarray  # standardisation of the first len(mean) of those columns
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @property
    def fields(self) -> tuple[str, ...]:
        """Input fields its own preprocessing reads (none when it takes the shared features)."""
        return () if self.preprocess is None else self.preprocess.fields

    def predict(self, inputs: Inputs, features: np.ndarray) -> np.ndarray:
        """Predicted ΔmRSS (points) from the classifier's features (or the records' inputs)."""
        matrix = features if self.preprocess is None else self.preprocess.encode(inputs)
        x = matrix[:, self.order]  # a copy: the shared features stay as they are
        k = len(self.mean)
        x[:, :k] -= self.mean
        x[:, :k] /= self.scale
        return np.asarray(x @ self.coef + self.intercept, dtype=float)


def compile_delta_regressor(regressor: Pipeline) -> LinearDelta:
    """Read a fitted :func:`make_feature_regressor` (or :func:`make_delta_regressor`) pipeline."""
    steps, ridge = regressor.named_steps, regressor.named_steps["estimator"]
    preprocess = compile_preprocessor(steps["preprocess"]) if "preprocess" in steps else None
    order, mean, scale = np.arange(np.size(ridge.coef_)), np.empty(0), np.empty(0)
    if "scale" in steps:
        transformer = steps["scale"]
        names = [str(n) for n in transformer.feature_names_in_]
        _, scaler, scaled = transformer.transformers_[0]
        rest = transformer.transformers_[-1][2]  # the passthrough remainder, by name or position
        order = np.asarray([c if isinstance(c, int | np.integer) else names.index(c)
                            for c in [*scaled, *rest]], dtype=int)
        mean, scale = scaler.mean_, scaler.scale_
        if [names[i] for i in order] != [str(n) for n in transformer.get_feature_names_out()]:
            raise TypeError("the regressor's 'scale' step is not a make_feature_regressor one")
    return LinearDelta(preprocess, order, mean, scale, np.ravel(ridge.coef_).astype(float),
                       float(ridge.intercept_))
