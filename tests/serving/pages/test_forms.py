"""The one-patient form is generated from the data dictionary and speaks its rules plainly."""

from __future__ import annotations

from collections import Counter

import pytest

from ssc_response.features.schema import MRSS_SITE_FIELDS, baseline_fields, fields
from ssc_response.features.validation import ContractError, validate_records
from ssc_response.serving.pages.forms import (
    form_names,
    messages_by_field,
    record_from_form,
    sections,
)
from ssc_response.serving.pages.labels import label, unit
from tests.factories import make_patient

pytestmark = pytest.mark.contract


def test_every_baseline_field_has_exactly_one_input() -> None:
    assert Counter(form_names()) == Counter(["patient_id", *baseline_fields()])


def test_sections_are_the_clinicians_groups_in_order() -> None:
    assert [s.id for s in sections()] == ["history", "mrss", "activity", "labs", "heart_lungs",
                                          "quality_of_life", "biopsy"]
    mrss = next(s for s in sections() if s.id == "mrss")
    assert [i.name for i in mrss.inputs] == ["mrss_total", *MRSS_SITE_FIELDS]


def test_inputs_show_units_and_choices_from_the_dictionary() -> None:
    inputs = {i.name: i for s in sections() for i in s.inputs}
    assert inputs["crp_mg_l"].unit == "mg/L" and inputs["crp_mg_l"].hint == "0–300"
    assert [v for v, _ in inputs["sex"].choices] == ["", "F", "M"]
    assert [v for v, _ in inputs["pah"].choices] == ["", "yes", "no"]
    assert inputs["age_years"].required and not inputs["crp_mg_l"].required


def test_every_field_has_a_label() -> None:
    for name in fields():
        assert label(name) and "_" not in label(name), name
    assert label("mrss_forearms_r") == "Forearm right"
    assert unit("epidermal_thickness_um") == "µm"


def test_form_answers_are_the_record_as_typed() -> None:
    form = {"patient_id": " P-1 ", "age_years": "45", "crp_mg_l": "", "csrf_token": "x",
            "not_a_field": "1"}
    assert record_from_form(form) == {"patient_id": "P-1", "age_years": "45"}


def test_a_typed_valid_patient_passes_the_contract() -> None:
    typed = {k: ("yes" if v is True else "no" if v is False else str(v))
             for k, v in make_patient().items()}
    assert len(validate_records([record_from_form(typed)], outcomes=False)) == 1


def test_messages_come_from_the_contract_in_plain_words() -> None:
    record = {**make_patient(age_years="150", sex="X"), "mrss_total": None}
    record.pop("mrss_face")
    with pytest.raises(ContractError) as caught:
        validate_records([record], outcomes=False)
    messages = messages_by_field(caught.value.problems)
    assert messages["age_years"] == ["Age: must be between 18 and 90 years (you entered 150)."]
    assert messages["sex"] == ["Sex: must be one of: female (F), male (M) (you entered X)."]
    assert "missing face" in messages["mrss_total"][0]
