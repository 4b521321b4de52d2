"""The explanation as a waterfall chart, drawn on the server as SVG (no script, prints well).

From the model's base value, each of the largest contributions moves the running total to the
patient's output; the remaining small ones are grouped as one "other" bar, so the chart always
ends exactly at the output (SHAP additivity: base + contributions = output). Each bar is labelled
in clinical words and units ("mRSS 29 points") and says its direction in text as well as colour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ssc_response.serving.pages.labels import is_flag, label

SCALES = {
    "logit": "log-odds of skin response (0 = even odds)",
    "probability": "probability of skin response",
    "delta_mrss": "predicted change in mRSS (points; negative = improvement)",
}
_WIDTH, _LABEL_W, _ROW_H, _TOP = 720, 290, 28, 34
_PLOT_W = _WIDTH - _LABEL_W - 70


@dataclass(frozen=True)
class Bar:
    """One step of the waterfall: from ``start`` by ``amount``."""

    text: str
    start: float
    amount: float
    favours_response: bool


def describe_value(feature: str, value: object, unit: str) -> str:
    """'mRSS 29 points', 'Sex F', 'Anti-Scl-70 yes', 'CRP not recorded (imputed)'."""
    name = label(feature)
    if value is None:
        return f"{name} not recorded (imputed)"
    if isinstance(value, bool) or is_flag(feature):  # flags reach the explainer as 1.0 / 0.0
        return f"{name} {'yes' if value else 'no'}"
    if isinstance(value, float):
        value = f"{value:.3g}" if not value.is_integer() else f"{value:.0f}"
    if unit == "grade":  # "Fibrosis grade 2", "Myofibroblasts grade 1"
        return f"{name} {value}" if name.endswith("grade") else f"{name} grade {value}"
    return f"{name} {value}{' ' + unit if unit else ''}"


def bars(explanation: Mapping[str, Any], top: int = 8) -> list[Bar]:
    """The ``top`` largest contributions, then 'other' for the rest, chained from the base."""
    increases_response = explanation["output_space"] != "delta_mrss"
    items: Sequence[Mapping[str, Any]] = sorted(
        explanation["contributions"], key=lambda c: -abs(float(c["contribution"])))
    steps = [(describe_value(c["feature"], c["value"], c["unit"]), float(c["contribution"]))
             for c in items[:top]]
    rest = items[top:]
    if rest:
        steps.append((f"other ({len(rest)} fields)", sum(float(c["contribution"]) for c in rest)))
    result, running = [], float(explanation["base_value"])
    for text, amount in steps:
        result.append(Bar(text, running, amount, (amount > 0) == increases_response))
        running += amount
    return result


def waterfall_svg(explanation: Mapping[str, Any], top: int = 8) -> str:
    """The chart as an accessible SVG element (``role="img"`` with a title and description)."""
    steps = bars(explanation, top)
    base, output = float(explanation["base_value"]), float(explanation["output_value"])
    ends = [base, output, *(b.start for b in steps), *(b.start + b.amount for b in steps)]
    low, high = _padded(min(ends), max(ends))
    x = _scale(low, high)
    height = _TOP + _ROW_H * (len(steps) + 2) + 30
    rows = [_marker("average patient (base)", base, 0, x)]
    rows += [_bar(bar, i + 1, x) for i, bar in enumerate(steps)]
    rows.append(_marker("this patient", output, len(steps) + 1, x))
    scale = SCALES.get(explanation["output_space"], explanation["output_space"])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" aria-labelledby="wf-title wf-desc">'
        f'<title id="wf-title">Largest contributions to this prediction</title>'
        f'<desc id="wf-desc">Waterfall on the scale of {escape(scale)}, from the average '
        f'patient ({base:.2f}) to this patient ({output:.2f}).</desc>'
        f'{_axis(low, high, x, height)}{"".join(rows)}</svg>'
    )


def _padded(low: float, high: float) -> tuple[float, float]:
    span = max(high - low, 1e-6)
    return low - 0.08 * span, high + 0.08 * span


def _scale(low: float, high: float) -> Any:
    return lambda value: _LABEL_W + (value - low) / (high - low) * _PLOT_W


def _y(row: int) -> float:
    return _TOP + row * _ROW_H


def _bar(bar: Bar, row: int, x: Any) -> str:
    left, right = sorted((x(bar.start), x(bar.start + bar.amount)))
    css = "toward" if bar.favours_response else "against"
    sign = f"{bar.amount:+.2f}"
    direction = "toward response" if bar.favours_response else "against response"
    y = _y(row)
    return (
        f'<g class="bar {css}"><title>{escape(bar.text)}: {sign} ({direction})</title>'
        f'<text x="{_LABEL_W - 8}" y="{y + 18}" text-anchor="end">{escape(bar.text)}</text>'
        f'<rect x="{left:.1f}" y="{y + 5}" width="{max(right - left, 1.5):.1f}" height="18"/>'
        f'<text class="amount" x="{right + 4:.1f}" y="{y + 18}">{sign}</text></g>'
    )


def _marker(text: str, value: float, row: int, x: Any) -> str:
    y = _y(row)
    return (
        f'<g class="marker"><text x="{_LABEL_W - 8}" y="{y + 18}" text-anchor="end">'
        f'{escape(text)}</text><line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{y + 3}" '
        f'y2="{y + 25}"/><text class="amount" x="{x(value) + 4:.1f}" y="{y + 18}">'
        f'{value:.2f}</text></g>'
    )


def _axis(low: float, high: float, x: Any, height: int) -> str:
    ticks = _ticks(low, high)
    marks = "".join(
        f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{_TOP}" y2="{height - 24}"/>'
        f'<text class="tick" x="{x(t):.1f}" y="{height - 8}" text-anchor="middle">{t:g}</text>'
        for t in ticks)
    return f'<g class="axis">{marks}</g>'


def _ticks(low: float, high: float) -> list[float]:
    """About five round tick values inside [low, high]."""
    raw = (high - low) / 5
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= m * step)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]
