"""What a result page shows of one prediction: numbers worded for a clinician, and the chart.

Used by the clinician's result page and the auditor's page of a stored prediction, so both show
the same thing from the same answer (the JSON the API returns, or the audit entry's output and
explanation). Fields, values and warnings are shown in clinical words (:mod:`.labels`,
:func:`.forms.in_words`); an index whose missing items could change its class says so
(:func:`features.index_gaps.index_gaps`, from the record when the page has it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup

from ssc_response.features.index_formulas import acr_eular_2013_classified
from ssc_response.features.index_gaps import IndexGap, gap_sentence
from ssc_response.features.schema import fields
from ssc_response.models.registry import ServedModel
from ssc_response.serving.pages.contributions import contribution_rows, scale_sentence
from ssc_response.serving.pages.forms import in_words
from ssc_response.serving.pages.labels import label
from ssc_response.serving.pages.missing_words import missing_view
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
    refits: int | None = None  # models refitted on resampled cohorts (probability uncertainty)


def model_facts(served: ServedModel) -> ModelFacts:
    """Name, version, training date, base rate and number of refits of the served model."""
    trained = served.trained_at.date().isoformat() if served.trained_at else None
    members = getattr(served.model, "probability_members", None)
    refits = getattr(members, "n_members", None)
    return ModelFacts(served.ref.name, served.ref.version, trained,
                      served.metrics.get("outcome_rate"),
                      refits if isinstance(refits, int) else None)


@dataclass(frozen=True)
class IndexRow:
    """One clinical index: its value and what it means ('active', 'met', 'not assessable')."""

    name: str
    value: str
    status: str
    note: str = ""  # the missing items, when there are some


_INDEX_ROWS = (
    ("escsg_activity_index", "EScSG activity index", "escsg_active", ("active", "not active")),
    ("eustar_activity_index", "Revised EUSTAR activity index", "eustar_active",
     ("active", "not active")),
    ("acr_eular_2013_score", "ACR/EULAR 2013 classification score", None,
     ("criteria met", "criteria not met")),
)


def index_rows(indices: Mapping[str, Any], gaps: Sequence[IndexGap] = ()) -> list[IndexRow]:
    """EScSG and revised EUSTAR (active or not), ACR/EULAR 2013 (met or not), and the mRSS.

    ``gaps``: the record's indices with missing items; without them (a stored prediction seen
    without its record) a null index still reads "not assessable".
    """
    by_index = {gap.index: gap for gap in gaps}
    rows = [IndexRow("mRSS (total)", _number(indices.get("mrss_total"), "not recorded"), "")]
    for column, name, flag, (yes, no) in _INDEX_ROWS:
        value = indices.get(column)
        gap = by_index.get(column)
        if flag is not None:
            decided = indices.get(flag)
        else:
            decided = None if value is None else bool(acr_eular_2013_classified(float(value)))
        rows.append(_index_row(name, value, decided, gap, yes, no))
    return rows


def _index_row(name: str, value: Any, decided: bool | None, gap: IndexGap | None,
               yes: str, no: str) -> IndexRow:
    missing = len(gap.missing) if gap is not None else 0
    items = f"{missing} item{'s' if missing != 1 else ''} missing"
    if value is None or decided is None:
        status = f"not assessable: {items}" if gap is not None else "not assessable"
        shown = f"{gap.low:g} to {gap.high:g}" if gap is not None else "—"
        return IndexRow(name, shown, status, _missing_note(gap))
    if gap is not None:
        return IndexRow(name, f"at least {float(value):g}", f"{yes if decided else no} "
                        f"({items}, whatever they are)", _missing_note(gap))
    return IndexRow(name, _number(value, "—"), yes if decided else no)


def _missing_note(gap: IndexGap | None) -> str:
    """'Not recorded: ESR, DLCO.' (the fields that could add points)."""
    if gap is None or not gap.missing:
        return ""
    return "Not recorded: " + ", ".join(label(name) for name in gap.missing) + "."


def _number(value: Any, missing: str) -> str:
    return missing if value is None else f"{float(value):g}"


def warnings_in_words(warnings: Sequence[str], gaps: Sequence[IndexGap] = ()) -> list[str]:
    """The answer's warnings in clinical words, then the index gaps the answer lacks."""
    shown = [_warning_in_words(str(text)) for text in warnings]
    extra = [gap_sentence(gap) for gap in gaps]
    return shown + [text for text in extra if text not in shown]


_LEADING_FIELD = re.compile(r"^([a-z0-9_]+)(?= missing| = | is )")


def _warning_in_words(text: str) -> str:
    """'pah missing: ...' -> 'PAH missing: ...'; the leading field also names the codes
    ('cell_product = 'ad_svf' ...' -> 'Cell product = 'adipose stromal vascular fraction'...')."""
    match = _LEADING_FIELD.match(text)
    name = match.group(1) if match and match.group(1) in fields() else None
    if name is None:
        return in_words(text)
    return label(name) + in_words(text[len(name):], name)


def probability_sentence(probability: Mapping[str, Any], refits: int | None) -> str:
    """What the probability's range is: the spread of refitted models, not a coverage claim."""
    models = f"{refits} models" if refits else "models"
    return (f"Model uncertainty: {percent(probability.get('lower'))} to "
            f"{percent(probability.get('upper'))}. {models.capitalize()} refitted on resampled "
            "training cohorts disagree this much about this patient. This shows how stable the "
            "model is; it is not a range that holds the true probability with a stated chance.")


def prediction_view(prediction: Mapping[str, Any], gaps: Sequence[IndexGap] = (),
                    facts: ModelFacts | None = None) -> dict[str, Any]:
    """Template values of one prediction (``prediction``: the API's answer for one patient;
    ``gaps``: its record's index gaps, when the page has the record)."""
    explanation = prediction["explanation"]
    probability = prediction["probability_response"]
    return {
        "p": prediction,
        "probability": probability,
        "probability_note": probability_sentence(probability, facts.refits if facts else None),
        "delta": prediction["predicted_delta_mrss"],
        "delta_level": _level(prediction["predicted_delta_mrss"]),
        "indices": index_rows(prediction["indices"], gaps),
        "chart": Markup(waterfall_svg(explanation)),  # every text in it is escaped there
        "scale": SCALES.get(explanation["output_space"], explanation["output_space"]),
        "scale_note": scale_sentence(explanation),
        "contributions": contribution_rows(explanation),
        "warnings": warnings_in_words(prediction["warnings"], gaps),
        "missing": missing_view(prediction.get("missing_data")),
        "disclaimer": DISCLAIMER,
    }


def _level(interval: Mapping[str, Any]) -> int | None:
    """The ΔmRSS interval's nominal level in %, whatever the API calls it."""
    for key in ("level", "nominal_coverage", "coverage"):
        value = interval.get(key)
        if isinstance(value, int | float) and np.isfinite(value):
            return round(100 * float(value))
    return None


def percent(value: float | None) -> str:
    """0.4213 -> '42 %' (a Jinja filter)."""
    return "—" if value is None else f"{100 * value:.0f} %"
