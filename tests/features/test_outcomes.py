"""Outcome definitions, row by row against tables citing shared/clinical-reference.md.

Tolerances: the §5 CRISS table gives L to 3 and P to 4 decimals, so each is compared to half a
unit in its last place (mixed modest: L = 0.2025, printed 0.203); cut-off tables are exact.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssc_response.features import outcomes

DATA = Path(__file__).parents[1] / "data"
DELTAS = [
    "delta_mrss",
    "delta_fvc_pct_pred",
    "delta_patient_global",
    "delta_physician_global",
    "delta_haq_di",
]
MORPHOLOGY_INPUTS = [
    "fibrosis_grade_baseline",
    "fibrosis_grade_followup",
    "microvessel_density_baseline",
    "microvessel_density_followup",
    "epidermal_thickness_baseline_um",
    "epidermal_thickness_followup_um",
]


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


def rows(name: str, **where: str) -> list[Any]:
    table = load(name)
    for column, value in where.items():
        table = table[table[column] == value]
    return [pytest.param(row, id=row["case"]) for row in table.to_dict("records")]


def expected_bool(value: float) -> Any:
    return pd.NA if pd.isna(value) else bool(value)


def same_number(actual: float, expected: float) -> bool:
    return (math.isnan(actual) and math.isnan(expected)) or actual == pytest.approx(expected)


# --- mRSS change: hand-computed cut-offs of §1.2 / §10.3 ------------------------------------


@pytest.mark.parametrize("row", rows("skin_response_cutoffs.csv"))
def test_mrss_change_and_percent(row: dict[str, Any]) -> None:
    """Hand-computed; Δ = follow-up − baseline, pct = 100 Δ / baseline (§10.3)."""
    base, follow = row["mrss_baseline"], row["mrss_followup"]
    assert same_number(outcomes.delta_mrss(base, follow), row["expected_delta"])
    assert same_number(outcomes.pct_change_mrss(base, follow), row["expected_pct_change"])


@pytest.mark.parametrize("row", rows("skin_response_cutoffs.csv"))
def test_skin_responder_and_progressor(row: dict[str, Any]) -> None:
    """EUSTAR > 5 AND >= 25 % (§1.2 [S12], [S14]); strict and non-strict readings."""
    base, follow = row["mrss_baseline"], row["mrss_followup"]
    cases = {
        "expected_responder_strict": outcomes.skin_responder(base, follow),
        "expected_responder_nonstrict": outcomes.skin_responder(base, follow, strict=False),
        "expected_progressor_strict": outcomes.skin_progressor(base, follow),
        "expected_progressor_nonstrict": outcomes.skin_progressor(base, follow, strict=False),
        "expected_mcid": outcomes.skin_responder_mcid(base, follow),
    }
    for column, actual in cases.items():
        assert actual is expected_bool(row[column]), column


def test_skin_outcomes_vectorised_keep_index_and_dtype() -> None:
    """The whole cut-off table at once, as validated Int64 Series on a custom index."""
    table = load("skin_response_cutoffs.csv")
    index = pd.Index([f"p{i}" for i in range(len(table))])
    base = pd.Series(table["mrss_baseline"].to_numpy(), index=index).astype("Int64")
    follow = pd.Series(table["mrss_followup"].to_numpy(), index=index).astype("Int64")
    responder = outcomes.skin_responder(base, follow)
    assert responder.dtype == "boolean" and responder.index.equals(index)
    assert responder.tolist() == [expected_bool(v) for v in table["expected_responder_strict"]]
    delta = outcomes.delta_mrss(base, follow)
    assert delta.dtype == "float64" and delta.index.equals(index)
    np.testing.assert_array_equal(delta.to_numpy(), table["expected_delta"].to_numpy())


def test_relative_threshold_tolerates_float_rounding() -> None:
    """0.28 × 25 = 7.000000000000001 in binary; a 7-point fall from 25 is exactly 28 %."""
    assert 0.28 * 25 > 7
    assert outcomes.skin_responder(25, 18, rel_threshold=0.28) is True


def test_mcid_variant_threshold() -> None:
    """faSScinate MCID >= 4.7 (§1.2 [S11])."""
    assert outcomes.skin_responder_mcid(20, 15.3, mcid=4.7) is True
    assert outcomes.skin_responder_mcid(20, 15.4, mcid=4.7) is False


# --- CRISS: §5 worked table and the ≈ −7.34 crossing ----------------------------------------


@pytest.mark.parametrize("row", rows("criss.csv"))
def test_criss_worked_examples(row: dict[str, Any]) -> None:
    """§5 table rows (L to 3, P to 4 decimals) and the hand-computed crossing rows."""
    deltas = {name: row[name] for name in DELTAS}
    assert outcomes.criss_logit(**deltas) == pytest.approx(row["expected_logit"], abs=5e-4)
    probability = outcomes.criss(**deltas, organ_event=row["organ_event"])
    assert probability == pytest.approx(row["expected_criss"], abs=5e-5)
    assert outcomes.criss_improved(probability) is bool(row["expected_improved"])


def test_criss_crosses_060_at_minus_7_34() -> None:
    """§5 test tip: L = ln(0.6/0.4) at ΔmRSS = −(5.54 + ln 1.5)/0.81 ≈ −7.3401."""
    crossing = -(5.54 + math.log(1.5)) / 0.81
    assert crossing == pytest.approx(-7.34, abs=1e-3)
    assert outcomes.criss(crossing, 0, 0, 0, 0) == pytest.approx(0.60, abs=1e-12)
    assert outcomes.criss_improved(outcomes.criss(crossing - 1e-6, 0, 0, 0, 0)) is True
    assert outcomes.criss_improved(outcomes.criss(crossing + 1e-6, 0, 0, 0, 0)) is False


def test_criss_vectorised_matches_table() -> None:
    table = load("criss.csv")
    index = pd.Index([f"p{i}" for i in range(len(table))])
    columns = {name: pd.Series(table[name].to_numpy(), index=index) for name in DELTAS}
    event = pd.Series(table["organ_event"].to_numpy(), index=index).astype("boolean")
    probability = outcomes.criss(**columns, organ_event=event)
    assert probability.index.equals(index)
    np.testing.assert_allclose(probability.to_numpy(), table["expected_criss"], atol=5e-5)


def test_criss_missing_inputs() -> None:
    """A missing Δ gives NaN; a step-1 event still forces 0.0; a missing event is no event."""
    assert math.isnan(outcomes.criss(np.nan, 0, 0, 0, 0))
    assert outcomes.criss(np.nan, 0, 0, 0, 0, organ_event=True) == 0.0
    assert outcomes.criss(-10, 0, 0, 0, 0, organ_event=pd.NA) == outcomes.criss(-10, 0, 0, 0, 0)
    assert outcomes.criss_improved(np.nan) is pd.NA


def test_criss_is_finite_for_extreme_changes() -> None:
    assert outcomes.criss(-51, 100, -10, -10, -3) == 1.0
    assert 0.0 < outcomes.criss(51, -100, 10, 10, 3) < 1e-30


# --- Raynaud's and HAQ-DI MIDs (§7.3), hand-computed ---------------------------------------


@pytest.mark.parametrize("row", rows("mid_cutoffs.csv", instrument="rcs"))
def test_raynaud_responder(row: dict[str, Any]) -> None:
    """RCS decrease >= 1.4 (Khanna 2010 [S88], rescaled to 0-10)."""
    result = outcomes.raynaud_responder(row["baseline"], row["followup"])
    assert result is expected_bool(row["expected_responder"])


@pytest.mark.parametrize("row", rows("mid_cutoffs.csv", instrument="haq"))
def test_haq_responder(row: dict[str, Any]) -> None:
    """HAQ-DI decrease >= 0.14 ([S10])."""
    result = outcomes.haq_responder(row["baseline"], row["followup"])
    assert result is expected_bool(row["expected_responder"])


def test_float_cutoff_rows_really_are_inexact() -> None:
    """Guards the mid_cutoffs.csv premise: these differences miss the cut-off in binary."""
    assert 4.1 - 2.7 < 1.4
    assert 0.82 - 0.68 < 0.14


def test_mid_parameter() -> None:
    assert outcomes.haq_responder(1.0, 0.875, mid=0.10) is True


# --- morphological response (§7.1), hand-computed -------------------------------------------


@pytest.mark.parametrize("row", rows("morphological_responder.csv"))
def test_morphological_responder(row: dict[str, Any]) -> None:
    """Fibrosis down AND (vessels OR epidermis up) by default; ``all`` needs all three."""
    inputs = [row[name] for name in MORPHOLOGY_INPUTS]
    default = outcomes.morphological_responder(*inputs)
    strict = outcomes.morphological_responder(*inputs, require="all")
    assert default is expected_bool(row["expected_fibrosis_and_one"])
    assert strict is expected_bool(row["expected_all"])


def test_morphological_responder_vectorised() -> None:
    table = load("morphological_responder.csv")
    result = outcomes.morphological_responder(*[table[n] for n in MORPHOLOGY_INPUTS])
    assert result.dtype == "boolean"
    assert result.tolist() == [expected_bool(v) for v in table["expected_fibrosis_and_one"]]


def test_morphological_responder_rejects_unknown_rule() -> None:
    with pytest.raises(ValueError, match="require must be one of"):
        outcomes.morphological_responder(3, 2, 1, 2, 1, 2, require="any")


# --- the integer-aware cut behind the ΔmRSS model: one definition with the labels ------------


@pytest.mark.parametrize(
    ("abs_threshold", "rel_threshold", "strict"),
    [(5.0, 0.25, True), (5.0, 0.25, False), (4.7, 0.20, True), (3.0, 0.4, False), (0.0, 0.0, True)],
)
def test_minimal_decrease_is_the_responder_rule_on_the_whole_integer_grid(
    abs_threshold: float, rel_threshold: float, strict: bool
) -> None:
    baseline, followup = (a.ravel() for a in np.meshgrid(np.arange(52.0), np.arange(52.0)))
    labels = np.asarray(
        outcomes.skin_responder(baseline, followup, abs_threshold, rel_threshold, strict),
        dtype=bool,
    )
    needed = outcomes.minimal_responder_decrease(baseline, abs_threshold, rel_threshold, strict)
    np.testing.assert_array_equal(baseline - followup >= needed, labels)


@pytest.mark.parametrize("mcid", [5.0, 4.7, 3.2])
def test_minimal_decrease_with_mcid_rule_matches_the_mcid_labels(mcid: float) -> None:
    baseline, followup = (a.ravel() for a in np.meshgrid(np.arange(1.0, 52.0), np.arange(52.0)))
    labels = np.asarray(outcomes.skin_responder_mcid(baseline, followup, mcid), dtype=bool)
    needed = outcomes.minimal_responder_decrease(baseline, mcid, 0.0, strict=False)
    np.testing.assert_array_equal(baseline - followup >= needed, labels)


def test_minimal_decrease_hand_computed() -> None:
    # EUSTAR "> 5 points and >= 25 %" (clinical-reference §1.2 [S12]) on whole points:
    # baseline 20 -> max(6, 5) = 6; 22 -> max(6, ceil(5.5)) = 6; 28 -> max(6, 7) = 7;
    # 40 -> max(6, 10) = 10; ">= 5" at baseline 20 -> max(5, 5) = 5; baseline 0 -> never.
    got = outcomes.minimal_responder_decrease(np.array([20, 22, 28, 40, 0.0]))
    np.testing.assert_array_equal(got, [6, 6, 7, 10, np.inf])
    assert outcomes.minimal_responder_decrease(20, strict=False) == 5
    assert math.isnan(outcomes.minimal_responder_decrease(np.nan))
