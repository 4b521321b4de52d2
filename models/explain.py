"""Per-patient explanations, grouped back to the input fields a clinician entered.

SHAP values are computed on the model features (``sex_M``, ``missingindicator_crp_mg_l``, ...)
and then summed within each input field, so a one-hot category or a value with its missing
indicator reads as one line. Additivity is kept: ``base_value + sum(contributions)`` equals the
model output in ``output_space``.

The method depends on the estimator (chosen once, in ``GroupedExplainer.__init__``):

- binary ``LogisticRegression``: exact linear SHAP in logit space against the background mean;
- linear regressors (``Ridge``, ``ElasticNet``, ...): the same, in ΔmRSS points;
- ``RandomForestClassifier``: ``shap.TreeExplainer`` in probability space (class 1);
- gradient-boosted classifiers: ``shap.TreeExplainer`` in raw (logit) space;
- tree regressors: ``shap.TreeExplainer`` in ΔmRSS points;
- estimators with ``additive_logit_terms`` (the mRSS-change classifier): exact SHAP in logit
  space, one term per feature;
- anything else with ``predict_proba`` (or ``predict`` for a regressor): permutation SHAP on a
  small background sample, in probability (or ΔmRSS) space. Its base value is the mean model
  output over that sample, so additivity holds against that mean.

Tree models use the path-dependent algorithm, whose base value is the training-set mean output
stored in the trees. It is exact and fast; the interventional algorithm took ~25 s for 1,000 rows
of a 300-tree forest and, for ``HistGradientBoosting*`` with missing values, was not additive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import (
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    HuberRegressor,
    Lasso,
    LassoCV,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeCV,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

LOGIT = "logit"
PROBABILITY = "probability"
DELTA_MRSS = "delta_mrss"

LINEAR_REGRESSORS = (
    LinearRegression,
    Ridge,
    RidgeCV,
    Lasso,
    LassoCV,
    ElasticNet,
    ElasticNetCV,
    BayesianRidge,
    HuberRegressor,
)
# sklearn forests and single trees store class frequencies in leaves: raw output = probability.
PROBABILITY_TREES = (RandomForestClassifier, ExtraTreesClassifier, DecisionTreeClassifier)
LOGIT_TREES = (GradientBoostingClassifier, HistGradientBoostingClassifier)
TREE_REGRESSORS = (
    RandomForestRegressor,
    ExtraTreesRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    DecisionTreeRegressor,
)
# Model-agnostic fallback: each row costs 2 x pairs x (features + 1) x background model evaluations.
FALLBACK_BACKGROUND = 50
FALLBACK_PAIRS = 5
FALLBACK_CHUNK = 200_000  # model input rows per call: ~64 MB at 40 features


@dataclass
class Contribution:
    """One input field's share of a prediction (summed over its model features)."""

    feature: str
    value: object
    unit: str
    contribution: float


@dataclass
class Explanation:
    """Why one patient got their prediction: ``base_value + sum(contributions) == output_value``."""

    base_value: float
    output_space: str
    output_value: float
    contributions: list[Contribution]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dictionary (contributions stay sorted by importance)."""
        return asdict(self)


class _Attributor(Protocol):
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


class _AdditiveLogitAttributor:
    """Exact interventional SHAP for a model whose logit is a sum of one-feature terms.

    With ``logit = c + sum_j g_j(x_j)``, feature j's Shapley value against a background is
    ``g_j(x_j) - mean_background(g_j)``: no interaction, no sampling. The estimator provides
    ``additive_logit_terms(X) -> (c, terms)`` (see ``models.delta.DeltaMrssClassifier``).
    """

    def __init__(self, estimator: Any, background: np.ndarray) -> None:
        self.output_space = LOGIT
        self._estimator = estimator
        constant, terms = estimator.additive_logit_terms(background)
        self._mean_terms = terms.mean(axis=0)
        self._base = float(constant + self._mean_terms.sum())

    def __call__(self, matrix: np.ndarray) -> tuple[float, np.ndarray]:
        _, terms = self._estimator.additive_logit_terms(matrix)
        return self._base, terms - self._mean_terms


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


def _attributor(
    estimator: Any, background: pd.DataFrame, max_background: int, seed: int
) -> _Attributor:
    """Pick the method for this estimator type: exact where its structure allows, else sampled."""
    _require_binary(estimator)
    if hasattr(estimator, "additive_logit_terms"):
        return _AdditiveLogitAttributor(estimator, background.to_numpy(dtype=float))
    if isinstance(estimator, LogisticRegression):
        return _linear(estimator, background, LOGIT)
    if isinstance(estimator, LINEAR_REGRESSORS):
        return _linear(estimator, background, DELTA_MRSS)
    if isinstance(estimator, PROBABILITY_TREES):
        return _TreeAttributor(estimator, PROBABILITY)
    if isinstance(estimator, LOGIT_TREES):
        return _TreeAttributor(estimator, LOGIT)
    if isinstance(estimator, TREE_REGRESSORS):
        return _TreeAttributor(estimator, DELTA_MRSS)
    return _fallback(estimator, background, max_background, seed)


def _python_values(column: pd.Series | np.ndarray) -> list[object]:
    """Plain Python scalars for JSON, with ``None`` for NaN / None / ``<NA>``.

    A float64 array (the common case) needs no ``isna``: NaN is the one float unequal to itself;
    nor does text.
    """
    if isinstance(column, np.ndarray):
        if column.dtype.kind == "f":
            return [None if value != value else value for value in column.tolist()]
        return [v if isinstance(v, str) else None if pd.isna(v) else v for v in column.tolist()]
    missing = column.isna().tolist()
    return [None if gone else value for value, gone in zip(column.tolist(), missing, strict=True)]


def _shown_values(
    columns: Mapping[str, np.ndarray], names: Sequence[str], n_rows: int
) -> list[list[object]]:
    """Per name, its column as plain Python values (``None`` when missing or not given).

    The float64 columns go through one object conversion together (one call per column cost
    ~1 µs each, for ~60 fields a batch); the others are read one by one.
    """
    given = [n for n in names if n in columns]
    floats = [n for n in given if columns[n].dtype.kind == "f"]
    values: dict[str, list[object]] = {}
    if floats:
        block = np.array([columns[n] for n in floats], dtype=np.float64)
        objects = block.astype(object)  # Python floats
        objects[np.isnan(block)] = None
        values = dict(zip(floats, objects.tolist(), strict=True))
    values.update((n, _python_values(columns[n])) for n in given if n not in values)
    absent: list[object] = [None] * n_rows
    return [values.get(n, absent) for n in names]


class GroupedExplainer:
    """SHAP explanations of a fitted estimator, summed per input field.

    Built once at server start-up (not serialised); every call explains a batch of rows with one
    SHAP computation.

    Parameters
    ----------
    estimator : fitted estimator
        The final step of the model pipeline (binary classifier or ΔmRSS regressor).
    background : pandas.DataFrame
        The transformed training matrix (model features, in the estimator's column order).
    field_of : callable
        Maps a model feature name (``sex_M``) to its input field (``sex``).
    units : mapping
        Unit of each input field (fields missing from the mapping get ``""``).
    max_background : int, default=100
        Upper bound on background rows for the sampling fallback (which uses at most 50). Linear
        models use the mean of the whole background; trees use the training data in the trees.
    seed : int, default=0
        Seed for background sampling and permutations.

    Attributes
    ----------
    output_space : str
        ``"logit"``, ``"probability"`` or ``"delta_mrss"``: the scale of base and contributions.
    feature_names : list of str
        Model features, in column order.
    fields : list of str
        Input fields, in order of first appearance among the model features.
    """

    def __init__(
        self,
        estimator: Any,
        background: pd.DataFrame,
        field_of: Callable[[str], str],
        units: Mapping[str, str],
        max_background: int = 100,
        seed: int = 0,
    ) -> None:
        self.feature_names = [str(c) for c in background.columns]
        feature_fields = [field_of(name) for name in self.feature_names]
        self.fields = list(dict.fromkeys(feature_fields))
        self._units = [units.get(field, "") for field in self.fields]
        position = {field: j for j, field in enumerate(self.fields)}
        # 0/1 matrix (features x fields): grouping a whole batch is then one matmul.
        self._grouping = np.zeros((len(self.feature_names), len(self.fields)))
        self._grouping[np.arange(len(feature_fields)), [position[f] for f in feature_fields]] = 1.0
        self._attribute = _attributor(estimator, background, max_background, seed)
        self.output_space: str = self._attribute.output_space

    def shap_values(self, transformed: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        """Base value and per-model-feature SHAP matrix (rows x ``feature_names``)."""
        return self._attribute(self._matrix(transformed))

    def grouped_shap_values(self, transformed: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """SHAP values summed per input field (rows x ``fields``)."""
        _, values = self.shap_values(transformed)
        index = transformed.index if isinstance(transformed, pd.DataFrame) else None
        return pd.DataFrame(values @ self._grouping, index=index, columns=self.fields)

    def explain(
        self, transformed: pd.DataFrame | np.ndarray, raw: pd.DataFrame | Mapping[str, np.ndarray]
    ) -> list[Explanation]:
        """One explanation per row, contributions sorted by absolute size.

        Parameters
        ----------
        transformed : pandas.DataFrame or ndarray
            Model features for the batch (the preprocessor's output). A frame's columns are
            checked against ``feature_names``; a bare matrix (rows x features) is taken to be in
            that order, as the compiled preprocessing guarantees.
        raw : pandas.DataFrame or mapping of field name to array
            The same rows, in the same order, as validated input fields plus derived indices:
            frame columns or one array per field. Supplies the value shown beside each
            contribution, as a plain Python value (a float64 column gives floats, an object
            column its objects), ``None`` when missing or when ``raw`` lacks the field.

        Returns
        -------
        list of Explanation
            One per row, in row order; each has one contribution per input field.
        """
        base, outputs, ranked = self._ranked(transformed, raw)
        space, fields, units = self.output_space, self.fields, self._units
        return [
            Explanation(base, space, output,
                        [Contribution(fields[j], shown[j], units[j], row[j]) for j in order])
            for output, (order, row, shown) in zip(outputs, ranked, strict=True)
        ]

    def explain_dicts(
        self, transformed: pd.DataFrame | np.ndarray, raw: pd.DataFrame | Mapping[str, np.ndarray]
    ) -> list[dict[str, Any]]:
        """``[e.to_dict() for e in self.explain(transformed, raw)]``, built without the objects.

        What the service returns and records: a batch of 8 patients has ~500 contributions, and
        making each an object, then a dict, cost ~0.2 ms.
        """
        base, outputs, ranked = self._ranked(transformed, raw)
        space, fields, units = self.output_space, self.fields, self._units
        return [
            {"base_value": base, "output_space": space, "output_value": output,
             "contributions": [{"feature": fields[j], "value": shown[j], "unit": units[j],
                                "contribution": row[j]} for j in order]}
            for output, (order, row, shown) in zip(outputs, ranked, strict=True)
        ]

    def _ranked(
        self, transformed: pd.DataFrame | np.ndarray, raw: pd.DataFrame | Mapping[str, np.ndarray]
    ) -> tuple[float, list[float], list[tuple[list[int], list[float], tuple[object, ...]]]]:
        """Base value, per row its output, and per row (the fields' positions, the largest
        contribution in absolute size first; the contribution and shown value of each field)."""
        n_raw = len(raw) if isinstance(raw, pd.DataFrame) else _row_count(raw, len(transformed))
        if n_raw != len(transformed):
            raise ValueError(f"raw has {n_raw} rows but transformed has {len(transformed)}.")
        base, values = self.shap_values(transformed)
        grouped = values @ self._grouping
        outputs = (base + values.sum(axis=1)).tolist()
        order = np.argsort(-np.abs(grouped), axis=1, kind="stable").tolist()
        shown_by_row = list(zip(*self._raw_columns(raw, len(transformed)), strict=True))
        return base, outputs, list(zip(order, grouped.tolist(), shown_by_row, strict=True))

    def _raw_columns(
        self, raw: pd.DataFrame | Mapping[str, np.ndarray], n_rows: int
    ) -> list[list[object]]:
        """Per field, its shown value in every row."""
        if isinstance(raw, pd.DataFrame):
            absent: list[object] = [None] * n_rows
            return [_python_values(raw[f]) if f in raw.columns else absent for f in self.fields]
        return _shown_values(raw, self.fields, n_rows)

    def _matrix(self, transformed: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(transformed, np.ndarray):
            if transformed.ndim != 2 or transformed.shape[1] != len(self.feature_names):
                raise ValueError(f"Expected a matrix of {len(self.feature_names)} model features; "
                                 f"received shape {transformed.shape}.")
            return np.asarray(transformed, dtype=float)
        received = [str(c) for c in transformed.columns]
        if received != self.feature_names:
            raise ValueError(f"Expected model features {self.feature_names}; received {received}.")
        return transformed.to_numpy(dtype=float, na_value=np.nan)


def _row_count(columns: Mapping[str, np.ndarray], default: int) -> int:
    """Rows of a mapping of columns (``default`` when it has none); they must all agree."""
    counts = {len(values) for values in columns.values()}
    if len(counts) > 1:
        raise ValueError(f"raw columns have different lengths: {sorted(counts)}.")
    return counts.pop() if counts else default
