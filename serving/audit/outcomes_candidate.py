"""A candidate version against what was served: the stored inputs replayed through a candidate.

``ssc-response validate --served --candidate models:/ssc-skin-response/N``. Like a replay
(:mod:`serving.audit.replay`), each stored input is validated again by the contract and scored
by the candidate's own inference steps (the probability only: no explanation is needed here).
Then:

* on the predictions with an outcome, both versions' statistics side by side and paired:
  ΔAUROC (candidate - served) with DeLong's paired CI (DeLong, DeLong & Clarke-Pearson,
  Biometrics 1988;44:837-845, as ``pROC::roc.test(paired=TRUE, method="delong")``) and ΔBrier;
* on every stored input of the served version: whose probability would move by more than
  :data:`MOVE_THRESHOLD` (10 points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from scipy.stats import norm

from ssc_response.features.validation import validate_records
from ssc_response.models.performance import Interval, auroc, brier, delong_placements
from ssc_response.models.registry import ServedModel
from ssc_response.models.validation_summary import summarise
from ssc_response.serving.audit.outcomes import StoredOutcome
from ssc_response.serving.audit.outcomes_validation import (
    REPORTED_THRESHOLDS,
    ResponseRule,
    outcome_table,
    predictions_of,
)
from ssc_response.serving.audit.records import AuditRecord

MOVE_THRESHOLD = 0.10
SIDE_BY_SIDE = ("auroc", "oe_ratio", "calibration_in_the_large", "calibration_slope", "brier",
                "scaled_brier", "ici")


def paired_auroc_difference(y: npt.ArrayLike, first: npt.ArrayLike, second: npt.ArrayLike,
                            level: float = 0.95) -> Interval:
    """AUROC(second) - AUROC(first) on the same patients, with DeLong's paired CI: the
    placements of both predictions give the variance of the difference, covariance included."""
    v10_a, v01_a = delong_placements(y, first)
    v10_b, v01_b = delong_placements(y, second)
    variance = (np.var(v10_b - v10_a, ddof=1) / v10_a.size
                + np.var(v01_b - v01_a, ddof=1) / v01_a.size)
    value = auroc(y, second) - auroc(y, first)
    half = float(norm.ppf(0.5 + level / 2) * np.sqrt(variance))
    return Interval(value, value - half, value + half)


def candidate_probabilities(candidate: ServedModel,
                            records: Sequence[AuditRecord]) -> npt.NDArray[np.float64]:
    """The candidate's probability for each stored input (validated again, one patient each)."""
    inputs = [record.input for record in records]
    frame = validate_records(inputs, outcomes=False, model_dtypes=True,
                             id_groups=[1] * len(inputs))
    _, features = candidate.model.transform(frame)
    return np.clip(expit(candidate.model.logit(features)), 0.0, 1.0)


@dataclass(frozen=True)
class Moved:
    """A patient whose probability the candidate would move by more than 10 points."""

    prediction_id: str
    patient_id: str | None
    served: float
    candidate: float


@dataclass
class CandidateComparison:
    """The candidate beside the served version."""

    served_version: str
    candidate_version: str
    n_inputs: int
    moved: list[Moved]
    n_with_outcome: int
    served_metrics: dict[str, float] | None = None
    candidate_metrics: dict[str, float] | None = None
    delta_auroc: Interval | None = None
    delta_brier: float | None = None


def compare(served_version: str, candidate: ServedModel, served_inputs: Sequence[AuditRecord],
            outcomes: Sequence[StoredOutcome], rule: ResponseRule,
            min_events: int = 10) -> CandidateComparison:
    """Replay every stored input of the served version through ``candidate``; compare."""
    p_candidate = (candidate_probabilities(candidate, served_inputs) if served_inputs
                   else np.empty(0))
    moved = []
    for record, new_p in zip(served_inputs, p_candidate, strict=True):
        served_p = float(record.output["probability_response"]["estimate"])
        if abs(float(new_p) - served_p) > MOVE_THRESHOLD:
            moved.append(Moved(record.prediction_id, record.patient_id, served_p, float(new_p)))
    result = CandidateComparison(served_version, candidate.ref.version, len(served_inputs),
                                 moved, len(outcomes))
    table = outcome_table(outcomes, rule) if outcomes else None
    if table is None or min(int(table[rule.outcome].sum()),
                            len(table) - int(table[rule.outcome].sum())) < min_events:
        return result
    served = predictions_of(table, rule)
    by_id = {r.prediction_id: i for i, r in enumerate(served_inputs)}
    p_new = np.array([p_candidate[by_id[pid]] for pid in table["prediction_id"]])
    result.served_metrics = summarise(served, REPORTED_THRESHOLDS).metrics
    result.candidate_metrics = summarise(replace(served, probability=p_new),
                                         REPORTED_THRESHOLDS).metrics
    result.delta_auroc = paired_auroc_difference(served.y, served.probability, p_new)
    result.delta_brier = brier(served.y, p_new) - brier(served.y, served.probability)
    return result
