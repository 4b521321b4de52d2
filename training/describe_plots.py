"""Slope graphs of the paired measures: one line per patient, baseline to follow-up.

Built with ``matplotlib.figure.Figure`` directly, as :mod:`training.plots`: no backend, no
global state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ssc_response.training.describe import Measure

IMPROVED, WORSENED, UNCHANGED = "#1b7837", "#b2182b", "#8c8c8c"


def _colour(before: float, after: float, better: str) -> str:
    if after == before:
        return UNCHANGED
    return IMPROVED if (after < before) == (better == "lower") else WORSENED


def slope_figure(measure: Measure, before: np.ndarray, after: np.ndarray) -> Any:
    """Each patient's baseline and follow-up joined by a line (green improved, red worse),
    with the medians in black; small random jitter keeps tied scores apart."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.6, 3.4), layout="constrained")
    axes = figure.add_subplot()
    jitter = np.random.default_rng(0).uniform(-0.04, 0.04, size=len(before))
    for b, a, shift in zip(before, after, jitter, strict=True):
        axes.plot([0 + shift, 1 + shift], [b, a], color=_colour(b, a, measure.better),
                  alpha=0.45, linewidth=0.9, marker="o", markersize=2.5)
    if len(before):
        axes.plot([0, 1], [np.median(before), np.median(after)], color="black", linewidth=2.5,
                  marker="s", label="median")
        axes.legend(loc="best", fontsize=7)
    axes.set_xticks([0, 1], ["baseline", "follow-up"])
    axes.set_xlim(-0.3, 1.3)
    axes.set_ylabel(f"{measure.label} ({measure.unit})")
    axes.set_title(f"{measure.label}, n = {len(before)} pairs", fontsize=9)
    return figure
