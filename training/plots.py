"""Performance figures of an experiment run, as matplotlib Figures for ``mlflow.log_figure``.

Figures are built with ``matplotlib.figure.Figure()`` directly rather than through ``pyplot``:
that needs no backend, keeps no global state (nothing to close, safe in threads and servers) and
leaves the caller's backend alone.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = [
    "calibration_figure",
    "decision_curve_figure",
    "lowess",
    "roc_figure",
    "wilson_interval",
]

DECISION_CURVE_COLUMNS: tuple[str, ...] = ("threshold", "model", "treat_all", "treat_none")


def roc_figure(
    y: ArrayLike,
    p_apparent: ArrayLike,
    p_oof: ArrayLike | None = None,
    title: str = "ROC curve",
) -> Figure:
    """ROC curve of the apparent predictions, and optionally of the out-of-fold ones beside it.

    Apparent predictions score the patients the model was fitted on, so they are labelled
    optimistic; out-of-fold predictions come from repeated cross-validation.
    """
    outcome = _binary_outcome(y, purpose="a ROC curve")
    fig = Figure(figsize=(5.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    _roc_line(ax, outcome, _probabilities(p_apparent, len(outcome)), "apparent (optimistic)")
    if p_oof is not None:
        _roc_line(ax, outcome, _probabilities(p_oof, len(outcome), "p_oof"), "cross-validated")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUROC = 0.5)")
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(f"{title} (n = {len(outcome)}, events = {int(outcome.sum())})")
    ax.legend(loc="lower right")
    return fig


def _roc_line(ax: Axes, y: NDArray[np.int_], p: NDArray[np.float64], label: str) -> None:
    fpr, tpr, _ = roc_curve(y, p)
    auroc = roc_auc_score(y, p)
    ax.plot(fpr, tpr, drawstyle="steps-post", label=f"{label}, AUROC = {auroc:.3f}")


def calibration_figure(
    y: ArrayLike,
    p: ArrayLike,
    n_bins: int | None = None,
    slope: float | None = None,
    intercept: float | None = None,
    title: str = "Calibration",
) -> Figure:
    """Calibration plot: LOWESS curve, quantile-binned proportions with 95% Wilson intervals,
    ideal line, optional slope/intercept annotation and a histogram of predictions per outcome.

    ``n_bins`` defaults to about ten patients per bin (2 to 10 bins): proportions from fewer
    patients are too noisy to read.
    """
    outcome = _binary_outcome(y, purpose="a calibration plot")
    risk = _probabilities(p, len(outcome))
    fig = Figure(figsize=(5.5, 6.5), layout="constrained")
    ax, ax_hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="ideal")
    _binned_proportions(ax, outcome, risk, n_bins or int(np.clip(len(outcome) // 10, 2, 10)))
    ax.plot(*lowess(risk, outcome.astype(float)), color="C3", label="LOWESS")
    _annotate_slope_intercept(ax, slope, intercept)
    ax.set(ylabel="observed proportion", xlim=(0, 1), ylim=(-0.02, 1.02))
    ax.set_title(f"{title} (n = {len(outcome)}, events = {int(outcome.sum())})")
    ax.legend(loc="upper left")
    _prediction_histogram(ax_hist, outcome, risk)
    return fig


def _binned_proportions(ax: Axes, y: NDArray[np.int_], p: NDArray[np.float64], n_bins: int) -> None:
    bins = _quantile_bins(p, n_bins)
    means, observed, lower, upper = [], [], [], []
    for b in np.unique(bins):
        members = bins == b
        k, n = int(y[members].sum()), int(members.sum())
        low, high = wilson_interval(k, n)
        means.append(p[members].mean())
        observed.append(k / n)
        # Rounding can put a bound a hair inside the proportion; errorbar refuses negatives.
        lower.append(max(0.0, k / n - low))
        upper.append(max(0.0, high - k / n))
    ax.errorbar(means, observed, yerr=[lower, upper], fmt="o", color="C0", capsize=3,
                label="quantile bins (95% Wilson CI)")


def _annotate_slope_intercept(ax: Axes, slope: float | None, intercept: float | None) -> None:
    parts = []
    if slope is not None:
        parts.append(f"calibration slope = {slope:.2f}")
    if intercept is not None:
        parts.append(f"calibration intercept = {intercept:.2f}")
    if parts:
        ax.text(0.97, 0.03, "\n".join(parts), transform=ax.transAxes, ha="right", va="bottom",
                bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})


def _prediction_histogram(ax: Axes, y: NDArray[np.int_], p: NDArray[np.float64]) -> None:
    edges = np.linspace(0, 1, 21).tolist()
    ax.hist(p[y == 1], bins=edges, histtype="step", color="C2", label="outcome = yes")
    ax.hist(p[y == 0], bins=edges, histtype="step", color="C1", label="outcome = no")
    ax.set(xlabel="predicted probability", ylabel="patients")
    ax.legend(loc="upper right", fontsize="small")


def decision_curve_figure(net_benefit_frame: pd.DataFrame, title: str = "Decision curve") -> Figure:
    """Net benefit of the model against treating everyone and treating no one, by threshold."""
    frame = _checked_net_benefit(net_benefit_frame)
    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(frame["threshold"], frame["model"], color="C0", label="model")
    ax.plot(frame["threshold"], frame["treat_all"], color="C1", linestyle="--", label="treat all")
    ax.plot(frame["threshold"], frame["treat_none"], color="black", linestyle=":",
            label="treat none")
    # Treat-all falls steeply at high thresholds; clip so the region of interest stays readable.
    top = float(np.nanmax(frame[["model", "treat_all", "treat_none"]].to_numpy()))
    ax.set_ylim(-0.05, max(top, 0.0) * 1.1 + 0.01)
    ax.set(xlabel="threshold probability", ylabel="net benefit", title=title)
    ax.legend(loc="upper right")
    return fig


def comparison_figure(curves: pd.DataFrame,
                      title: str = "Decision curves: feature set against reference") -> Figure:
    """Net benefit of the experiment's feature set and of the reference, with treat-all, from
    the paired nested cross-validation (:func:`training.comparison.decision_curves`)."""
    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = fig.subplots()
    for column, label, style in (("feature_set", "feature set", "-"),
                                 ("reference", "reference", "--"),
                                 ("treat_all", "treat all", ":")):
        ax.plot(curves["threshold"], curves[column], style, label=label)
    ax.axhline(0.0, color="grey", lw=0.8, label="treat none")
    low = min(0.0, float(curves[["feature_set", "reference"]].min().min())) - 0.02
    ax.set(xlabel="threshold probability", ylabel="net benefit", title=title,
           ylim=(low, float(curves[["feature_set", "reference", "treat_all"]].max().max()) + 0.05))
    ax.legend()
    return fig


def _checked_net_benefit(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in DECISION_CURVE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"net_benefit_frame lacks column(s) {missing}; expected {list(DECISION_CURVE_COLUMNS)},"
            f" got {list(frame.columns)}"
        )
    if frame.empty:
        raise ValueError("net_benefit_frame has no rows: nothing to plot")
    return frame.sort_values("threshold")


# --- statistics behind the figures ---------------------------------------------------------


def _binary_outcome(y: ArrayLike, purpose: str) -> NDArray[np.int_]:
    """``y`` as a 0/1 integer array; both classes are required for ``purpose``."""
    values = np.asarray(y, dtype=float).ravel()
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(f"y must be a non-empty 0/1 outcome without missing values for {purpose}")
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"y must contain only 0/1 (or False/True); got {np.unique(values)[:5]}")
    classes = np.unique(values)
    if classes.size < 2:
        raise ValueError(
            f"{purpose} needs both outcome classes, but all {values.size} patients have "
            f"outcome = {int(classes[0])}"
        )
    return values.astype(int)


def _probabilities(p: ArrayLike, n: int, name: str = "p") -> NDArray[np.float64]:
    """``p`` as a float array of ``n`` finite probabilities."""
    values = np.asarray(p, dtype=float).ravel()
    if values.size != n:
        raise ValueError(f"{name} has {values.size} predictions but y has {n} outcomes")
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{name} must hold finite probabilities in [0, 1]")
    return values


def _quantile_bins(p: NDArray[np.float64], n_bins: int) -> NDArray[np.int_]:
    """Bin index per prediction; edges at quantiles so bins hold similar numbers of patients
    (tied predictions can merge bins)."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    return np.searchsorted(edges[1:-1], p, side="right")


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``; unlike the Wald interval it stays
    inside [0, 1] and does not collapse to zero width when k is 0 or n."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    share = k / n
    denominator = 1 + z**2 / n
    centre = (share + z**2 / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def lowess(
    x: NDArray[np.float64], y: NDArray[np.float64], frac: float = 2 / 3
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Local linear regression with tricube weights, evaluated at the sorted ``x``.

    One pass, without the robustness iterations of Cleveland's LOWESS: those down-weight large
    residuals, and with a 0/1 outcome every event is a large residual. Fitted values are
    clipped to [0, 1] because they estimate a proportion.
    """
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    k = min(len(xs), max(3, math.ceil(frac * len(xs))))
    fitted = np.array([_local_line(xs, ys, x0, k) for x0 in xs])
    return xs, np.clip(fitted, 0.0, 1.0)


def _local_line(xs: NDArray[np.float64], ys: NDArray[np.float64], x0: float, k: int) -> float:
    distance = np.abs(xs - x0)
    # Slightly beyond the k-th nearest distance so the k-th neighbour keeps a small weight.
    radius = np.partition(distance, k - 1)[k - 1] * 1.0001
    if radius == 0:
        return float(ys[distance == 0].mean())
    weights = np.clip(1 - (distance / radius) ** 3, 0, None) ** 3
    centre = np.average(xs, weights=weights)
    spread = np.average((xs - centre) ** 2, weights=weights)
    mean_y = np.average(ys, weights=weights)
    if spread < 1e-12:  # all neighbours at one x: the local line is just the mean
        return float(mean_y)
    slope = np.average((xs - centre) * (ys - mean_y), weights=weights) / spread
    return float(mean_y + slope * (x0 - centre))
