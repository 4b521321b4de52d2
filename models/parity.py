"""Parity: the model that is served gives the numbers that were validated.

Two checks, both with the stated tolerance of :mod:`models.tolerance`:

* At training time (``training/tracking.py``), the saved bundle is loaded back and its outputs on
  the training cohort are compared with those of the fitted objects in memory; the largest
  difference is logged (``serving_parity_max_abs_diff``) and a run whose saved model disagrees
  is refused.
* Every bundle carries a few synthetic probe records with the outputs the validated model gave
  them (:func:`with_probes`). Loading a model to serve it (:func:`check_probes`, called by
  :func:`models.registry.load_served_model`) recomputes them through the served path and refuses
  the model on a mismatch, naming the largest difference: an upgrade of scikit-learn or shap that
  changes served predictions stops at the door instead of changing answers silently.

The probes are built from the training summary (10th, 50th and 90th percentiles per numeric field,
category levels in turn, and one record with only the required fields): no patient row is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from ssc_response.features.schema import REQUIRED_FIELDS, fields
from ssc_response.features.validation import validate_records
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.summary import TrainingSummary
from ssc_response.models.tolerance import Distance, close, is_number

PROBE_LEVELS = 3  # low (10th percentile), middle (median), high (90th percentile)
DEFAULT_MRSS_TOTAL = 20  # for a feature set that does not read it (histology): still required


class ParityError(RuntimeError):
    """A model's outputs differ from those recorded when it was validated."""


def probe_records(summary: TrainingSummary) -> list[dict[str, Any]]:
    """Synthetic records spanning the training data: one per quantile level, one sparse."""
    records = [_probe(summary, level) for level in range(PROBE_LEVELS)]
    required = {*REQUIRED_FIELDS, "mrss_total"}
    sparse = {k: v for k, v in records[1].items() if k in required}
    return [*records, {**sparse, "patient_id": "PROBE-SPARSE"}]


def _probe(summary: TrainingSummary, level: int) -> dict[str, Any]:
    record: dict[str, Any] = {"patient_id": f"PROBE-{level + 1}"}
    for name in summary.missing_share:
        if name in summary.categories and summary.categories[name]:
            levels = summary.categories[name]
            record[name] = levels[level % len(levels)]
        elif name in summary.numeric_ranges:
            record[name] = _typed(name, _quantile(summary, name, level))
    record.setdefault("mrss_total", DEFAULT_MRSS_TOTAL)
    for name in REQUIRED_FIELDS:  # a feature set may not read them: the contract still does
        record.setdefault(name, _dictionary_value(name))
    return record


def _dictionary_value(name: str) -> Any:
    """A valid value from the data dictionary alone: the first level, or mid-range."""
    field = fields()[name]
    if field.allowed:
        return field.allowed[0]
    return _typed(name, ((field.min or 0.0) + (field.max or 0.0)) / 2)


def _quantile(summary: TrainingSummary, name: str, level: int) -> float:
    if name in summary.quantiles:
        return summary.quantiles[name][level]
    low, high = summary.numeric_ranges[name]  # a summary made before quantiles were kept
    return (low, summary.medians.get(name, (low + high) / 2), high)[level]


def _typed(name: str, value: float) -> Any:
    kind = fields()[name].type
    if kind == "boolean":
        return value >= 0.5
    return int(round(value)) if kind == "integer" else float(value)


def with_probes(model: ResponseModel) -> ResponseModel:
    """The model, carrying probe records and the outputs it gives them now (when validated)."""
    records = probe_records(model.summary)
    outputs = model.predict(validate_records(records, outcomes=False))
    return replace(model, probes={"records": records, "outputs": outputs})


def check_probes(model: ResponseModel) -> Distance:
    """Recompute the probes through the served path; ``ParityError`` beyond the tolerance."""
    if not model.probes:
        raise ParityError("the model carries no parity probes (saved before they existed): "
                          "retrain it to serve it")
    records = validate_records(model.probes["records"], outcomes=False)
    return compare(model.probes["outputs"], model.predict(records), "probe outputs")


def serving_parity(fitted: ResponseModel, loaded: ResponseModel,
                   records: pd.DataFrame) -> Distance:
    """Outputs of the loaded bundle against the fitted objects in memory, on validated records;
    ``ParityError`` beyond the tolerance."""
    return compare(fitted.predict(records), loaded.predict(records), "saved model outputs")


def compare(expected: Sequence[Mapping[str, Any]], got: Sequence[Mapping[str, Any]],
            what: str) -> Distance:
    """The distance between two lists of predictions; ``ParityError`` when they differ beyond
    the tolerance or in anything that is not a number (a field, a warning, a category)."""
    first, second = _numbers(expected), _numbers(got)
    if first.keys() != second.keys():
        raise ParityError(f"{what} differ in shape: {sorted(first.keys() ^ second.keys())[:5]}")
    distance = Distance.between((first[k], second[k]) for k in first
                                if is_number(first[k]) and is_number(second[k]))
    different = [k for k in first if not _same(first[k], second[k])]
    if different:
        raise ParityError(f"{what} differ from those the model was validated with at "
                          f"{len(different)} places, e.g. {different[0]} ({distance})")
    return distance


def _same(first: Any, second: Any) -> bool:
    if is_number(first) and is_number(second):
        return close(first, second)
    return bool(first == second)


def _numbers(predictions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every value of the predictions by path; contributions by field, not by rank (two fields
    equal to the last digit may swap places)."""
    flat: dict[str, Any] = {}
    for i, prediction in enumerate(predictions):
        _flatten(flat, f"[{i}]", _by_field(prediction))
    return flat


def _by_field(prediction: Mapping[str, Any]) -> dict[str, Any]:
    explanation = dict(prediction.get("explanation") or {})
    contributions = explanation.pop("contributions", [])
    explanation["contributions"] = {c["feature"]: c for c in contributions}
    return {**prediction, "explanation": explanation}


def _flatten(flat: dict[str, Any], path: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(flat, f"{path}.{key}", inner)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _flatten(flat, f"{path}[{i}]", inner)
    else:
        flat[path] = value
