"""Figures of an external validation: the flexible calibration curve and the decision curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def flexible_calibration_figure(curve: pd.DataFrame, p: np.ndarray, y: np.ndarray,
                                metrics: dict[str, float], title: str) -> Figure:
    """The spline calibration curve with its 95 % band, the ideal line and a rug of
    predictions per outcome."""
    fig = Figure(figsize=(5.5, 6.0), layout="constrained")
    ax, rug = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [5, 1]})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="ideal")
    ax.fill_between(curve["predicted"], curve["low"], curve["high"], color="C3", alpha=0.2,
                    label="95 % band")
    ax.plot(curve["predicted"], curve["observed"], color="C3", label="restricted cubic spline")
    text = (f"O/E {metrics['oe_ratio']:.2f}\nCITL {metrics['calibration_in_the_large']:.2f}\n"
            f"slope {metrics['calibration_slope']:.2f}\nICI {metrics['ici']:.3f}")
    ax.text(0.97, 0.03, text, transform=ax.transAxes, ha="right", va="bottom",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    ax.set(ylabel="observed probability", xlim=(0, 1), ylim=(-0.02, 1.02), title=title)
    ax.legend(loc="upper left")
    rug.plot(p[y == 1], np.ones(int(y.sum())), "|", color="C2", label="responders")
    rug.plot(p[y == 0], np.zeros(int((y == 0).sum())), "|", color="C1", label="non-responders")
    rug.set(xlabel="predicted probability", yticks=[0, 1], yticklabels=["no", "yes"],
            ylim=(-0.5, 1.5))
    return fig


def decision_curve_with_band_figure(curve: pd.DataFrame, title: str) -> Figure:
    """Net benefit with its 95 % CI, against treat-all and treat-none."""
    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(curve["threshold"], curve["model_ci_low"], curve["model_ci_high"],
                    color="C0", alpha=0.2, label="model, 95 % CI")
    ax.plot(curve["threshold"], curve["model"], color="C0", label="model")
    ax.plot(curve["threshold"], curve["treat_all"], color="C1", label="treat all")
    ax.plot(curve["threshold"], curve["treat_none"], color="grey", label="treat none")
    top = float(np.nanmax(curve[["model_ci_high", "treat_all"]].to_numpy()))
    ax.set(xlabel="threshold probability", ylabel="net benefit", title=title,
           ylim=(-0.05, max(0.05, top) + 0.02))
    ax.legend(loc="upper right")
    return fig
