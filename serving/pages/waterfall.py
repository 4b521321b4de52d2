"""The explanation as a waterfall chart, drawn on the server as SVG (no script, prints well).

From the model's base value, each of the largest contributions moves the running total to the
patient's output; the remaining small ones are grouped as one "other" bar, so the chart always
ends exactly at the output (SHAP additivity: base + contributions = output). A log-odds
explanation is drawn in percentage points of probability (:mod:`.contributions`), so the chart
ends at the headline probability. Each bar is labelled in clinical words and units ("mRSS 29
points"), wrapped over as many lines as it needs (never clipped), and says its direction in text
as well as colour.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from scipy.special import expit

from ssc_response.serving.pages.contributions import ordered, probability_steps, value_text
from ssc_response.serving.pages.labels import label

SCALES = {
    "logit": "probability of skin response, in percentage points (the model works in log-odds)",
    "probability": "probability of skin response",
    "delta_mrss": "predicted change in mRSS (points; negative = improvement)",
}
_WIDTH, _LABEL_W, _LINE_H, _ROW_PAD, _TOP = 720, 290, 16, 12, 34
_PLOT_W = _WIDTH - _LABEL_W - 70
# At 13 px a character of the system sans-serif is at most ~7.5 px wide; 34 characters fit in
# the 282 px left of the bars.
_WRAP = 34


@dataclass(frozen=True)
class Bar:
    """One step of the waterfall: from ``start`` by ``amount`` (in the chart's unit)."""

    text: str
    start: float
    amount: float
    favours_response: bool


def describe_value(feature: str, value: object, unit: str) -> str:
    """'mRSS 29 points', 'Sex female', 'Anti-Scl-70 yes', 'CRP not recorded'."""
    shown = value_text({"feature": feature, "value": value, "unit": unit})
    name = label(feature)
    if name.endswith(" grade") and shown.startswith("grade "):  # "Fibrosis grade 2"
        shown = shown.removeprefix("grade ")
    return f"{name} {shown}"


def in_percent(explanation: Mapping[str, Any]) -> bool:
    """Whether the chart is drawn in percentage points (a log-odds explanation)."""
    return bool(explanation["output_space"] == "logit")


def bars(explanation: Mapping[str, Any], top: int = 8) -> list[Bar]:
    """The ``top`` largest contributions, then 'other' for the rest, chained from the base; in
    percentage points of probability for a log-odds explanation."""
    increases_response = explanation["output_space"] != "delta_mrss"
    items = ordered(explanation)
    amounts = [float(c["contribution"]) for c in items]
    base = float(explanation["base_value"])
    if in_percent(explanation):
        amounts = [100 * step for step in probability_steps(base, amounts)]
        base = 100 * float(expit(base))
    steps = [(describe_value(c["feature"], c["value"], c["unit"]), amount)
             for c, amount in zip(items[:top], amounts[:top], strict=False)]
    rest = amounts[top:]
    if rest:
        steps.append((f"other ({len(rest)} fields)", sum(rest)))
    result, running = [], base
    for text, amount in steps:
        result.append(Bar(text, running, amount, (amount > 0) == increases_response))
        running += amount
    return result


def chart_ends(explanation: Mapping[str, Any]) -> tuple[float, float]:
    """Base and output in the chart's unit."""
    base, output = float(explanation["base_value"]), float(explanation["output_value"])
    if in_percent(explanation):
        return 100 * float(expit(base)), 100 * float(expit(output))
    return base, output


def wrapped(text: str) -> list[str]:
    """A label's lines: at most :data:`_WRAP` characters each, words kept whole when they fit."""
    return textwrap.wrap(text, _WRAP, break_long_words=True) or [""]


def waterfall_svg(explanation: Mapping[str, Any], top: int = 8) -> str:
    """The chart as an accessible SVG element (``role="img"`` with a title and description)."""
    steps = bars(explanation, top)
    base, output = chart_ends(explanation)
    ends = [base, output, *(b.start for b in steps), *(b.start + b.amount for b in steps)]
    low, high = _padded(min(ends), max(ends))
    x = _scale(low, high)
    unit = " %" if in_percent(explanation) else ""
    labels = ["average patient (base)", *(bar.text for bar in steps), "this patient"]
    tops = _row_tops([len(wrapped(text)) for text in labels])
    height = tops[-1] + 30
    rows = [_marker(labels[0], base, tops[0], x, unit)]
    rows += [_bar(bar, tops[i + 1], x, unit) for i, bar in enumerate(steps)]
    rows.append(_marker(labels[-1], output, tops[len(steps) + 1], x, unit))
    scale = SCALES.get(explanation["output_space"], explanation["output_space"])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" aria-labelledby="wf-title wf-desc">'
        f'<title id="wf-title">Largest contributions to this prediction</title>'
        f'<desc id="wf-desc">Waterfall on the scale of {escape(scale)}, from the average '
        f'patient ({base:.2f}{unit}) to this patient ({output:.2f}{unit}).</desc>'
        f'{_axis(low, high, x, height, unit)}{"".join(rows)}</svg>'
    )


def _row_tops(line_counts: list[int]) -> list[float]:
    """The top of each row, then the bottom of the last: rows grow with their label's lines."""
    tops, y = [], float(_TOP)
    for lines in line_counts:
        tops.append(y)
        y += max(lines * _LINE_H + _ROW_PAD, 28)
    return [*tops, y]


def _padded(low: float, high: float) -> tuple[float, float]:
    span = max(high - low, 1e-6)
    return low - 0.08 * span, high + 0.08 * span


def _scale(low: float, high: float) -> Any:
    return lambda value: _LABEL_W + (value - low) / (high - low) * _PLOT_W


def _label(text: str, y: float) -> str:
    """Right-aligned label lines left of the bars, one ``tspan`` per line."""
    lines = wrapped(text)
    spans = "".join(f'<tspan x="{_LABEL_W - 8}" dy="{0 if i == 0 else _LINE_H}">{escape(line)}'
                    f'</tspan>' for i, line in enumerate(lines))
    return f'<text x="{_LABEL_W - 8}" y="{y + 18}" text-anchor="end">{spans}</text>'


def _bar(bar: Bar, y: float, x: Any, unit: str) -> str:
    left, right = sorted((x(bar.start), x(bar.start + bar.amount)))
    css = "toward" if bar.favours_response else "against"
    sign = f"{bar.amount:+.1f}" if unit else f"{bar.amount:+.2f}"
    direction = "toward response" if bar.favours_response else "against response"
    return (
        f'<g class="bar {css}"><title>{escape(bar.text)}: {sign} ({direction})</title>'
        f'{_label(bar.text, y)}'
        f'<rect x="{left:.1f}" y="{y + 5}" width="{max(right - left, 1.5):.1f}" height="18"/>'
        f'<text class="amount" x="{right + 4:.1f}" y="{y + 18}">{sign}</text></g>'
    )


def _marker(text: str, value: float, y: float, x: Any, unit: str) -> str:
    return (
        f'<g class="marker">{_label(text, y)}<line x1="{x(value):.1f}" x2="{x(value):.1f}" '
        f'y1="{y + 3}" y2="{y + 25}"/><text class="amount" x="{x(value) + 4:.1f}" '
        f'y="{y + 18}">{value:.{0 if unit else 2}f}{unit}</text></g>'
    )


def _axis(low: float, high: float, x: Any, height: float, unit: str) -> str:
    ticks = _ticks(low, high)
    marks = "".join(
        f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{_TOP}" y2="{height - 24}"/>'
        f'<text class="tick" x="{x(t):.1f}" y="{height - 8}" text-anchor="middle">{t:g}{unit}'
        f'</text>' for t in ticks)
    return f'<g class="axis">{marks}</g>'


def _ticks(low: float, high: float) -> list[float]:
    """About five round tick values inside [low, high]."""
    raw = (high - low) / 5
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= m * step)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]
