"""Predictions as one flat table row per patient (CSV output, the pyfunc model).

:func:`score_frame` is the one tabular scoring path: the pyfunc model (and so Spark's
``mlflow.pyfunc.spark_udf``) and the chunked ``predict`` command both call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ssc_response.features.validation import Problem, validate_frame
from ssc_response.models.answerable import not_enough_information, out_of_scope

if TYPE_CHECKING:
    from ssc_response.models.bundle import ResponseModel

PREDICTION_COLUMNS: tuple[str, ...] = (
    "patient_id", "probability_response", "probability_response_lower",
    "probability_response_upper", "predicted_delta_mrss", "predicted_delta_mrss_lower",
    "predicted_delta_mrss_upper", "model_version", "explanation_space", "top_features", "warnings",
    "missing_data", "refused",
)


def _top_features(explanation: dict[str, Any], top: int) -> str:
    """``field (+0.12); field (-0.05)`` in the explanation's output space."""
    parts = [
        f"{c['feature']} ({c['contribution']:+.3f})" for c in explanation["contributions"][:top]
    ]
    return "; ".join(parts)


def predictions_frame(
    predictions: list[dict[str, Any]], model_version: str | None = None, top: int = 5
) -> pd.DataFrame:
    """Flatten :meth:`ResponseModel.predict` output for CSV files and the pyfunc model."""
    rows = []
    for item in predictions:
        probability, delta = item["probability_response"], item["predicted_delta_mrss"]
        rows.append(
            {
                "patient_id": item["patient_id"],
                "probability_response": probability["estimate"],
                "probability_response_lower": probability["lower"],
                "probability_response_upper": probability["upper"],
                "predicted_delta_mrss": delta["estimate"],
                "predicted_delta_mrss_lower": delta["lower"],
                "predicted_delta_mrss_upper": delta["upper"],
                "model_version": model_version,
                "explanation_space": item["explanation"]["output_space"],
                "top_features": _top_features(item["explanation"], top),
                "warnings": " | ".join(item["warnings"]),
                "missing_data": (item.get("missing_data") or {}).get("text", ""),
                "refused": "",
            }
        )
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))


def _refused_row(patient_id: object, problems: list[Problem],
                 model_version: str | None) -> dict[str, Any]:
    """A row with no number: why (each field and its rule), nothing predicted."""
    reasons = "; ".join(f"{p.field}: {p.rule}" for p in problems)
    return {"patient_id": str(patient_id), "model_version": model_version, "refused": reasons,
            "top_features": "", "warnings": "", "missing_data": "", "explanation_space": ""}


def score_frame(model: ResponseModel, raw: pd.DataFrame,
                model_version: str | None = None) -> pd.DataFrame:
    """Validate raw patient rows (``ContractError`` lists every problem) and predict: one flat
    row per patient, in input order.

    A patient outside the model's population, or with too little recorded, gets no number: its
    row says why in ``refused`` (each field and its rule); the other rows are predicted."""
    records = validate_frame(raw).reset_index(drop=True)
    outside = out_of_scope(model, records)
    inside = [i for i, problems in enumerate(outside) if not problems]
    outputs = model.predict(records.iloc[inside].reset_index(drop=True)) if inside else []
    scored = records.iloc[inside].reset_index(drop=True)
    unanswered = not_enough_information(model, scored, outputs) if inside else []
    predicted = predictions_frame(outputs, model_version).to_dict("records")  # one pass
    rows: list[dict[str, Any]] = [{} for _ in range(len(records))]
    for k, i in enumerate(inside):
        rows[i] = (predicted[k] if not unanswered[k] else
                   _refused_row(outputs[k]["patient_id"], unanswered[k], model_version))
    for i, problems in enumerate(outside):
        if problems:
            rows[i] = _refused_row(records["patient_id"].iloc[i], problems, model_version)
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))
