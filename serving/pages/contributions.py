"""The explanation on the headline's scale: contributions in probability points, in words.

The model adds its contributions on the log-odds scale; a clinician reads the headline as a
probability. Taken in the chart's order (largest first) from the average training patient, each
field moves the probability from ``expit(before)`` to ``expit(before + contribution)``: those
steps are percentage points that add up exactly to the headline minus the base probability. A
field's points depend on the order (the curve is steeper near 50 %), which the page says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy.special import expit

from ssc_response.serving.pages.labels import is_flag, label, value_label


@dataclass(frozen=True)
class ContributionRow:
    """One field of the explanation as the table shows it."""

    field: str  # clinical name
    value: str  # the patient's value in words, with its unit
    points: float | None  # percentage points of probability along the chart's order
    model_scale: float  # the contribution on the model's own scale (log-odds, or mRSS points)


def ordered(explanation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Contributions, largest magnitude first (the chart's order)."""
    items: Sequence[Mapping[str, Any]] = explanation["contributions"]
    return sorted(items, key=lambda c: -abs(float(c["contribution"])))


def probability_steps(base_logit: float, amounts: Sequence[float]) -> list[float]:
    """Each log-odds step as a change of probability (0-1), chained from ``base_logit``."""
    steps, running = [], base_logit
    for amount in amounts:
        steps.append(float(expit(running + amount) - expit(running)))
        running += amount
    return steps


def value_text(contribution: Mapping[str, Any]) -> str:
    """'ESR 24 mm/h', 'Sex female', 'Anti-Scl-70 yes', 'CRP 4.5 mg/L, imputed', 'not recorded'."""
    feature, value, unit = contribution["feature"], contribution["value"], contribution["unit"]
    if value is None:
        return "not recorded"
    if isinstance(value, bool) or is_flag(feature):  # flags reach the explainer as 1.0 / 0.0
        text = value_label(feature, bool(value))
    elif isinstance(value, float):
        text = f"{value:.3g}" if not value.is_integer() else f"{value:.0f}"
    else:
        text = value_label(feature, value)
    if unit == "grade":
        text = f"grade {text}"
    elif unit and not is_flag(feature) and not isinstance(value, str):
        text = f"{text} {unit}"
    return text + (", imputed" if contribution.get("imputed") else "")


def contribution_rows(explanation: Mapping[str, Any]) -> list[ContributionRow]:
    """Every contribution in the chart's order, in words, with its probability points."""
    items = ordered(explanation)
    amounts = [float(c["contribution"]) for c in items]
    if explanation["output_space"] == "logit":
        points: list[float | None] = [
            100 * step for step in probability_steps(float(explanation["base_value"]), amounts)]
    else:
        points = [None] * len(items)
    return [ContributionRow(label(c["feature"]), value_text(c), p, a)
            for c, p, a in zip(items, points, amounts, strict=True)]


def scale_sentence(explanation: Mapping[str, Any]) -> str:
    """How the chart's numbers relate to the headline, in one plain paragraph."""
    base, output = float(explanation["base_value"]), float(explanation["output_value"])
    if explanation["output_space"] == "logit":
        return (f"The chart is in percentage points of probability. It starts at the average "
                f"training patient ({100 * expit(base):.0f} %) and ends at this patient "
                f"({100 * expit(output):.0f} %). The model adds its effects on the log-odds "
                "scale, so a field's points depend on the fields before it: they are taken "
                "largest first, as drawn.")
    if explanation["output_space"] == "delta_mrss":
        return (f"The chart is in mRSS points: from the average training patient ({base:+.1f}) "
                f"to this patient ({output:+.1f}); negative means improvement.")
    return f"The chart is on the scale of {explanation['output_space']}."
