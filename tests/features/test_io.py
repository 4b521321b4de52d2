"""Table I/O: raw CSV reading, CSV and Parquet round trips, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ssc_response.features import io
from ssc_response.features.validation import ContractError, validate_frame
from tests.factories import make_followup, make_patient

pytestmark = pytest.mark.contract  # the data contract: dictionary, rules, files


def typed_cohort() -> pd.DataFrame:
    records = [
        {**make_patient(patient_id="A"), **make_followup()},
        make_patient(patient_id="B", pah=None, crp_mg_l=None, fibrosis_grade=None, sex="M"),
    ]
    return validate_frame(pd.DataFrame(records))


@pytest.mark.parametrize("name", ["cohort.csv", "cohort.parquet", "cohort.pq", "COHORT.CSV"])
def test_round_trip_keeps_values_and_dtypes(tmp_path: Path, name: str) -> None:
    cohort = typed_cohort()
    io.write_table(cohort, tmp_path / name)
    pd.testing.assert_frame_equal(io.read_cohort(tmp_path / name), cohort)


def test_csv_writes_missing_as_blank_and_booleans_as_words(tmp_path: Path) -> None:
    io.write_table(typed_cohort(), tmp_path / "cohort.csv")
    text = pd.read_csv(tmp_path / "cohort.csv", dtype=str, keep_default_na=False)
    assert list(text["pah"]) == ["false", ""]
    assert list(text["delta_skin"]) == ["true", "true"]
    assert list(text["fibrosis_grade"]) == ["2", ""]


def test_csv_is_read_as_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_text("patient_id,crp_mg_l,pah,mrss_total\nA,NA,,3.0\n", encoding="utf-8")
    raw = io.read_table(path)
    assert raw.iloc[0].tolist() == ["A", "NA", "", "3.0"]


def test_csv_byte_order_mark_does_not_rename_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("patient_id,age_years\nA,40\n", encoding="utf-8-sig")
    assert list(io.read_table(path).columns) == ["patient_id", "age_years"]


def test_csv_problems_use_data_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    rows = [make_patient(patient_id="A"), make_patient(patient_id="B", age_years="12")]
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(ContractError) as caught:
        io.read_cohort(path)
    assert str(caught.value.problems[0]) == (
        "row 2, field 'age_years', value '12': must be between 18 and 90 years"
    )


@pytest.mark.parametrize("name", ["cohort.xlsx", "cohort", "cohort.csv.gz"])
def test_unknown_extension_is_refused_clearly(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported file type .* expected one of \.csv"):
        io.read_table(tmp_path / name)
    with pytest.raises(ValueError, match="unsupported file type"):
        io.write_table(typed_cohort(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def failing_write(frame: pd.DataFrame, path: Path, kind: str) -> None:
    path.write_text("half a tab")
    raise OSError("disk full")


def test_failed_write_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        io.write_table(typed_cohort(), tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"previous results")
    monkeypatch.setattr(io, "_write", failing_write)
    with pytest.raises(OSError):
        io.write_table(typed_cohort(), target)
    assert target.read_bytes() == b"previous results"
    assert list(tmp_path.iterdir()) == [target]


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    io.write_table(typed_cohort(), target)
    assert io.read_cohort(target)["patient_id"].tolist() == ["A", "B"]
    assert list(tmp_path.iterdir()) == [target]
