"""Prospective calibration of the served version on ``/metrics``: O/E, its band, and drift.

Updated whenever the service computes it: after an outcome is recorded (``POST /v1/outcomes``,
the follow-up form) and when a researcher opens the model page. Aggregates only (no patient
data), like every other metric.
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Engine

from ssc_response.models.registry import ServedModel
from ssc_response.serving.audit.outcomes import OutcomeStore
from ssc_response.serving.audit.outcomes_validation import (
    OePoint,
    ResponseRule,
    oe_over_time,
    outcome_table,
)

log = logging.getLogger(__name__)


class ProspectiveGauges:
    """The gauges of one app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["model_version"]
        self.with_outcome = Gauge("ssc_prospective_outcomes", "Served predictions of the "
                                  "version with a recorded outcome.", labels, registry=registry)
        self.waiting = Gauge("ssc_prospective_waiting", "Served predictions of the version "
                             "still waiting for their outcome.", labels, registry=registry)
        self.oe = Gauge("ssc_prospective_oe_ratio", "Cumulative observed/expected ratio of the "
                        "version's served predictions with an outcome.", ["model_version", "bound"],
                        registry=registry)
        self.drift = Gauge("ssc_prospective_calibration_drift", "1 when the latest O/E band "
                           "of the version excludes 1 (calibration has drifted), else 0.",
                           labels, registry=registry)

    def show(self, version: str, with_outcome: int, waiting: int, latest: OePoint | None) -> None:
        self.with_outcome.labels(version).set(with_outcome)
        self.waiting.labels(version).set(waiting)
        if latest is not None:
            for bound, value in (("estimate", latest.oe), ("low", latest.low),
                                 ("high", latest.high)):
                self.oe.labels(version, bound).set(value)
        self.drift.labels(version).set(1 if latest is not None and latest.drifted else 0)


_GAUGES: WeakKeyDictionary[CollectorRegistry, ProspectiveGauges] = WeakKeyDictionary()


def gauges_for(registry: CollectorRegistry) -> ProspectiveGauges:
    """The prospective gauges of ``registry`` (created on first use)."""
    if registry not in _GAUGES:
        _GAUGES[registry] = ProspectiveGauges(registry)
    return _GAUGES[registry]


def refresh(registry: CollectorRegistry, engine: Engine, served: ServedModel) -> None:
    """Recompute the served version's O/E band and show it; a failure is logged, never raised
    (the outcome that triggered it is already stored)."""
    try:
        version = served.ref.version
        outcomes, waiting = OutcomeStore(engine).for_version(version)
        rule = ResponseRule.of(served.model)
        points = oe_over_time(outcome_table(outcomes, rule), rule) if outcomes else []
        gauges_for(registry).show(version, len(outcomes), waiting,
                                  points[-1] if points else None)
    except Exception:  # noqa: BLE001 - metrics must never break the request
        log.exception("prospective calibration metrics not updated")
