"""Missing values, imputed from the patient's other fields (chained equations), never as a flag.

Two steps of the feature pipeline (:func:`features.pipeline.build_preprocessor`):

* :class:`CategoryColumns` one-hot encodes category fields but keeps a missing category missing
  (``NaN`` in every column of its field), so the imputer can fill it from the other fields;
* :class:`ChainedImputer` runs scikit-learn's ``IterativeImputer`` (Bayesian ridge per field,
  van Buuren's chained equations) and then puts every imputed boolean and category back on one
  of its levels: a yes/no field is imputed as yes or no (the imputed probability rounded at
  0.5), a category as its most likely level (the largest imputed one-hot value), never as a
  median number. An integer score (fibrosis grade 0-3, ...) keeps its imputed expectation
  (e.g. 2.4): rounding it makes the prediction jump a whole grade's effect as another field
  crosses a half-way point (Horton, Lipsitz & Parzen 2003, Am Stat 57:229, on the bias of
  rounding imputations).

Why encode, impute, then round back, rather than a separate classifier per category: one
imputer
learns every field from every other one (the categories included, as 0/1 columns), so no
hand-made model per type is needed, and the level chosen is the one the other fields make most
likely.

The point imputation keeps an imputed number within the 5th-95th percentiles of the training
values: a blank field then never moves the answer further than a recorded typical value would
(its extremes are evidence the patient did not give). The stochastic draws
(:meth:`ChainedImputer.draws`, from an imputer fitted with ``sample_posterior=True``) range over
the training minimum to maximum instead: they express how much the blank fields could change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import truncnorm
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.experimental import enable_iterative_imputer  # noqa: F401 - public opt-in import
from sklearn.impute import IterativeImputer
from sklearn.linear_model import BayesianRidge
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ssc_response.features import schema

MISSING_PREFIX = "missingindicator_"


def _first_level(name: str) -> list[str]:
    """The column kept for a category field with no value in training: its first dictionary
    level (so a fitted pipeline's columns depend on the feature set only)."""
    field = schema.fields().get(name)
    return [field.allowed[0]] if field is not None and field.allowed else ["unknown"]


class CategoryColumns(TransformerMixin, BaseEstimator):
    """One-hot columns ``field_level`` of category fields; a missing value stays missing.

    The levels are those seen in training; a field with none keeps one column (its first level
    in the data dictionary, blank in training, so it carries no information).

    A level not seen in training gives 0 in every column of its field (as
    ``OneHotEncoder(handle_unknown="ignore")`` does); a missing value gives ``NaN`` in every
    column of its field, for :class:`ChainedImputer` to fill.
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> CategoryColumns:
        """Learn each field's levels (sorted, as text)."""
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.categories_ = [sorted({str(v) for v in frame[c].dropna()}) or _first_level(str(c))
                            for c in frame.columns]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "categories_")
        values = np.asarray(pd.DataFrame(X).to_numpy(dtype=object))
        blocks = []
        for j, levels in enumerate(self.categories_):
            column = values[:, j]
            missing = pd.isna(column)
            text = np.asarray([str(v) for v in column], dtype=object)
            block = np.column_stack([text == level for level in levels]).astype(float) \
                if levels else np.zeros((len(column), 0))
            block[missing] = np.nan
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(values), 0))

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        check_is_fitted(self, "categories_")
        return np.asarray([f"{field}_{level}" for field, levels
                           in zip(self.feature_names_in_, self.categories_, strict=True)
                           for level in levels], dtype=object)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class ChainedImputer(TransformerMixin, BaseEstimator):
    """Chained-equations imputation, with booleans and categories put back on a level.

    Parameters
    ----------
    categorical : sequence of str
        Category fields whose one-hot columns (``field_level``) form one group each: a missing
        category becomes the level with the largest imputed value.
    rounded : sequence of str
        Columns imputed as whole numbers (the feature pipeline passes the yes/no fields, 0/1).
    binary : sequence of str
        Of ``rounded``, the yes/no columns (kept within 0-1 rather than the percentiles).
    quantiles : (float, float), default=(0.05, 0.95)
        Training percentiles an imputed number is kept within (see the module).
    sample_posterior : bool, default=False
        Draw each imputation from the Bayesian ridge's predictive distribution (for
        :meth:`draws`) instead of its mean.
    add_indicator : bool, default=False
        Append ``missingindicator_<column>`` features (an experiment's opt-in: they assume a
        deployment centre leaves fields blank for the same reasons as the training centre).
    max_iter : int, default=10
        Rounds of chained equations.
    random_state : int, default=0
    """

    def __init__(self, categorical: Sequence[str] = (), rounded: Sequence[str] = (),
                 binary: Sequence[str] = (), quantiles: tuple[float, float] = (0.05, 0.95),
                 sample_posterior: bool = False, add_indicator: bool = False,
                 max_iter: int = 10, random_state: int = 0) -> None:
        self.categorical = categorical
        self.rounded = rounded
        self.binary = binary
        self.quantiles = quantiles
        self.sample_posterior = sample_posterior
        self.add_indicator = add_indicator
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> ChainedImputer:
        """Learn the chained regressions and each column's bounds from ``X`` (no outcome)."""
        names = [str(c) for c in getattr(X, "columns", [f"x{i}" for i in range(X.shape[1])])]
        array = np.array(X, dtype=float)  # a copy: the imputer writes into it
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = array.shape[1]
        self.groups_ = self._level_groups(names)
        self.rounded_ = np.asarray([n in set(self.rounded) for n in names], dtype=bool)
        low, high = self._bounds(array, names)
        self.bounds_ = (low, high)
        self.imputer_ = IterativeImputer(
            estimator=BayesianRidge(), max_iter=self.max_iter,
            sample_posterior=self.sample_posterior, min_value=low, max_value=high,
            add_indicator=self.add_indicator, keep_empty_features=True,
            random_state=self.random_state)
        # Small matrices: a BLAS thread pool only adds contention (on a busy 2-core machine a
        # 300 x 47 SVD took 0.87 s with two threads, 0.015 s with one).
        with threadpool_limits(limits=1):
            self.imputer_.fit(array)
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``X`` with every missing value imputed (then the indicators, when asked for)."""
        check_is_fitted(self, "imputer_")
        array = np.array(X, dtype=float)  # a copy: the imputer writes into it
        missing = np.isnan(array)
        if not self.add_indicator and not missing.any():
            return array  # the complete patient pays nothing
        return self._on_levels(self.imputer_.transform(array), missing)

    def draws(self, X: pd.DataFrame | np.ndarray, n_draws: int, seed: int) -> np.ndarray:
        """``n_draws`` stochastic imputations of ``X``: shape (n_draws, rows, columns).

        Needs ``sample_posterior=True``. The fitted chained equations
        (``imputation_sequence_``) run in order, each blank drawn from its Bayesian ridge's
        predictive normal truncated to the column's bounds, by inverse CDF of one uniform per
        draw and equation from ``seed``. The uniforms are shared by every row (common random
        numbers), so a row gets the same draws alone or in any batch, and the fitted imputer
        is not changed.
        """
        check_is_fitted(self, "imputer_")
        if not self.sample_posterior:
            raise ValueError("draws need an imputer fitted with sample_posterior=True")
        array = np.array(X, dtype=float)
        n_rows = array.shape[0]
        stacked = np.tile(array, (n_draws, 1))  # draw-major: row d * n_rows + i
        blank = np.isnan(stacked)
        sequence = self.imputer_.imputation_sequence_
        uniforms = np.random.default_rng(seed).uniform(size=(n_draws, max(len(sequence), 1)))
        per_row = np.repeat(uniforms, n_rows, axis=0)
        with threadpool_limits(limits=1):
            filled = self.imputer_.initial_imputer_.transform(stacked)
            for k, (feature, neighbours, regressor) in enumerate(sequence):
                rows = blank[:, feature]
                if rows.any():
                    mean, sd = regressor.predict(filled[np.ix_(rows, neighbours)],
                                                 return_std=True)
                    filled[rows, feature] = self._truncated(mean, sd, per_row[rows, k], feature)
        imputed = self._on_levels(filled, blank)
        return imputed[:, :array.shape[1]].reshape(n_draws, *array.shape)

    def _truncated(self, mean: np.ndarray, sd: np.ndarray, uniform: np.ndarray,
                   column: int) -> np.ndarray:
        """Inverse-CDF draws of N(mean, sd) truncated to the column's bounds."""
        low, high = self.bounds_[0][column], self.bounds_[1][column]
        values = np.clip(mean, low, high)
        ok = (sd > 0) & (mean > low) & (mean < high)
        if ok.any():
            a, b = (low - mean[ok]) / sd[ok], (high - mean[ok]) / sd[ok]
            values[ok] = truncnorm.ppf(uniform[ok], a, b, loc=mean[ok], scale=sd[ok])
        return values

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        check_is_fitted(self, "imputer_")
        names = [str(n) for n in self.feature_names_in_]
        if self.add_indicator:
            names += [MISSING_PREFIX + names[j] for j in self.imputer_.indicator_.features_]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _level_groups(self, names: list[str]) -> list[np.ndarray]:
        """Positions of each category field's one-hot columns (longest field name first, so a
        field whose name starts another's is not confused with it)."""
        taken: set[int] = set()
        groups = []
        for field in sorted(self.categorical, key=len, reverse=True):
            found = [j for j, n in enumerate(names) if n.startswith(field + "_") and j not in taken]
            taken.update(found)
            if found:
                groups.append(np.asarray(found))
        return groups

    def _bounds(self, array: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per column, the range an imputation is kept within: 0-1 for yes/no and one-hot
        columns, else the training percentiles ``quantiles`` (no bound for an empty column)."""
        low = np.full(array.shape[1], -np.inf)
        high = np.full(array.shape[1], np.inf)
        observed = ~np.isnan(array).all(axis=0)
        if observed.any():
            q_low, q_high = self.quantiles
            low[observed] = np.nanquantile(array[:, observed], q_low, axis=0)
            high[observed] = np.nanquantile(array[:, observed], q_high, axis=0)
        # A constant column (IterativeImputer needs min < max): the bound one step wide.
        flat = observed & (high <= low)
        high[flat] = np.nextafter(low[flat], np.inf)
        zero_one = set(self.binary) | {names[j] for g in self._level_groups(names) for j in g}
        for j, name in enumerate(names):
            if name in zero_one:
                low[j], high[j] = 0.0, 1.0
        return low, high

    def _on_levels(self, imputed: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """Imputed ``rounded`` columns rounded, imputed categories set to their likeliest level
        (only where the value was missing; recorded values are untouched)."""
        out = np.array(imputed, dtype=float)
        width = missing.shape[1]
        values = out[:, :width]
        rounded = missing & self.rounded_
        values[rounded] = np.round(values[rounded])
        for group in self.groups_:
            rows = missing[:, group].any(axis=1)
            if rows.any():
                best = np.argmax(values[np.ix_(rows, group)], axis=1)
                values[np.ix_(rows, group)] = np.eye(len(group))[best]
        return out
