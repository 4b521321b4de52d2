"""Outcome definitions after transplantation: skin response, CRISS, Raynaud's, HAQ, histology.

Pure, vectorised calculators (same input and output conventions as :mod:`features.index_formulas`).
Δ is follow-up minus baseline, so a **negative ΔmRSS is an improvement** (§9.7). Every threshold
is a keyword parameter whose default is the published one (§1.2, §5, §7.3, §10.3).

Missing inputs: an outcome whose required inputs are missing is NaN (numbers) or ``<NA>``
(yes/no results).

Rounding: a difference that lies within ``TOLERANCE`` (1e-9) of a cut-off counts as exactly on
it. Scores are entered with at most a few decimals, but their binary differences are not exact
(4.1 - 2.7 = 1.3999999999999995, not 1.4), so a patient exactly on a published cut-off would
otherwise fall either side of it by accident.

Sections and keys such as ``§5 [S47]`` refer to ``shared/clinical-reference.md``.

Two private modules, re-exported here (import from this module): ``_outcome_skin`` (mRSS
change, EUSTAR response and progression, MCID) and ``_outcome_secondary`` (CRISS, Raynaud's,
HAQ-DI, histology).
"""

from ssc_response.features._outcome_secondary import (
    CRISS_COEFFICIENTS,
    CRISS_IMPROVED_THRESHOLD,
    HAQ_MID_POINTS,
    MORPHOLOGY_RULES,
    RCS_MID_POINTS,
    criss,
    criss_improved,
    criss_logit,
    haq_responder,
    morphological_responder,
    raynaud_responder,
)
from ssc_response.features._outcome_skin import (
    SKIN_ABS_THRESHOLD_POINTS,
    SKIN_MCID_POINTS,
    SKIN_REL_THRESHOLD,
    TOLERANCE,
    change,
    delta_mrss,
    minimal_responder_decrease,
    pct_change_mrss,
    skin_progressor,
    skin_responder,
    skin_responder_mcid,
)

__all__ = [
    "CRISS_IMPROVED_THRESHOLD",
    "HAQ_MID_POINTS",
    "RCS_MID_POINTS",
    "SKIN_ABS_THRESHOLD_POINTS",
    "SKIN_MCID_POINTS",
    "SKIN_REL_THRESHOLD",
    "CRISS_COEFFICIENTS",
    "MORPHOLOGY_RULES",
    "TOLERANCE",
    "change",
    "criss",
    "criss_improved",
    "criss_logit",
    "delta_mrss",
    "haq_responder",
    "minimal_responder_decrease",
    "morphological_responder",
    "pct_change_mrss",
    "raynaud_responder",
    "skin_progressor",
    "skin_responder",
    "skin_responder_mcid",
]
