"""The fields the served model reads, most important first, for the one-patient form.

Importance is the mean absolute contribution of each field over the model's explainer background
(up to 100 training patients, kept in the bundle): the same SHAP values the result page shows,
averaged. Computed once per model version and kept.
"""

from __future__ import annotations

import logging
from typing import Any

from ssc_response.models.registry import ServedModel

_LOG = logging.getLogger(__name__)
_BY_VERSION: dict[tuple[str, str], tuple[str, ...]] = {}


def model_fields_by_importance(served: ServedModel) -> tuple[str, ...]:
    """The model's input fields, largest mean |contribution| first (dictionary order on ties or
    when the explainer cannot rank them)."""
    key = (served.ref.name, served.ref.version)
    if key not in _BY_VERSION:
        _BY_VERSION[key] = _ranked(served.model)
    return _BY_VERSION[key]


def _ranked(model: Any) -> tuple[str, ...]:
    fields = [str(name) for name in model.metadata.get("feature_fields", [])]
    try:
        grouped = model.explainer.grouped_shap_values(model.background)
        importance = grouped.abs().mean(axis=0)
    except Exception:  # an explainer that cannot run on its background: keep dictionary order
        _LOG.warning("could not rank the model's fields by importance; dictionary order used")
        return tuple(fields)
    weight = {str(name): float(value) for name, value in importance.items()}
    return tuple(sorted(fields, key=lambda name: -weight.get(name, 0.0)))
