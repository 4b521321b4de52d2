"""Replay: recompute a recorded prediction with the model version it names, and compare.

The stored answer is the record. A replay validates the recorded input again, runs the same
inference path as the live service (:func:`serving.inference.predict`) with the recorded model
version, and compares every number with the stated tolerance of :mod:`models.tolerance`
(relative 1e-9): a replay that differs in the 16th digit is a match, and the result says how far
apart the two were. Any larger difference means the model artifact, the code or the record has
changed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssc_response.features.validation import ContractError
from ssc_response.models.registry import ModelNotFoundError, ServedModel, load_served_model
from ssc_response.models.tolerance import Distance, close, is_number
from ssc_response.serving.audit.records import AuditRecord
from ssc_response.serving.inference import predict, validate_patients

_INTERVALS = ("probability_response", "predicted_delta_mrss")
_INTERVAL_PARTS = ("estimate", "lower", "upper")

VersionLoader = Callable[[str, str], ServedModel]  # (model name, version) -> loaded model


class ReplayError(RuntimeError):
    """The recorded prediction cannot be recomputed (model version gone, input now invalid)."""


@dataclass(frozen=True)
class Difference:
    """One recorded value the replay did not reproduce."""

    path: str
    recorded: Any
    replayed: Any


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of a replay; ``match`` is true when nothing differs beyond the tolerance of
    :mod:`models.tolerance` (relative 1e-9). ``distance``: how far apart the recorded and the
    replayed numbers were at most, so a match in the 16th digit is visible as such."""

    prediction_id: str
    model_name: str
    model_version: str
    model_run_id: str | None
    differences: list[Difference] = field(default_factory=list)
    distance: Distance = field(default_factory=Distance)

    @property
    def match(self) -> bool:
        return not self.differences


def replay_prediction(record: AuditRecord, loader: VersionLoader) -> ReplayResult:
    """Recompute ``record`` with the model version it names and compare with what was served."""
    try:
        served = loader(record.model_name, record.model_version)
    except ModelNotFoundError:
        raise ReplayError("the recorded model version is no longer in the registry") from None
    try:
        records = validate_patients([record.input])
    except (ContractError, TypeError):
        raise ReplayError("the recorded input no longer passes the input contract") from None
    replayed = predict(served, [records])[0][0]
    differences, distance = compare_outputs(record.output, record.explanation, replayed)
    return ReplayResult(record.prediction_id, record.model_name, record.model_version,
                        record.model_run_id, differences, distance)


def compare_outputs(output: Mapping[str, Any], explanation: Mapping[str, Any],
                    replayed: Mapping[str, Any]) -> tuple[list[Difference], Distance]:
    """Interval numbers and the explanation (base, output, every contribution): the values that
    differ beyond the tolerance, and the largest distance between the numbers compared."""
    comparison = _Comparison()
    for name in _INTERVALS:
        for part in _INTERVAL_PARTS:
            comparison.add(f"{name}.{part}", output.get(name, {}).get(part), replayed[name][part])
    _compare_explanation(comparison, explanation or {}, replayed["explanation"])
    return comparison.differences, Distance.between(comparison.pairs)


def _compare_explanation(comparison: _Comparison, recorded: Mapping[str, Any],
                         replayed: Mapping[str, Any]) -> None:
    for part in ("base_value", "output_value", "output_space"):
        comparison.add(f"explanation.{part}", recorded.get(part), replayed[part])
    before = {c["feature"]: c for c in recorded.get("contributions", [])}
    after = {c["feature"]: c for c in replayed["contributions"]}
    for feature in sorted(before.keys() | after.keys()):
        old, new = before.get(feature, {}), after.get(feature, {})
        path = f"explanation.contributions[{feature}]"
        comparison.add(f"{path}.contribution", old.get("contribution"), new.get("contribution"))
        comparison.add(f"{path}.value", old.get("value"), new.get("value"))


@dataclass
class _Comparison:
    """Recorded against replayed values, one path at a time."""

    differences: list[Difference] = field(default_factory=list)
    pairs: list[tuple[float, float]] = field(default_factory=list)

    def add(self, path: str, recorded: Any, replayed: Any) -> None:
        if is_number(recorded) and is_number(replayed):
            self.pairs.append((float(recorded), float(replayed)))
            same = close(recorded, replayed)
        else:
            same = recorded == replayed
        if not same:
            self.differences.append(Difference(path, recorded, replayed))


class VersionCache:
    """Loaded model versions for replay, least recently used dropped beyond ``size``.

    The model currently served is reused rather than loaded twice.
    """

    def __init__(self, current: Callable[[], ServedModel | None],
                 loader: Callable[[str], ServedModel] = load_served_model, size: int = 4) -> None:
        self._current = current
        self._loader = loader
        self._size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], ServedModel] = OrderedDict()

    def __call__(self, name: str, version: str) -> ServedModel:
        served = self._current()
        if served is not None and (served.ref.name, served.ref.version) == (name, version):
            return served
        with self._lock:  # loading twice in parallel would only waste memory and time
            key = (name, version)
            if key not in self._cache:
                self._cache[key] = self._loader(f"models:/{name}/{version}")
                if len(self._cache) > self._size:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return self._cache[key]
