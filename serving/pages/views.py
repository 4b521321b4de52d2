"""What a result page shows of one prediction: numbers worded for a clinician, and the chart.

Used by the clinician's result page and the auditor's page of a stored prediction, so both show
the same thing from the same answer (the JSON the API returns, or the audit entry's output and
explanation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ssc_response.features.index_formulas import acr_eular_2013_classified
from ssc_response.models.registry import ServedModel
from ssc_response.serving.pages.waterfall import SCALES, waterfall_svg

DISCLAIMER = ("Research use only. Trained on simulated data by default; skin also improves "
              "without treatment. Not for clinical decisions.")


@dataclass(frozen=True)
class ModelFacts:
    """The model behind a prediction, as a result page names it."""

    name: str
    version: str
    trained_on: str | None  # date of the training run (UTC)
    base_rate: float | None  # share of the training cohort that responded


def model_facts(served: ServedModel) -> ModelFacts:
    """Name, version, training date and base rate of the served model."""
    trained = served.trained_at.date().isoformat() if served.trained_at else None
    return ModelFacts(served.ref.name, served.ref.version, trained,
                      served.metrics.get("outcome_rate"))


@dataclass(frozen=True)
class IndexRow:
    """One clinical index: its value and what it means ('active', 'met')."""

    name: str
    value: str
    status: str


def index_rows(indices: Mapping[str, Any]) -> list[IndexRow]:
    """EScSG and revised EUSTAR (active or not), ACR/EULAR 2013 (met or not), and the mRSS."""
    score = indices.get("acr_eular_2013_score")
    met = None if score is None else bool(acr_eular_2013_classified(float(score)))
    return [
        IndexRow("mRSS (total)", _number(indices.get("mrss_total")), ""),
        IndexRow("EScSG activity index", _number(indices.get("escsg_activity_index")),
                 _flag(indices.get("escsg_active"), "active", "not active")),
        IndexRow("Revised EUSTAR activity index", _number(indices.get("eustar_activity_index")),
                 _flag(indices.get("eustar_active"), "active", "not active")),
        IndexRow("ACR/EULAR 2013 classification score", _number(score),
                 _flag(met, "criteria met", "criteria not met")),
    ]


def _number(value: Any) -> str:
    return "not computed" if value is None else f"{float(value):g}"


def _flag(value: bool | None, yes: str, no: str) -> str:
    return "unknown" if value is None else (yes if value else no)


def prediction_view(prediction: Mapping[str, Any]) -> dict[str, Any]:
    """Template values of one prediction (``prediction``: the API's answer for one patient)."""
    explanation = prediction["explanation"]
    return {
        "p": prediction,
        "probability": prediction["probability_response"],
        "delta": prediction["predicted_delta_mrss"],
        "indices": index_rows(prediction["indices"]),
        "chart": Markup(waterfall_svg(explanation)),  # every text in it is escaped there
        "scale": SCALES.get(explanation["output_space"], explanation["output_space"]),
        "contributions": explanation["contributions"],
        "warnings": prediction["warnings"],
        "disclaimer": DISCLAIMER,
    }


def percent(value: float | None) -> str:
    """0.4213 -> '42 %' (a Jinja filter)."""
    return "—" if value is None else f"{100 * value:.0f} %"
