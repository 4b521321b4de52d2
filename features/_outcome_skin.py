"""Skin outcomes after transplantation: mRSS change, EUSTAR response and progression, MCID.

Private to :mod:`features.outcomes`, which re-exports it (its docstring states the conventions:
Δ = follow-up − baseline, missing inputs, the ``TOLERANCE`` on cut-offs).
"""

from __future__ import annotations

import numpy as np

from ssc_response.features._arrays import (
    ArrayInput,
    BoolResult,
    FloatResult,
    _as_float,
    _bool_result,
    _float_result,
    _shape_of,
)

TOLERANCE = 1e-9

# Published defaults, shared with features.derived_columns (the outcome columns).
SKIN_ABS_THRESHOLD_POINTS = 5.0  # EUSTAR "> 5 points" [S12], [S14]
SKIN_REL_THRESHOLD = 0.25  # EUSTAR ">= 25 %"
SKIN_MCID_POINTS = 5.0  # dcSSc MCID, SLS-I/II [S1]

# ---------------------------------------------------------------------------------------------
# mRSS change (§1.2, §10.3)
# ---------------------------------------------------------------------------------------------


def _paired(baseline: ArrayInput, followup: ArrayInput) -> tuple[np.ndarray, np.ndarray]:
    return _as_float(baseline), _as_float(followup)


def change(baseline: ArrayInput, followup: ArrayInput) -> FloatResult:
    """Δ = follow-up − baseline of any score, in its units. NaN if either value is missing."""
    shape = _shape_of(baseline, followup)
    before, after = _paired(baseline, followup)
    return _float_result(after - before, shape)


def delta_mrss(mrss_baseline: ArrayInput, mrss_followup: ArrayInput) -> FloatResult:
    """ΔmRSS = follow-up − baseline, in points (negative = improvement). NaN if either missing."""
    return change(mrss_baseline, mrss_followup)


def pct_change_mrss(mrss_baseline: ArrayInput, mrss_followup: ArrayInput) -> FloatResult:
    """Percent change of mRSS, ``100 × Δ / baseline`` (§10.3); NaN when the baseline is 0."""
    shape = _shape_of(mrss_baseline, mrss_followup)
    baseline, followup = _paired(mrss_baseline, mrss_followup)
    change = np.full(np.broadcast(baseline, followup).shape, np.nan)
    np.divide(100.0 * (followup - baseline), baseline, out=change, where=baseline != 0)
    return _float_result(change, shape)


def _passes(change: np.ndarray, threshold: float, *, strict: bool) -> np.ndarray:
    """``change > threshold`` (strict) or ``>=``, a difference within TOLERANCE being on it."""
    if strict:
        return change > threshold + TOLERANCE
    return change >= threshold - TOLERANCE


def _large_change(
    baseline: np.ndarray,
    change: np.ndarray,
    abs_threshold: float,
    rel_threshold: float,
    strict: bool,
) -> np.ndarray:
    """EUSTAR rule on a change in the improving or worsening direction (positive = that way)."""
    # Multiplying the threshold instead of dividing by the baseline keeps a zero baseline finite.
    relative = change >= rel_threshold * baseline - TOLERANCE
    return _passes(change, abs_threshold, strict=strict) & relative


def skin_responder(
    mrss_baseline: ArrayInput,
    mrss_followup: ArrayInput,
    abs_threshold: float = SKIN_ABS_THRESHOLD_POINTS,
    rel_threshold: float = SKIN_REL_THRESHOLD,
    strict: bool = True,
) -> BoolResult:
    """EUSTAR skin improvement: mRSS decrease > 5 points AND >= 25 % of baseline (§1.2 [S12]).

    ``strict=False`` reads the absolute rule as ">= 5" as some trials do (§9.1); the relative
    rule is always ">=". A baseline of 0 is never a response. ``<NA>`` if either value is missing.
    """
    shape = _shape_of(mrss_baseline, mrss_followup)
    baseline, followup = _paired(mrss_baseline, mrss_followup)
    passed = _large_change(baseline, baseline - followup, abs_threshold, rel_threshold, strict)
    return _bool_result(passed & (baseline > 0), np.isnan(baseline) | np.isnan(followup), shape)


def minimal_responder_decrease(
    mrss_baseline: ArrayInput,
    abs_threshold: float = SKIN_ABS_THRESHOLD_POINTS,
    rel_threshold: float = SKIN_REL_THRESHOLD,
    strict: bool = True,
) -> FloatResult:
    """The smallest whole-point mRSS decrease that :func:`skin_responder` counts as a response.

    mRSS is a sum of 17 whole-point site scores, so a decrease is a whole number and every rule
    is a cut on the integer grid: "> 5 points" means a decrease of at least 6, ">= 5" at least
    5, and ">= 25 % of 22" at least 6 (5.5 rounded up). The response rule of a patient with
    baseline ``b`` is then ``decrease >= minimal_responder_decrease(b)`` exactly, for every
    whole-point follow-up (the test checks this against :func:`skin_responder` on the whole grid).
    Pass ``rel_threshold=0, strict=False`` for the MCID rule (:func:`skin_responder_mcid`).

    ``inf`` where no decrease counts (a baseline of 0 is never a response) and NaN where the
    baseline is missing. A decrease can never exceed the baseline, so a value above ``b`` means
    a response is impossible for that patient.
    """
    shape = _shape_of(mrss_baseline)
    baseline = _as_float(mrss_baseline)
    absolute = np.floor(abs_threshold + TOLERANCE) + 1 if strict else np.ceil(
        abs_threshold - TOLERANCE)
    relative = np.ceil(rel_threshold * baseline - TOLERANCE)
    needed = np.maximum(np.maximum(absolute, relative), 0.0)
    needed = np.where(baseline > 0, needed, np.inf)
    return _float_result(np.where(np.isnan(baseline), np.nan, needed), shape)


def skin_progressor(
    mrss_baseline: ArrayInput,
    mrss_followup: ArrayInput,
    abs_threshold: float = SKIN_ABS_THRESHOLD_POINTS,
    rel_threshold: float = SKIN_REL_THRESHOLD,
    strict: bool = True,
) -> BoolResult:
    """EUSTAR skin progression: mRSS increase > 5 points AND >= 25 % (§1.2 [S14], [S15]).

    Same parameters as :func:`skin_responder`. From a baseline of 0 any increase is an infinite
    relative increase, so only the absolute rule decides. ``<NA>`` if either value is missing.
    """
    shape = _shape_of(mrss_baseline, mrss_followup)
    baseline, followup = _paired(mrss_baseline, mrss_followup)
    passed = _large_change(baseline, followup - baseline, abs_threshold, rel_threshold, strict)
    return _bool_result(passed, np.isnan(baseline) | np.isnan(followup), shape)


def _decrease_of_at_least(before: ArrayInput, after: ArrayInput, amount: float) -> BoolResult:
    """``before - after >= amount`` (within TOLERANCE); ``<NA>`` if either value is missing."""
    shape = _shape_of(before, after)
    baseline, followup = _paired(before, after)
    passed = _passes(baseline - followup, amount, strict=False)
    return _bool_result(passed, np.isnan(baseline) | np.isnan(followup), shape)


def skin_responder_mcid(
    mrss_baseline: ArrayInput, mrss_followup: ArrayInput, mcid: float = SKIN_MCID_POINTS
) -> BoolResult:
    """mRSS decrease >= ``mcid`` points (dcSSc MCID 5 [S1]; 4.7 in faSScinate [S11])."""
    return _decrease_of_at_least(mrss_baseline, mrss_followup, mcid)


