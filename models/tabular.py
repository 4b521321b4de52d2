"""Predictions as one flat table row per patient (CSV output, the pyfunc model).

:func:`score_frame` is the one tabular scoring path: the pyfunc model (and so Spark's
``mlflow.pyfunc.spark_udf``) and the chunked ``predict`` command both call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ssc_response.features.validation import validate_frame

if TYPE_CHECKING:
    from ssc_response.models.bundle import ResponseModel

PREDICTION_COLUMNS: tuple[str, ...] = (
    "patient_id", "probability_response", "probability_response_lower",
    "probability_response_upper", "predicted_delta_mrss", "predicted_delta_mrss_lower",
    "predicted_delta_mrss_upper", "model_version", "explanation_space", "top_features", "warnings",
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
            }
        )
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))


def score_frame(model: ResponseModel, raw: pd.DataFrame,
                model_version: str | None = None) -> pd.DataFrame:
    """Validate raw patient rows (``ContractError`` lists every problem) and predict: one flat
    row per patient, in input order."""
    return predictions_frame(model.predict(validate_frame(raw)), model_version)
