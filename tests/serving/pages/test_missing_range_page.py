"""The result page says what the API's ``missing_data`` says (issue 19 §1), in clinical words.

For the same patient, the page's sentence names the blank fields by their data-dictionary labels
in the API's order (most informative first), gives the API's range in whole percent and tells
which field to record first (the stored prediction's page too); a complete patient's page has
no such block (the API gives ``null``). A patient with too much left blank gets the form again,
no number, and the fields to record in the API's order.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from ssc_response.features.clinical_labels import label
from ssc_response.features.schema import REQUIRED_FIELDS
from tests.factories import make_patient
from tests.serving.pages.support import submit_patient
from tests.serving.support import Service

BLANK = ("esr_mm_h", "anti_topo1")  # both read by the quick experiment's model


def api_answer(service: Service, patient: dict[str, Any]) -> dict[str, Any]:
    response = service.predict(patient)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()["predictions"][0]
    return answer


def block(page: str, element_id: str) -> str:
    """The visible text of the element with ``element_id`` (tags removed, spaces collapsed)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|strong|span|div)>', page, re.S)
    assert match is not None, f"no #{element_id} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def whole_percent(value: float) -> int:
    return round(100 * value)


def test_the_result_page_states_the_apis_missing_data_range_in_words(
        service: Service, clinician: TestClient) -> None:
    patient = make_patient(patient_id="RANGE-1", **dict.fromkeys(BLANK))
    missing = api_answer(service, patient)["missing_data"]
    assert missing is not None
    ranked = [item["field"] for item in missing["fields_to_record"]]
    assert sorted(ranked) == sorted(BLANK)

    page = submit_patient(clinician, patient)
    assert page.status_code == 200, page.text
    sentence = block(page.text, "missing-sentence")
    names = " and ".join(label(name) for name in ranked)
    low, high = whole_percent(missing["lower"]), whole_percent(missing["upper"])
    assert sentence == (f"Because {names} were not recorded, the probability could be "
                        f"{low}–{high} %.")
    assert block(page.text, "record-first").startswith(f"Record {label(ranked[0])} first")
    listed = re.findall(r'<li data-field="([a-z0-9_]+)">', page.text)
    assert listed == ranked
    shown = page.text[page.text.index('id="missing-range"'):page.text.index('id="h-indices"')]
    # labels, not the dictionary's codes (which appear only in data-field attributes)
    assert not any(f">{name}" in shown or f" {name}" in shown for name in BLANK)
    prediction_id = re.search(r'id="prediction-id">([0-9a-f-]{36})<', page.text)
    assert prediction_id is not None
    stored = clinician.get(f"/patient/predictions/{prediction_id.group(1)}").text
    assert block(stored, "missing-sentence") == sentence  # from the audit trail, the same words


def test_one_blank_field_is_named_alone(service: Service, clinician: TestClient) -> None:
    patient = make_patient(patient_id="RANGE-2", esr_mm_h=None)
    missing = api_answer(service, patient)["missing_data"]
    page = submit_patient(clinician, patient).text
    low, high = whole_percent(missing["lower"]), whole_percent(missing["upper"])
    assert block(page, "missing-sentence") == (
        f"Because {label('esr_mm_h')} was not recorded, the probability could be {low}–{high} %.")
    assert block(page, "record-first").startswith(f"Record {label('esr_mm_h')}")


def test_a_complete_patient_has_no_missing_data_range(
        service: Service, clinician: TestClient) -> None:
    patient = make_patient(patient_id="RANGE-3")
    assert api_answer(service, patient)["missing_data"] is None
    page = submit_patient(clinician, patient).text
    assert 'id="probability"' in page and 'id="missing-range"' not in page


def test_too_much_blank_gives_no_number_and_the_fields_to_record_in_the_apis_order(
        service: Service, clinician: TestClient) -> None:
    full = make_patient(patient_id="RANGE-4")
    minimal = {k: full[k] for k in (*REQUIRED_FIELDS, "mrss_total")}
    refused = service.predict(minimal)
    assert refused.status_code == 422, refused.text
    fields = [item["field"] for item in refused.json()["detail"]]

    page = submit_patient(clinician, minimal)
    assert page.status_code == 422
    assert 'id="probability"' not in page.text
    summary = block(page.text, "error-summary")
    assert summary.startswith("Not enough information for a prediction")
    linked = re.findall(r'<li><a href="#f-([a-z0-9_]+)">', page.text)
    assert linked == fields
    for name in fields:  # beside each field, in words
        assert f"{label(name)}: needed for a prediction." in block(page.text, f"e-{name}")
