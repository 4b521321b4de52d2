"""Derived columns on cohort frames in the dtypes of a validated frame (docs/ARCHITECTURE.md).

Expected index values are the worked cases of shared/clinical-reference.md (named per test) or
hand-computed from its weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssc_response.features import derived_columns, index_columns, index_gaps, outcomes, schema

DTYPES = {
    "float": "float64",
    "integer": "Int64",
    "boolean": "boolean",
    "category": "string",
    "string": "string",
}


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast dictionary fields to the dtypes validate_frame produces."""
    kinds = {name: field.type for name, field in schema.fields().items()}
    return frame.astype({c: DTYPES[kinds[c]] for c in frame.columns if c in kinds})


def make_patient(**overrides: Any) -> dict[str, Any]:
    """EScSG §2.3 case A / EUSTAR §3 case A in dictionary fields, plus ACR/EULAR findings."""
    patient: dict[str, Any] = {
        "patient_id": "P001",
        "age_years": 45.0,
        "sex": "F",
        "disease_duration_months": 36.0,
        "mrss_total": 28,
        "scleredema": False,
        "delta_skin": True,
        "digital_ulcers_active": False,
        "delta_vascular": True,
        "arthritis": False,
        "dlco_pct_pred": 65.0,
        "delta_cardiopulmonary": False,
        "esr_mm_h": 35.0,
        "hypocomplementemia": False,
        "tendon_friction_rubs": True,
        "crp_mg_l": 15.0,
        "skin_thickening_proximal_mcp": True,
        "raynaud_phenomenon": True,
        "anti_topo1": True,
        "nvc_pattern": "active",
        "fvc_pct_pred": 80.0,
        "haq_di": 1.5,
        "patient_global": 6.0,
        "physician_global": 6.0,
        "raynaud_condition_score": 5.0,
        "fibrosis_grade": 3,
        "microvessel_density_per_mm2": 100.0,
        "epidermal_thickness_um": 40.0,
    }
    patient.update(overrides)
    return patient


def make_followup(**overrides: Any) -> dict[str, Any]:
    """A responder at 12 months: ΔmRSS −10 only (CRISS §5 'skin only −10' = 0.9282)."""
    followup: dict[str, Any] = {
        "followup_months": 12.0,
        "mrss_total_followup": 18,
        "fvc_pct_pred_followup": 80.0,
        "haq_di_followup": 1.5,
        "patient_global_followup": 6.0,
        "physician_global_followup": 6.0,
        "criss_organ_event_followup": False,
        "raynaud_condition_score_followup": 3.0,
        "fibrosis_grade_followup": 2,
        "microvessel_density_per_mm2_followup": 100.0,
        "epidermal_thickness_um_followup": 50.0,
    }
    followup.update(overrides)
    return followup


def make_frame(*patients: dict[str, Any]) -> pd.DataFrame:
    return typed(pd.DataFrame(list(patients) or [make_patient()]))


def minimal_frame() -> pd.DataFrame:
    return make_frame({name: make_patient()[name] for name in schema.REQUIRED_FIELDS})


def escsg(frame: pd.DataFrame) -> list[float]:
    return index_columns.add_baseline_indices(frame)["escsg_activity_index"].tolist()


# --- baseline indices -------------------------------------------------------------------------


def test_reference_patient_indices() -> None:
    """EScSG §2.3 case A = 5.5; EUSTAR §3 case A = 8.5; ACR/EULAR 9 + 3 + 3 + 2 (NFC) = 17."""
    out = index_columns.add_baseline_indices(make_frame()).iloc[0]
    assert out["escsg_activity_index"] == 5.5 and out["escsg_active"]
    assert out["eustar_activity_index"] == 8.5 and out["eustar_active"]
    assert out["acr_eular_2013_score"] == 17.0


def test_all_baseline_columns_added_with_stable_dtypes() -> None:
    out = index_columns.add_baseline_indices(make_frame())
    assert set(index_columns.BASELINE_DERIVED_COLUMNS) <= set(out.columns)
    expected = {
        "mrss_total": "Int64",
        "hypocomplementemia": "boolean",
        "escsg_activity_index": "float64",
        "escsg_active": "boolean",
        "eustar_activity_index": "float64",
        "eustar_active": "boolean",
        "acr_eular_2013_score": "float64",
    }
    assert {name: str(out[name].dtype) for name in expected} == expected


def test_input_frame_is_not_mutated() -> None:
    frame = make_frame(make_patient(mrss_total=None, hypocomplementemia=None))
    before = frame.copy()
    derived_columns.add_derived_columns(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_index_is_preserved() -> None:
    frame = make_frame(make_patient(), make_patient(patient_id="P002")).set_axis(["x", "y"])
    assert derived_columns.add_derived_columns(frame).index.tolist() == ["x", "y"]


def test_mrss_total_filled_from_sites_only_where_missing() -> None:
    sites = {name: 1 for name in schema.MRSS_SITE_FIELDS}
    frame = make_frame(make_patient(mrss_total=None, **sites), make_patient(mrss_total=10, **sites))
    out = index_columns.add_baseline_indices(frame)
    assert out["mrss_total"].tolist() == [17, 10]
    assert out["mrss_total"].dtype == "Int64"
    # mRSS 17 > 14 scores 1 point in EScSG; the given 10 does not.
    assert out["escsg_activity_index"].tolist() == [5.5, 4.5]


def test_mrss_total_stays_missing_when_a_site_is_missing() -> None:
    sites = {name: 1 for name in schema.MRSS_SITE_FIELDS} | {"mrss_face": None}
    out = index_columns.add_baseline_indices(make_frame(make_patient(mrss_total=None, **sites)))
    assert out["mrss_total"].isna().all()


def test_hypocomplementemia_filled_from_complement_only_where_missing() -> None:
    """Default limits C3 < 0.9 g/L, C4 < 0.1 g/L (data dictionary); a given value is kept."""
    frame = make_frame(
        make_patient(hypocomplementemia=None, c3_g_l=0.5, c4_g_l=0.2),
        make_patient(hypocomplementemia=False, c3_g_l=0.5, c4_g_l=0.2),
        make_patient(hypocomplementemia=None, c3_g_l=1.0, c4_g_l=None),
    )
    out = index_columns.add_baseline_indices(frame)
    assert out["hypocomplementemia"].tolist() == [True, False, pd.NA]
    assert out["escsg_activity_index"].tolist() == [6.5, 5.5, 5.5]


@pytest.mark.parametrize(
    ("pattern", "points"),
    [
        ("early", 2.0),
        ("active", 2.0),
        ("late", 2.0),
        ("normal", 0.0),
        ("nonspecific", 0.0),
        (None, 0.0),
    ],
)
def test_nailfold_pattern_mapping(pattern: str | None, points: float) -> None:
    """Cutolo SSc patterns (§7.2) count as abnormal nailfold capillaries (§4: 2 points)."""
    frame = make_frame(make_patient(nvc_pattern=pattern))
    out = index_columns.add_baseline_indices(frame)
    assert out["acr_eular_2013_score"].iloc[0] == 15.0 + points


def test_digital_ulcers_feed_three_indices() -> None:
    """digital_ulcers_active: EScSG necrosis 0.5, EUSTAR 1.5, ACR/EULAR tip ulcers 2."""
    frame = make_frame(make_patient(), make_patient(digital_ulcers_active=True))
    out = index_columns.add_baseline_indices(frame)
    assert out["escsg_activity_index"].diff().iloc[1] == 0.5
    assert out["eustar_activity_index"].diff().iloc[1] == 1.5
    assert out["acr_eular_2013_score"].diff().iloc[1] == 2.0


ACR_FINDINGS_ABSENT = {name: False for name in (
    "skin_thickening_proximal_mcp", "puffy_fingers", "sclerodactyly", "digital_ulcers_active",
    "digital_pitting_scars", "telangiectasia", "pah", "ild_on_hrct", "raynaud_phenomenon",
    "anti_centromere", "anti_topo1", "anti_rnap3")} | {"nvc_pattern": "normal"}


def test_pitting_scars_and_ild_mapping() -> None:
    base = make_patient(**ACR_FINDINGS_ABSENT)
    frame = make_frame(base, base | {"digital_pitting_scars": True}, base | {"ild_on_hrct": True})
    out = index_columns.add_baseline_indices(frame)
    assert out["acr_eular_2013_score"].tolist() == [0.0, 3.0, 2.0]


def test_absent_optional_columns_make_indices_not_assessable() -> None:
    """Every item missing: EScSG 0-10, EUSTAR 0-10, ACR/EULAR 0-24 span their thresholds."""
    out = index_columns.add_baseline_indices(minimal_frame()).iloc[0]
    assert np.isnan(out["escsg_activity_index"]) and np.isnan(out["eustar_activity_index"])
    assert np.isnan(out["acr_eular_2013_score"])
    assert out["escsg_active"] is pd.NA and out["eustar_active"] is pd.NA
    assert out["mrss_total"] is pd.NA and out["hypocomplementemia"] is pd.NA


def test_blank_capillaroscopy_is_a_missing_finding() -> None:
    """Every other ACR/EULAR finding absent except Raynaud's (3) and puffy fingers (2): 5 points,
    plus 2 if the blank pattern were abnormal = 7 < 9, so 'not met' is decided (§4 weights)."""
    findings = ACR_FINDINGS_ABSENT | {"raynaud_phenomenon": True, "puffy_fingers": True}
    frame = make_frame(make_patient(**findings | {"nvc_pattern": None}))
    assert index_columns.add_baseline_indices(frame)["acr_eular_2013_score"].iloc[0] == 5.0
    [[gap]] = [[g for g in row if g.index == "acr_eular_2013_score"]
               for row in index_gaps.index_gaps(frame)]
    assert (gap.low, gap.high, gap.missing, gap.assessable) == (5.0, 7.0, ("nvc_pattern",), True)


def test_index_gaps_name_only_fields_that_could_add_points() -> None:
    """mRSS 12, DLCO 85, ESR 20, EScSG yes/no items absent except Δskin yes (2 points);
    arthritis, scleredema and complement blank: 2 to 4 points, spanning 3 (§2.1 weights).
    EUSTAR: Δskin 1.5, friction rubs and CRP blank could add 2.25 each: 1.5-6.0, undecided."""
    patient = make_patient(mrss_total=12, dlco_pct_pred=85.0, esr_mm_h=20.0, delta_skin=True,
                           delta_vascular=False, digital_ulcers_active=False,
                           delta_cardiopulmonary=False, scleredema=None, arthritis=None,
                           hypocomplementemia=None, tendon_friction_rubs=None, crp_mg_l=None)
    frame = make_frame(patient)
    gaps = {gap.index: gap for gap in index_gaps.index_gaps(frame)[0]}
    escsg_gap = gaps["escsg_activity_index"]
    assert (escsg_gap.low, escsg_gap.high, escsg_gap.assessable) == (2.0, 4.0, False)
    assert escsg_gap.missing == ("scleredema", "arthritis", "hypocomplementemia")
    assert gaps["eustar_activity_index"].missing == ("tendon_friction_rubs", "crp_mg_l")
    assert gaps["acr_eular_2013_score"].assessable  # proximal thickening: met (§4)
    escsg_words = index_gaps.index_warnings(frame)[0][0]
    assert escsg_words.startswith("EScSG activity index not assessable: 3 items missing "
                                  "(Scleredema, Arthritis, Hypocomplementaemia)")
    assert np.isnan(index_columns.add_baseline_indices(frame)["escsg_activity_index"].iloc[0])


def test_c3_c4_fill_complement_before_it_counts_as_missing() -> None:
    """Low C4 (0.05 < 0.1 g/L, §2.1) makes hypocomplementaemia known: no gap names it."""
    patient = make_patient(hypocomplementemia=None, c3_g_l=None, c4_g_l=0.05, arthritis=None)
    gaps = index_gaps.index_gaps(make_frame(patient))[0]
    assert [(gap.index, gap.missing) for gap in gaps][0] == ("escsg_activity_index",
                                                            ("arthritis",))


def test_blank_or_group_members_are_named_unless_one_is_positive() -> None:
    """PAH and ILD both blank: either would add 2 (§4, max 2); anti-Scl-70 positive: the blank
    anticentromere and anti-RNA pol III cannot add (category max 3). Telangiectasia and pitting
    scars blank too. Recorded: proximal 9 + RP 3 + anti-Scl-70 3 + active NVC pattern 2 = 17;
    blanks could add pitting 3 + telangiectasia 2 + PAH/ILD 2 = 24: met either way."""
    gaps = index_gaps.index_gaps(make_frame(make_patient()))[0]
    [acr] = [gap for gap in gaps if gap.index == "acr_eular_2013_score"]
    assert acr.missing == ("digital_pitting_scars", "telangiectasia", "pah", "ild_on_hrct")
    assert (acr.low, acr.high, acr.assessable) == (17.0, 24.0, True)


def test_reindexed_unvalidated_frame() -> None:
    """As the sklearn pipeline passes it: every baseline field, absent ones all-NaN float64."""
    frame = make_frame().reindex(columns=schema.baseline_fields())
    frame["mrss_total"] = frame["mrss_total"].astype("float64")
    out = index_columns.add_baseline_indices(frame)
    assert out["escsg_activity_index"].iloc[0] == 5.5
    assert out["mrss_total"].dtype == "float64"


# --- outcomes ---------------------------------------------------------------------------------


def test_no_outcome_columns_without_followup() -> None:
    out = derived_columns.add_derived_columns(make_frame())
    assert not set(derived_columns.OUTCOME_DERIVED_COLUMNS) & set(out.columns)


def test_all_outcomes_with_full_followup() -> None:
    """ΔmRSS −10 from 28 (35.7 %): EUSTAR responder; CRISS 'skin only −10' = 0.9282 (§5)."""
    out = derived_columns.add_derived_columns(make_frame(make_patient() | make_followup())).iloc[0]
    assert set(derived_columns.OUTCOME_DERIVED_COLUMNS) <= set(out.index)
    assert out["delta_mrss"] == -10.0
    assert out["pct_change_mrss"] == pytest.approx(-35.714, abs=1e-3)
    assert out["skin_responder"] and out["skin_responder_mcid"] and not out["skin_progressor"]
    assert out["criss"] == pytest.approx(0.9282, abs=5e-5) and out["criss_improved"]
    assert out["raynaud_responder"] and not out["haq_responder"]
    assert out["morphological_responder"]


def test_criss_needs_all_five_followup_fields() -> None:
    row = make_patient() | make_followup()
    del row["haq_di_followup"]
    out = derived_columns.add_outcome_columns(make_frame(row))
    assert "criss" not in out.columns and "haq_responder" not in out.columns
    assert "skin_responder" in out.columns


def test_missing_organ_event_counts_as_no_event() -> None:
    rows = [make_patient() | make_followup(criss_organ_event_followup=v) for v in (None, True)]
    out = derived_columns.add_outcome_columns(make_frame(*rows))
    assert out["criss"].tolist() == [pytest.approx(0.9282, abs=5e-5), 0.0]
    without_column = make_frame(rows[0]).drop(columns="criss_organ_event_followup")
    criss = derived_columns.add_outcome_columns(without_column)["criss"]
    assert criss.iloc[0] == out["criss"].iloc[0]


def test_morphology_needs_fibrosis_and_another_followup() -> None:
    row = make_patient() | make_followup()
    frame = make_frame(row).drop(
        columns=["microvessel_density_per_mm2_followup", "epidermal_thickness_um_followup"]
    )
    assert "morphological_responder" not in derived_columns.add_outcome_columns(frame).columns
    frame = make_frame(row).drop(columns="microvessel_density_per_mm2_followup")
    assert derived_columns.add_outcome_columns(frame)["morphological_responder"].iloc[0]


def test_outcome_dtypes() -> None:
    out = derived_columns.add_derived_columns(make_frame(make_patient() | make_followup()))
    floats = {"delta_mrss", "pct_change_mrss", "criss"}
    for name in derived_columns.OUTCOME_DERIVED_COLUMNS:
        assert str(out[name].dtype) == ("float64" if name in floats else "boolean"), name


def test_thresholds_are_configurable() -> None:
    """20 -> 15 is exactly 5 points and 25 %: a responder only under '>= 5' (§9.1)."""
    frame = make_frame(make_patient(mrss_total=20) | make_followup(mrss_total_followup=15))
    default = derived_columns.add_outcome_columns(frame)["skin_responder"].iloc[0]
    lenient = derived_columns.OutcomeThresholds(skin_strict=False)
    assert not default
    assert derived_columns.add_outcome_columns(frame, lenient)["skin_responder"].iloc[0]


def test_threshold_defaults_are_the_published_ones() -> None:
    t = derived_columns.OutcomeThresholds()
    assert (t.skin_abs_threshold, t.skin_rel_threshold, t.skin_strict) == (5.0, 0.25, True)
    assert (t.criss_improved, t.rcs_mid, t.haq_mid) == (0.60, 1.4, 0.14)
    assert t.morphology_require in outcomes.MORPHOLOGY_RULES


def test_derived_is_baseline_then_outcomes() -> None:
    frame = make_frame(make_patient() | make_followup())
    expected = derived_columns.add_outcome_columns(index_columns.add_baseline_indices(frame))
    pd.testing.assert_frame_equal(derived_columns.add_derived_columns(frame), expected)


# --- speed ------------------------------------------------------------------------------------


def large_cohort(n: int, seed: int = 0) -> pd.DataFrame:
    """n copies of the reference patient with random mRSS and 20 % of the ESR/DLCO missing."""
    rng = np.random.default_rng(seed)
    frame = make_frame(make_patient() | make_followup())
    frame = frame.loc[np.zeros(n, dtype=int)].reset_index(drop=True)
    frame["mrss_total"] = pd.array(rng.integers(0, 52, n), dtype="Int64")
    frame["mrss_total_followup"] = pd.array(rng.integers(0, 52, n), dtype="Int64")
    for name in ("esr_mm_h", "dlco_pct_pred"):
        frame[name] = frame[name].mask(rng.random(n) < 0.2)
    return frame


def test_100k_rows_give_the_same_columns_as_each_part_alone() -> None:
    """Vectorised over the whole frame, row by row the same answer as on a small piece.

    Its speed is a figure printed by benchmarks/bench_features.py, not a timed test."""
    frame = large_cohort(100_000)
    whole = derived_columns.add_derived_columns(frame)
    piece = derived_columns.add_derived_columns(frame.iloc[50_000:50_200])
    assert len(whole) == 100_000
    pd.testing.assert_frame_equal(whole.iloc[50_000:50_200], piece, check_exact=False,
                                  rtol=1e-12)
