"""Run reports logged as MLflow artifacts: figures, the feature-importance table, the model card.

Everything here is a pure function returning a matplotlib Figure, a DataFrame or a string; the
experiment runner logs them (``mlflow.log_figure`` / ``log_table`` / ``log_text``). The
performance figures live in ``training.plots`` and the model card in ``training.model_card``;
both are re-exported here so callers need one import. This module holds the SHAP reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from numpy.typing import NDArray

from ssc_response.training.model_card import model_card_markdown
from ssc_response.training.model_card_contents import (
    DataSource,
    IntervalScheme,
    Metric,
    ModelCard,
    OutcomeDefinition,
    Predictor,
    SampleSizeCheck,
    SubgroupResult,
    ValidationScheme,
)
from ssc_response.training.plots import (
    calibration_figure,
    comparison_figure,
    decision_curve_figure,
    roc_figure,
)

__all__ = [
    "IMPORTANCE_COLUMNS",
    "DataSource",
    "IntervalScheme",
    "Metric",
    "ModelCard",
    "OutcomeDefinition",
    "Predictor",
    "SampleSizeCheck",
    "SubgroupResult",
    "ValidationScheme",
    "calibration_figure",
    "comparison_figure",
    "decision_curve_figure",
    "feature_importance_table",
    "model_card_markdown",
    "roc_figure",
    "shap_beeswarm_figure",
]

IMPORTANCE_COLUMNS: tuple[str, ...] = ("field", "label", "unit", "mean_abs_contribution",
                                       "direction")
# Below this |correlation| the sign is noise in a small cohort; saying so beats a false arrow.
_MIN_ABS_CORRELATION = 0.1
_MISSING_COLOUR = "#9e9e9e"


def shap_beeswarm_figure(
    shap_values: np.ndarray,
    feature_values: pd.DataFrame,
    feature_labels: Sequence[str],
    max_display: int = 15,
    title: str = "SHAP summary: contributions to the prediction",
) -> Figure:
    """Global SHAP summary: one swarm per feature, coloured by feature value (grey = missing),
    features ordered by mean |SHAP| with the most important on top.

    Drawn directly rather than with ``shap.plots.beeswarm``, which draws on pyplot's global
    current figure.
    """
    values = _checked_shap(shap_values, feature_values, feature_labels)
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_display][::-1]
    colours = _colour_scale(feature_values)
    fig = Figure(figsize=(7.0, 0.45 * len(order) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["coolwarm"]
    for row, j in enumerate(order):
        ys = row + _swarm_offsets(values[:, j])
        known = ~np.isnan(colours[:, j])
        ax.scatter(values[known, j], ys[known], c=colours[known, j], cmap=cmap, vmin=0, vmax=1,
                   s=14, linewidths=0)
        ax.scatter(values[~known, j], ys[~known], color=_MISSING_COLOUR, s=14, linewidths=0)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(order)), [feature_labels[j] for j in order])
    ax.set(xlabel="SHAP value (impact on model output)", title=title)
    bar = fig.colorbar(ScalarMappable(norm=Normalize(0, 1), cmap=cmap), ax=ax, ticks=[0, 1])
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value")
    return fig


def _checked_shap(
    shap_values: np.ndarray, feature_values: pd.DataFrame, feature_labels: Sequence[str]
) -> NDArray[np.float64]:
    values = np.asarray(shap_values, dtype=float)
    if values.ndim != 2 or values.shape != feature_values.shape:
        raise ValueError(
            f"shap_values must be 2-D (rows x features) and match feature_values;"
            f" got {values.shape} and {feature_values.shape}"
        )
    if len(feature_labels) != values.shape[1]:
        raise ValueError(
            f"got {len(feature_labels)} feature labels for {values.shape[1]} features"
        )
    if values.shape[0] == 0:
        raise ValueError("shap_values has no rows: nothing to plot")
    return values


def _colour_scale(feature_values: pd.DataFrame) -> NDArray[np.float64]:
    """Feature values scaled to [0, 1] per column between the 5th and 95th percentiles, so a few
    extreme patients do not wash out the colours; NaN where missing or non-numeric."""
    numeric = feature_values.apply(pd.to_numeric, errors="coerce")
    matrix = numeric.to_numpy(dtype=float, na_value=np.nan)
    scaled = np.full(matrix.shape, np.nan)
    for j in range(matrix.shape[1]):
        column = matrix[:, j]
        known = column[~np.isnan(column)]
        if known.size == 0:
            continue
        low, high = np.percentile(known, [5, 95])
        if high <= low:
            low, high = known.min(), known.max()
        scaled[:, j] = 0.5 if high <= low else np.clip((column - low) / (high - low), 0, 1)
    return scaled


def _swarm_offsets(
    x: NDArray[np.float64], width: float = 0.4, step: float = 0.06, n_bins: int = 100
) -> NDArray[np.float64]:
    """Deterministic vertical offsets: points in the same x bin are stacked alternately above and
    below the axis line (0, +1, -1, +2, ...), so density shows as height, as in SHAP's beeswarm.
    Stacks are ``step`` apart, squeezed only when the tallest would exceed ``width``."""
    span = np.ptp(x)
    bins = np.zeros(len(x), dtype=int) if span == 0 else np.round((x - x.min()) / span * n_bins)
    offsets = np.zeros(len(x))
    for b in np.unique(bins):
        members = np.flatnonzero(bins == b)
        ranks = np.arange(len(members))
        offsets[members] = np.ceil(ranks / 2) * np.where(ranks % 2 == 1, 1.0, -1.0)
    peak = np.abs(offsets).max()
    return offsets * min(step, width / peak) if peak > 0 else offsets


def feature_importance_table(
    shap_values: np.ndarray,
    feature_names: Sequence[str],
    field_of: Callable[[str], str],
    labels: Mapping[str, str],
    *,
    units: Mapping[str, str] | None = None,
    field_values: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Mean |SHAP| per input field, the model features grouped back to the field they came from.

    A field's contribution for a patient is the sum over its model features (one-hot levels,
    missingness indicator, ...); importance is the mean absolute contribution over patients,
    so levels of one field cannot cancel or double-count across patients.

    Parameters
    ----------
    shap_values : array of shape (n_patients, n_features), in the order of ``feature_names``.
    feature_names : model feature names, e.g. ``pipeline[:-1].get_feature_names_out()``.
    field_of : maps a model feature name to the input field it was derived from.
    labels : clinical names by field; a field without a label shows its name.
    units : units by field; defaults to the data dictionary's units.
    field_values : raw input values by field (rows aligned with ``shap_values``), used for the
        ``direction`` column; without it ``direction`` is "not computed".

    Returns
    -------
    DataFrame with columns ``IMPORTANCE_COLUMNS``, most important field first.
    """
    grouped = _group_by_field(_as_matrix(shap_values, len(feature_names)), feature_names, field_of)
    if field_values is not None and len(field_values) != len(grouped):
        raise ValueError(f"field_values has {len(field_values)} rows, shap_values {len(grouped)}")
    units_of = dict(units) if units is not None else _dictionary_units()
    rows = [
        {
            "field": field,
            "label": labels.get(field, field),
            "unit": units_of.get(field, ""),
            "mean_abs_contribution": float(np.abs(grouped[field]).mean()),
            "direction": _direction(grouped[field].to_numpy(), _values_of(field_values, field)),
        }
        for field in grouped.columns
    ]
    table = pd.DataFrame(rows, columns=list(IMPORTANCE_COLUMNS))
    return table.sort_values("mean_abs_contribution", ascending=False, kind="stable").reset_index(
        drop=True
    )


def _as_matrix(shap_values: np.ndarray, n_features: int) -> NDArray[np.float64]:
    values = np.asarray(shap_values, dtype=float)
    if values.ndim != 2 or values.shape[1] != n_features:
        raise ValueError(
            f"shap_values must have shape (n_patients, {n_features}) to match feature_names;"
            f" got {values.shape}"
        )
    return values


def _group_by_field(
    values: NDArray[np.float64], feature_names: Sequence[str], field_of: Callable[[str], str]
) -> pd.DataFrame:
    """Patients x fields frame of summed contributions, fields in order of first appearance."""
    fields = [field_of(name) for name in feature_names]
    by_feature = pd.DataFrame(values, columns=list(feature_names))
    return by_feature.T.groupby(fields, sort=False).sum().T


def _dictionary_units() -> dict[str, str]:
    from ssc_response.features.schema import fields

    return {name: field.unit for name, field in fields().items()}


def _values_of(field_values: pd.DataFrame | None, field: str) -> pd.Series | None:
    if field_values is None or field not in field_values.columns:
        return None
    return field_values[field].reset_index(drop=True)


def _direction(contribution: NDArray[np.float64], values: pd.Series | None) -> str:
    """How the field's value relates to its contribution, in words."""
    if values is None:
        return "not computed"
    if pd.api.types.is_bool_dtype(values):
        return _numeric_direction(contribution, values, "yes")
    if pd.api.types.is_numeric_dtype(values):
        return _numeric_direction(contribution, values, "higher value")
    return _categorical_direction(contribution, values)


def _numeric_direction(contribution: NDArray[np.float64], values: pd.Series, more: str) -> str:
    x = values.to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(x)
    if known.sum() < 3 or np.ptp(x[known]) == 0 or np.ptp(contribution[known]) == 0:
        return "undetermined"
    r = np.corrcoef(x[known], contribution[known])[0, 1]
    if abs(r) < _MIN_ABS_CORRELATION:
        return "no consistent direction"
    return f"{more} → {'higher' if r > 0 else 'lower'} prediction"


def _categorical_direction(contribution: NDArray[np.float64], values: pd.Series) -> str:
    levels = values.astype("string")
    means = pd.Series(contribution).groupby(levels, dropna=True).mean().sort_values()
    if len(means) < 2 or means.iloc[-1] == means.iloc[0]:
        return "undetermined"
    if len(means) == 2:
        return f"{means.index[-1]} → higher prediction than {means.index[0]}"
    return f"highest prediction with {means.index[-1]}, lowest with {means.index[0]}"
