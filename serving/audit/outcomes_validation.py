"""Prospective validation of one model version: its served predictions that met their outcome.

The numbers come from the audit trail only: the probability and ΔmRSS the version served (its
stored output), and the outcome derived from the stored baseline record and the recorded
follow-up with the response rule the version was trained for (the rule of its ΔmRSS model, as
``validate`` derives it from the training experiment). The statistics are those of ``validate``
(:func:`models.validation_summary.summarise`), so both agree on the same patients.

O/E over time: the cumulative O/E (with its CI) after each visit month. A calibrated model keeps
1 inside that band; when the latest band excludes 1, calibration has drifted, and the model page
and ``/metrics`` say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ssc_response.features.derived_columns import OutcomeThresholds, add_derived_columns
from ssc_response.features.validation import validate_records
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.performance import oe_ratio
from ssc_response.models.validation_summary import Predictions, ValidationSummary, summarise
from ssc_response.serving.audit.outcomes import StoredOutcome

# Thresholds of the decision curve reported by ``validate`` (training.comparison.
# REPORTED_THRESHOLDS; serving may not import training, a test keeps the two equal).
REPORTED_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
MIN_EVENTS = 10  # events and non-events each before the statistics are estimated
MIN_OE_EVENTS = 5  # events before an O/E point is drawn


@dataclass(frozen=True)
class ResponseRule:
    """How the outcome is derived from the follow-up: the column and its cut-offs."""

    outcome: str
    thresholds: OutcomeThresholds

    @classmethod
    def of(cls, model: ResponseModel) -> ResponseRule:
        """The rule ``model`` was trained for (its ΔmRSS model predicts exactly that rule)."""
        delta = model.delta_estimator
        name = str(model.metadata.get("outcome", "skin_responder"))
        if name == "skin_responder_mcid":
            return cls(name, OutcomeThresholds(skin_mcid=float(delta.abs_threshold)))
        thresholds = OutcomeThresholds(skin_abs_threshold=float(delta.abs_threshold),
                                       skin_rel_threshold=float(delta.rel_threshold),
                                       skin_strict=bool(delta.strict))
        return cls(name if name == "skin_responder" else "skin_responder", thresholds)


@dataclass(frozen=True)
class OePoint:
    """The cumulative O/E after the outcomes up to one visit month."""

    month: str
    n: int
    oe: float
    low: float
    high: float

    @property
    def drifted(self) -> bool:
        return not (self.low <= 1.0 <= self.high)


@dataclass
class Prospective:
    """What the version's served predictions show once their outcomes are known."""

    model_version: str
    n_with_outcome: int
    n_waiting: int
    n_events: int
    summary: ValidationSummary | None
    oe_over_time: list[OePoint] = field(default_factory=list)
    reason: str | None = None  # why the statistics are not (yet) estimated

    @property
    def drifted(self) -> bool:
        return bool(self.oe_over_time) and self.oe_over_time[-1].drifted


def outcome_table(outcomes: Sequence[StoredOutcome], rule: ResponseRule) -> pd.DataFrame:
    """One row per outcome: the baseline and follow-up record, the derived outcome and ΔmRSS,
    and what was served; rows whose outcome cannot be derived are dropped."""
    records = [{**o.prediction.input, **o.values} for o in outcomes]
    typed = validate_records(records, id_groups=[1] * len(records))
    derived = add_derived_columns(typed, rule.thresholds)
    served = [o.prediction.output for o in outcomes]
    derived["visit_date"] = [o.visit_date for o in outcomes]
    derived["prediction_id"] = [o.prediction_id for o in outcomes]
    derived["probability"] = [s["probability_response"]["estimate"] for s in served]
    for part in ("estimate", "lower", "upper"):
        derived[f"predicted_delta_{part}"] = [s["predicted_delta_mrss"][part] for s in served]
    known = derived[rule.outcome].notna() & derived["delta_mrss"].notna()
    return derived.loc[known].reset_index(drop=True)


def predictions_of(table: pd.DataFrame, rule: ResponseRule) -> Predictions:
    """The served predictions and observed outcomes as :func:`summarise` reads them."""
    return Predictions(table[rule.outcome].astype(int).to_numpy(),
                       table["probability"].to_numpy(dtype=float),
                       table["delta_mrss"].to_numpy(dtype=float),
                       table["predicted_delta_estimate"].to_numpy(dtype=float),
                       table["predicted_delta_lower"].to_numpy(dtype=float),
                       table["predicted_delta_upper"].to_numpy(dtype=float))


def oe_over_time(table: pd.DataFrame, rule: ResponseRule, level: float = 0.95) -> list[OePoint]:
    """Cumulative O/E with its CI at the end of each visit month (from :data:`MIN_OE_EVENTS`)."""
    ordered = table.sort_values("visit_date", kind="stable")
    y = ordered[rule.outcome].astype(int).to_numpy()
    p = ordered["probability"].to_numpy(dtype=float)
    months = ordered["visit_date"].str.slice(0, 7).to_numpy()
    points = []
    for month in sorted(set(months)):
        upto = int(np.searchsorted(months, month, side="right"))
        if y[:upto].sum() < MIN_OE_EVENTS:
            continue
        oe = oe_ratio(y[:upto], p[:upto], level)
        points.append(OePoint(month, upto, oe.value, oe.low, oe.high))
    return points


def prospective(model_version: str, outcomes: Sequence[StoredOutcome], waiting: int,
                rule: ResponseRule, level: float = 0.95) -> Prospective:
    """The version's prospective validation (statistics once n allows)."""
    table = outcome_table(outcomes, rule) if outcomes else pd.DataFrame()
    n = len(table)
    events = int(table[rule.outcome].astype(int).sum()) if n else 0
    result = Prospective(model_version, len(outcomes), waiting, events, None)
    if min(events, n - events) < MIN_EVENTS:
        result.reason = (f"{events} responders and {n - events} non-responders with a known "
                         f"outcome: at least {MIN_EVENTS} of each are needed")
        return result
    result.summary = summarise(predictions_of(table, rule), REPORTED_THRESHOLDS, level)
    result.oe_over_time = oe_over_time(table, rule, level)
    return result
