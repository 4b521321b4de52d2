"""The REDCap data dictionary made from the contract: REDCap 14's 18 columns and field rules.

Expected values come from REDCap's documented data-dictionary format (column names and order,
field types, validation names), not from the module under test.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from ssc_response.features.redcap_dictionary import redcap_dictionary_text
from ssc_response.features.schema import fields

# REDCap 14 "Data Dictionary" template header, in order.
REDCAP_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max",
    "Identifier?", "Branching Logic (Show field only if...)", "Required Field?",
    "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]
REDCAP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # REDCap's rule for variable and form names


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(redcap_dictionary_text()))
    assert reader.fieldnames == REDCAP_COLUMNS
    return list(reader)


def by_name(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["Variable / Field Name"]: row for row in rows}


def test_the_record_id_comes_first_and_is_the_only_identifier(rows) -> None:
    assert rows[0]["Variable / Field Name"] == "patient_id"
    assert [r["Variable / Field Name"] for r in rows if r["Identifier?"]] == ["patient_id"]


def test_names_follow_redcaps_rules_and_are_unique(rows) -> None:
    names = [row["Variable / Field Name"] for row in rows]
    assert len(names) == len(set(names))
    assert all(REDCAP_NAME.match(n) for n in names)
    assert all(REDCAP_NAME.match(row["Form Name"]) for row in rows)


def test_instruments_group_the_clinicians_form_and_stay_contiguous(rows) -> None:
    forms = [row["Form Name"] for row in rows]
    order = list(dict.fromkeys(forms))
    assert order == ["demographics_and_history", "mrss", "activity_items", "laboratory",
                     "lungs_and_heart", "quality_of_life", "skin_biopsy", "follow_up"]
    assert forms == sorted(forms, key=order.index)  # REDCap needs each form in one block
    table = by_name(rows)
    assert table["mrss_forearms_r"]["Form Name"] == "mrss"
    assert table["fibrosis_grade"]["Form Name"] == "skin_biopsy"
    assert table["fibrosis_grade_followup"]["Form Name"] == "follow_up"


def test_every_contract_field_is_there_once(rows) -> None:
    table = by_name(rows)
    boxed = {"anti_topo1", "anti_centromere", "anti_rnap3"}
    assert set(fields()) - boxed <= set(table)
    assert "ssc_antibodies" in table and not boxed & set(table)


def test_numbers_carry_validation_range_and_unit(rows) -> None:
    table = by_name(rows)
    crp = table["crp_mg_l"]
    assert (crp["Field Type"], crp["Text Validation Type OR Show Slider Number"]) == ("text",
                                                                                     "number")
    assert (crp["Text Validation Min"], crp["Text Validation Max"], crp["Field Note"]) == (
        "0", "300", "mg/L")
    grade = table["fibrosis_grade"]
    assert grade["Text Validation Type OR Show Slider Number"] == "integer"
    assert (grade["Text Validation Min"], grade["Text Validation Max"]) == ("1", "3")
    assert table["c4_g_l"]["Text Validation Min"] == "0.01"


def test_yes_no_categories_and_checkbox(rows) -> None:
    table = by_name(rows)
    assert table["delta_skin"]["Field Type"] == "yesno"
    assert table["sex"]["Field Type"] == "dropdown"
    assert table["sex"]["Choices, Calculations, OR Slider Labels"] == "F, Female | M, Male"
    assert table["ssc_antibodies"]["Field Type"] == "checkbox"
    codes = [c.split(",")[0].strip() for c in
             table["ssc_antibodies"]["Choices, Calculations, OR Slider Labels"].split("|")]
    assert codes == ["topo1", "centromere", "rnap3"]


def test_required_fields_are_the_contracts(rows) -> None:
    required = {r["Variable / Field Name"] for r in rows if r["Required Field?"] == "y"}
    assert required == {"patient_id", "age_years", "sex", "disease_duration_months"}
