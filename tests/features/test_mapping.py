"""A centre's mapping file: renames, codes, the fixed unit list, dates -> disease duration."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ssc_response.features import io
from ssc_response.features.mapping import MappingError, apply_mapping, load_mapping
from ssc_response.features.units import UnitProblem, conversion_factor
from ssc_response.features.validation import ContractError
from tests.centre_files import centre_workbook, original_records, write_mapping
from tests.factories import make_patient

pytestmark = pytest.mark.contract

def test_xlsx_through_the_mapping_gives_the_validated_table_of_the_original_csv(
    tmp_path: Path,
) -> None:
    csv_path = tmp_path / "original.csv"
    pd.DataFrame(original_records()).to_csv(csv_path, index=False)
    options = io.ReadOptions(mapping=load_mapping(write_mapping(tmp_path)))
    mapped = io.read_cohort(centre_workbook(tmp_path / "centre.xlsx"), options)
    expected = io.read_cohort(csv_path)
    pd.testing.assert_frame_equal(mapped, expected, check_exact=False, atol=1e-9)


@pytest.mark.parametrize(("field", "unit", "value", "expected"), [
    ("crp_mg_l", "mg/dL", 1.2, 12.0),  # 1 mg/dL = 10 mg/L (clinical-reference.md)
    ("c3_g_l", "mg/dL", 90.0, 0.9),  # 100 mg/dL = 1 g/L
    ("c4_g_l", "g/dL", 0.02, 0.2),  # 1 g/dL = 10 g/L
    ("disease_duration_months", "years", 2.5, 30.0),
    ("epidermal_thickness_um", "mm", 0.045, 45.0),
    ("dermal_thickness_mm", "µm", 2400.0, 2.4),
    ("crp_mg_l", "mg/L", 6.0, 6.0),  # already the dictionary's unit
])
def test_unit_conversions_from_the_fixed_list(field: str, unit: str, value: float,
                                              expected: float) -> None:
    assert value * conversion_factor(field, unit) == pytest.approx(expected, rel=1e-12)


def test_dlco_in_absolute_units_is_not_a_unit_conversion(tmp_path: Path) -> None:
    with pytest.raises(UnitProblem, match="per cent of predicted needs the patient's own"):
        conversion_factor("dlco_pct_pred", "mmol/min/kPa")
    path = write_mapping(tmp_path, "units:\n  dlco_pct_pred: mmol/min/kPa\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert "units: dlco_pct_pred: DLCO in mmol/min/kPa is an absolute gas transfer" in str(
        caught.value)
    assert "(not a unit conversion)" in str(caught.value)


def test_a_unit_outside_the_list_names_what_the_list_holds() -> None:
    with pytest.raises(UnitProblem, match="crp_mg_l is in mg/L; it can be converted from mg/dL, "
                                          "not from 'mmol/L'"):
        conversion_factor("crp_mg_l", "mmol/L")


@pytest.mark.parametrize(("text", "message"), [
    ("columns:\n  Alter: age\n", "columns: 'age' is not a field of the data dictionary"),
    ("colums:\n  Alter: age_years\n", "colums: Extra inputs are not permitted"),
    ("dates:\n  age_years: {start: a, end: b}\n", "dates: age_years is not a duration in months"),
    ("columns: [\n", "not a valid YAML mapping file (line 2)"),
])
def test_a_broken_mapping_file_is_named_in_one_line(tmp_path: Path, text: str,
                                                    message: str) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(write_mapping(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unreadable_date_is_a_problem_by_row_and_column(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(
        tmp_path, "dates:\n  disease_duration_months: {start: onset, end: visit}\n"))
    frame = pd.DataFrame({"onset": ["2020-01-01", "31/01/2020", ""],
                          "visit": ["2020-07-01", "2020-07-01", "2020-07-01"]})
    mapped, problems = apply_mapping(frame, mapping)
    assert [str(p) for p in problems] == [
        "row 2, field 'onset', value '31/01/2020': must be a date written YYYY-MM-DD"]
    # 2020-01-01 to 2020-07-01: 182 days; 182 / 30.4375 = 5.9795 -> 5.98
    assert mapped["disease_duration_months"].tolist() == [5.98, None, None]
    assert list(mapped.columns) == ["disease_duration_months"]


def test_date_problems_join_the_contracts_problems(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(
        tmp_path, "dates:\n  disease_duration_months: {start: onset, end: visit}\n"))
    record = make_patient(patient_id="A", age_years=12)
    del record["disease_duration_months"]
    path = tmp_path / "c.csv"
    pd.DataFrame([{**record, "onset": "yesterday", "visit": "2020-07-01"}]).to_csv(path,
                                                                                 index=False)
    with pytest.raises(ContractError) as caught:
        io.read_cohort(path, io.ReadOptions(mapping=mapping))
    fields = {p.field for p in caught.value.problems}
    assert {"onset", "age_years"} <= fields


def test_codes_compare_as_text_whatever_yaml_made_of_them(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "codes:\n  pah: {1: yes, 0: no}\n"))
    frame = pd.DataFrame({"pah": [1.0, 0, "1", None]}, dtype=object)
    mapped, _ = apply_mapping(frame, mapping)
    assert mapped["pah"].tolist()[:3] == ["true", "false", "true"]
    assert pd.isna(mapped["pah"].iloc[3])


def test_the_example_mapping_file_is_valid_and_is_the_tested_one(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "centre_mapping.yaml"
    assert load_mapping(example) == load_mapping(write_mapping(tmp_path))
