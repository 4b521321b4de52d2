"""Reading REDCap exports: a simulated cohort goes through the REDCap format and comes back.

The exports are made by ``tests/redcap_export.py`` from REDCap's export conventions; floats are
written with ``repr`` and compared with a relative tolerance of 1e-12.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ssc_response.features.redcap import RedcapExportError, from_redcap_export, is_redcap_export
from ssc_response.features.validation import validate_frame
from ssc_response.training.simulation import simulate_cohort
from tests.redcap_export import to_redcap_export

ANTIBODIES = ["anti_topo1", "anti_centromere", "anti_rnap3"]


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return validate_frame(simulate_cohort(60, seed=11))


def round_trip(export: pd.DataFrame) -> pd.DataFrame:
    return validate_frame(from_redcap_export(export))


@pytest.mark.parametrize("labels", [False, True], ids=["raw", "labels"])
@pytest.mark.parametrize("longitudinal", [True, False], ids=["events", "classic"])
@pytest.mark.parametrize("code", ["UNK", "ND"])
def test_round_trip_gives_the_cohort_back(cohort, labels, longitudinal, code) -> None:
    export = to_redcap_export(cohort, labels, longitudinal=longitudinal, missing_code=code)
    assert is_redcap_export(export)
    pd.testing.assert_frame_equal(round_trip(export), cohort, check_exact=False, rtol=1e-12)


def test_label_headers_through_a_csv_file(cohort, tmp_path) -> None:
    """REDCap's "CSV (labels)" export: label headers, one "Complete?" per form (pandas reads
    the repeats as "Complete?.1"...), labels as values."""
    path = tmp_path / "labels.csv"
    to_redcap_export(cohort, labels=True, missing_code="NASK", headers=True).to_csv(
        path, index=False)
    export = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert "Event Name" in export.columns and "Complete?.1" in export.columns
    assert is_redcap_export(export)
    pd.testing.assert_frame_equal(round_trip(export), cohort, check_exact=False, rtol=1e-12)


def test_without_missing_codes_an_untested_panel_reads_as_negative(cohort) -> None:
    """REDCap exports an unticked checkbox as 0 whether or not the panel was done."""
    back = round_trip(to_redcap_export(cohort, labels=True))
    untested = cohort["anti_topo1"].isna()
    assert untested.any()
    assert not back.loc[untested, ANTIBODIES].any(axis=None)
    tested = ~untested
    pd.testing.assert_frame_equal(back.loc[tested, ANTIBODIES], cohort.loc[tested, ANTIBODIES])
    others = cohort.columns.difference(ANTIBODIES)
    pd.testing.assert_frame_equal(back[others], cohort[others], check_exact=False, rtol=1e-12)


def test_a_plain_cohort_is_not_a_redcap_export(cohort) -> None:
    assert not is_redcap_export(cohort)


def test_the_follow_up_nearest_12_months_is_kept() -> None:
    export = pd.DataFrame({
        "patient_id": ["P1", "P1", "P1"],
        "redcap_repeat_instrument": ["", "follow_up", "follow_up"],
        "redcap_repeat_instance": ["", "1", "2"],
        "age_years": ["40", "", ""], "sex": ["F", "", ""],
        "disease_duration_months": ["30", "", ""],
        "followup_months": ["", "6", "13"], "mrss_total_followup": ["", "20", "15"],
    })
    table = from_redcap_export(export)
    assert table.loc[0, ["followup_months", "mrss_total_followup"]].tolist() == ["13", "15"]


def test_an_unknown_follow_up_event_is_named() -> None:
    export = pd.DataFrame({"patient_id": ["P1", "P1"],
                           "redcap_event_name": ["baseline_arm_1", "week_52_arm_1"]})
    with pytest.raises(RedcapExportError, match="month_12.*week_52_arm_1"):
        from_redcap_export(export)
    assert len(from_redcap_export(export, followup_event="week_52")) == 1


def test_two_baseline_rows_for_one_patient_are_refused() -> None:
    export = pd.DataFrame({"patient_id": ["P1", "P1"],
                           "redcap_event_name": ["baseline_arm_1", "baseline_arm_1"]})
    with pytest.raises(RedcapExportError, match="'P1' has more than one baseline row"):
        from_redcap_export(export)


def test_a_strange_checkbox_value_is_named() -> None:
    export = pd.DataFrame({"patient_id": ["P1"], "ssc_antibodies___topo1": ["maybe"]})
    with pytest.raises(RedcapExportError, match="ssc_antibodies___topo1.*maybe"):
        from_redcap_export(export)


def test_status_timestamp_and_group_columns_are_dropped() -> None:
    export = pd.DataFrame({"patient_id": ["P1"], "redcap_data_access_group": ["centre_a"],
                           "demographics_and_history_timestamp": ["2026-01-05 10:00:00"],
                           "age_years": ["40"], "demographics_and_history_complete": ["2"]})
    assert list(from_redcap_export(export).columns) == ["patient_id", "age_years"]
