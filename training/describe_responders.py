"""Responder rates with Wilson 95 % intervals, beside the untreated course from the literature.

The definitions are those of :mod:`features.outcomes` (through
:func:`features.derived_columns.add_outcome_columns`), with their published thresholds; the
revised CRISS, which ``features`` does not define yet, is computed here from the same five core
items. An uncontrolled series cannot separate the transplant from regression to the mean and
the natural course, so each rate with a published untreated counterpart is shown beside it
(``shared/clinical-reference.md`` §1.4; keys such as [S12] are its references).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssc_response.features.derived_columns import add_outcome_columns
from ssc_response.features.index_columns import baseline_mrss
from ssc_response.training.plots import wilson_interval

__all__ = ["RESPONDER_COLUMNS", "RESPONDERS", "responder_table", "revised_criss_improved"]

RESPONDER_COLUMNS: tuple[str, ...] = (
    "responder", "definition", "n_evaluable", "n_responders", "rate", "ci_low", "ci_high",
    "untreated_rate", "untreated_source",
)
RCRISS_ITEM_IMPROVEMENT = 0.20  # >= 20 % in >= 3 of 5 core items [S20]
RCRISS_FVC_IMPROVEMENT = 0.05  # the FVC item's threshold, 5 % [S21]
RCRISS_ITEMS_NEEDED = 3


@dataclass(frozen=True)
class Responder:
    column: str
    label: str
    definition: str
    untreated_rate: float = math.nan  # the untreated (natural course or placebo) rate at 1 year
    untreated_source: str = ""


RESPONDERS: tuple[Responder, ...] = (
    Responder("skin_responder", "EUSTAR skin response",
              "mRSS decrease > 5 points and >= 25 % of baseline",
              0.24, "EUSTAR dcSSc, 1 year without study treatment: 24 % of 919 improved "
              "(Dobrota 2016 [S12]); 22.4 % of 1257 regressed (EUSTAR 2024 [S16])"),
    Responder("skin_responder_mcid", "mRSS MCID", "mRSS decrease >= 5 points (dcSSc MCID)",
              0.273, "placebo arm, faSScinate, 48 weeks: 27.3 % reached the 4.7-point MCID "
              "[S11]"),
    Responder("criss_improved", "CRISS", "ACR CRISS probability >= 0.60 (organ event: 0)"),
    Responder("revised_criss_improved", "Revised CRISS",
              ">= 20 % improvement in >= 3 of 5 core items (FVC >= 5 %); organ event: not "
              "improved", 0.39, "placebo arms of the development trials: 39 % [S20]"),
    Responder("raynaud_responder", "Raynaud's", "Raynaud's Condition Score decrease >= 1.4"),
    Responder("haq_responder", "HAQ-DI", "HAQ-DI decrease >= 0.14"),
    Responder("morphological_responder", "Morphological",
              "fibrosis grade fell, and microvessel density or epidermal thickness rose"),
)
_CORE = (("mrss", "mrss_total_followup", "lower"), ("haq_di", "haq_di_followup", "lower"),
         ("patient_global", "patient_global_followup", "lower"),
         ("physician_global", "physician_global_followup", "lower"),
         ("fvc_pct_pred", "fvc_pct_pred_followup", "higher"))


def _relative_improvement(before: pd.Series, after: pd.Series, better: str) -> pd.Series:
    """Improvement as a share of baseline (NaN when either is missing or the baseline is 0)."""
    before, after = before.astype(float), after.astype(float)
    gain = (before - after) if better == "lower" else (after - before)
    return gain / before.where(before != 0)


def revised_criss_improved(frame: pd.DataFrame) -> pd.Series:
    """Revised CRISS (Khanna 2021 [S20]): improved when >= 3 of the 5 core items improved by
    >= 20 % of baseline (FVC % predicted by >= 5 % [S21]) and no step-1 organ event.

    An item with a missing visit counts for neither side; the result is ``<NA>`` when the
    known items cannot decide it. A step-1 organ event is never improved.
    """
    improved, known = [], []
    for name, followup, better in _CORE:
        before = baseline_mrss(frame) if name == "mrss" else frame.get(name)
        if before is None or followup not in frame.columns:
            return pd.Series(pd.NA, index=frame.index, dtype="boolean")
        share = _relative_improvement(pd.to_numeric(before), pd.to_numeric(frame[followup]),
                                      better)
        cut = RCRISS_FVC_IMPROVEMENT if name == "fvc_pct_pred" else RCRISS_ITEM_IMPROVEMENT
        improved.append((share >= cut - 1e-9).to_numpy())
        known.append(share.notna().to_numpy())
    hits = (np.array(improved) & np.array(known)).sum(axis=0)
    unknown = (~np.array(known)).sum(axis=0)
    result = np.where(hits >= RCRISS_ITEMS_NEEDED, True, False)
    undecided = (hits < RCRISS_ITEMS_NEEDED) & (hits + unknown >= RCRISS_ITEMS_NEEDED)
    event = frame.get("criss_organ_event_followup")
    event_flag = (pd.Series(False, index=frame.index) if event is None
                  else event.astype("boolean").fillna(False).astype(bool))
    out = pd.array(result, dtype="boolean")
    out[undecided] = pd.NA
    out[event_flag.to_numpy()] = False
    return pd.Series(out, index=frame.index)


def _rate_row(responder: Responder, values: pd.Series | None) -> dict[str, object]:
    known = values.dropna().astype(bool) if values is not None else pd.Series(dtype=bool)
    n, k = len(known), int(known.sum())
    low, high = wilson_interval(k, n) if n else (math.nan, math.nan)
    return {"responder": responder.column, "definition": responder.definition,
            "n_evaluable": n, "n_responders": k, "rate": k / n if n else math.nan,
            "ci_low": low, "ci_high": high, "untreated_rate": responder.untreated_rate,
            "untreated_source": responder.untreated_source}


def with_responders(frame: pd.DataFrame) -> pd.DataFrame:
    """The cohort with every responder column its follow-up allows (a copy)."""
    out = add_outcome_columns(frame)
    if "mrss_total_followup" in frame.columns:
        out["revised_criss_improved"] = revised_criss_improved(frame)
    return out


def responder_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per :data:`RESPONDERS` definition the data allow, :data:`RESPONDER_COLUMNS`."""
    derived = with_responders(frame)
    rows = [_rate_row(r, derived[r.column]) for r in RESPONDERS if r.column in derived.columns]
    return pd.DataFrame(rows, columns=list(RESPONDER_COLUMNS))
