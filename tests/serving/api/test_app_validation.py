"""Bad input to POST /v1/predictions: 422 naming field and rule, never a 5xx, nothing recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ssc_response.features.validation import ID_RULE, OUTCOME_FIELD_RULE, UNKNOWN_FIELD_RULE
from ssc_response.serving.keys import Role
from tests.factories import make_patient
from tests.serving.support import Service, make_batch, running_service

pytestmark = pytest.mark.contract  # the data contract: dictionary, rules, files

ERROR_KEYS = {"loc", "field", "rule", "value", "row"}


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("validation"), trained_store) as started:
        yield started


def without(field: str) -> dict[str, Any]:
    record = make_patient()
    del record[field]
    return record


def without_mrss() -> dict[str, Any]:
    return {k: v for k, v in make_patient().items() if not k.startswith("mrss_")}


# (batch, field named, words in the rule, 1-based row or None). Records are judged by the data
# contract (features.validation): its rules and wording, the same as for a file. A field given
# in a record (unknown, follow-up) is that record's problem; a rule about a field absent from
# every record has no row.
CASES: dict[str, tuple[list[dict[str, Any]], str, str, int | None]] = {
    "unknown field": ([make_patient(shoe_size=42)], "shoe_size", UNKNOWN_FIELD_RULE, 1),
    "follow-up field": (
        [make_patient(mrss_total_followup=10)], "mrss_total_followup", OUTCOME_FIELD_RULE, 1
    ),
    "above range": ([make_patient(age_years=120.0)], "age_years", "between 18 and 90 years", 1),
    "below range": ([make_patient(c3_g_l=0.0)], "c3_g_l", "between 0.05 and 3 g/L", 1),
    "mRSS sum mismatch": ([make_patient(mrss_total=30)], "mrss_total", "sum of the 17 mRSS", 1),
    "mRSS absent": ([without_mrss()], "mrss_total", "give mrss_total or all 17", None),
    "duplicate patient_id": (
        [make_patient(), make_patient()], "patient_id", "must be unique", 1
    ),
    "missing required": ([without("sex")], "sex", "required field is missing", None),
    "required null": (
        [make_patient(age_years=None)], "age_years", "required field has no value", 1
    ),
    "unknown category": ([make_patient(sex="X")], "sex", "must be one of: F, M", 1),
    "text for a number": ([make_patient(crp_mg_l="high")], "crp_mg_l", "finite number", 1),
    "fractional integer": (
        [make_patient(fibrosis_grade=1.5)], "fibrosis_grade", "whole number", 1
    ),
    "name as patient_id": ([make_patient(patient_id="Jane Doe")], "patient_id", ID_RULE, 1),
    "second patient broken": (
        [make_patient(patient_id="A"), make_patient(patient_id="B", lvef_pct=99.0)],
        "lvef_pct", "between 10 and 85 %", 2,
    ),
    "empty batch": ([], "patients", "at least 1", None),
    "1001 patients": (make_batch(1001), "patients", "at most 1000", None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_broken_rule_is_named(
    service: Service, case: tuple[list[dict[str, Any]], str, str, int | None]
) -> None:
    batch, field, rule, row = case
    before = service.audit_total()
    response = service.predict(*batch)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert all(set(item) == ERROR_KEYS for item in detail)
    assert any(
        item["field"] == field and rule in item["rule"] and item["row"] == row for item in detail
    ), detail
    assert service.audit_total() == before


def test_locations_follow_fastapi(service: Service) -> None:
    response = service.predict(make_patient(patient_id="A"), make_patient(patient_id="A"))
    locations = [item["loc"] for item in response.json()["detail"]]
    assert ["body", "patients", 1, "patient_id"] in locations


def test_an_unknown_field_names_its_record_and_the_close_field(service: Service) -> None:
    """Record 3 of 3 misspells age_years (issue 24): its index in ``loc``, its number in ``row``."""
    batch = [make_patient(patient_id=pid) for pid in ("A", "B", "C")]
    batch[2]["agee_years"] = batch[2].pop("age_years")
    detail = service.predict(*batch).json()["detail"]
    unknown = [item for item in detail if item["field"] == "agee_years"]
    assert [(item["loc"], item["row"]) for item in unknown] == [
        (["body", "patients", 2, "agee_years"], 3)
    ]
    assert unknown[0]["rule"].endswith("did you mean `age_years`?")


def test_duplicate_ids_are_unique_in_the_request(service: Service) -> None:
    detail = service.predict(make_patient(patient_id="A"), make_patient(patient_id="A")).json()
    rules = {item["rule"] for item in detail["detail"]}
    assert rules == {"must be unique in the request; also in row 2",
                     "must be unique in the request; also in row 1"}


def test_received_value_is_echoed(service: Service) -> None:
    detail = service.predict(make_patient(age_years=120.0)).json()["detail"]
    assert detail[0]["value"] == 120.0


def test_every_problem_of_the_batch_is_reported(service: Service) -> None:
    batch = [make_patient(patient_id="A", age_years=10.0), make_patient(patient_id="B", sex="?")]
    fields = {item["field"] for item in service.predict(*batch).json()["detail"]}
    assert {"age_years", "sex"} <= fields


RAW_BODIES: dict[str, bytes] = {
    "malformed JSON": b'{"patients": [',
    "not JSON at all": b"\x00\xff\xfe garbage",
    "NaN literal": json.dumps({"patients": [make_patient(age_years=float("nan"))]}).encode(),
    "Infinity literal": json.dumps({"patients": [make_patient(crp_mg_l=float("inf"))]}).encode(),
    "-Infinity literal": json.dumps({"patients": [make_patient(esr_mm_h=float("-inf"))]}).encode(),
    "number beyond float": json.dumps({"patients": [make_patient(age_years=10**400)]}).encode(),
    "exponent beyond float": b'{"patients": [{"patient_id": "A", "age_years": 1e999}]}',
    "huge integer": json.dumps({"patients": [make_patient(mrss_total=10**4000)]}).encode(),
    "too many digits": b'{"patients": [{"age_years": ' + b"9" * 5000 + b"}]}",
    "NUL in patient_id": json.dumps({"patients": [make_patient(patient_id="A\x00B")]}).encode(),
    "NUL in category": json.dumps({"patients": [make_patient(sex="F\x00")]}).encode(),
    "unicode patient_id": json.dumps({"patients": [make_patient(patient_id="Zoë-😀")]}).encode(),
    "lone surrogate": b'{"patients": [{"patient_id": "\\ud800"}]}',
    "deep nesting": b'{"patients": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested junk in a field": json.dumps(
        {"patients": [make_patient(age_years={"a": [1, {"b": None}]})]}
    ).encode(),
    "record is a string": b'{"patients": ["SSC-0001"]}',
    "record is null": b'{"patients": [null]}',
    "patients is an object": b'{"patients": {"0": {}}}',
    "patients is null": b'{"patients": null}',
    "top level is a list": b"[]",
    "top level is a number": b"42",
    "empty object": b"{}",
    "extra top-level key": json.dumps({"patients": [make_patient()], "x": 1}).encode(),
    "empty body": b"",
    "list for a number": b'{"patients": [{"patient_id": "A", "age_years": [true]}]}',
}


@pytest.mark.parametrize("body", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_no_input_shape_gives_a_server_error(service: Service, body: bytes) -> None:
    before = service.audit_total()
    headers = {**service.headers(Role.CLINICIAN), "Content-Type": "application/json"}
    response = service.client.post("/v1/predictions", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert service.audit_total() == before


def test_wrong_content_type_is_refused(service: Service) -> None:
    headers = {**service.headers(Role.CLINICIAN), "Content-Type": "text/plain"}
    body = json.dumps({"patients": [make_patient()]})
    response = service.client.post("/v1/predictions", content=body, headers=headers)
    assert response.status_code == 422


def test_huge_values_are_shortened_in_errors(service: Service) -> None:
    headers = {**service.headers(Role.CLINICIAN), "Content-Type": "application/json"}
    body = json.dumps({"patients": [make_patient(patient_id="x" * 10_000)]})
    detail = service.client.post("/v1/predictions", content=body, headers=headers).json()["detail"]
    assert len(str(detail[0]["value"])) < 100


def test_non_finite_values_are_echoed_as_text(service: Service) -> None:
    headers = {**service.headers(Role.CLINICIAN), "Content-Type": "application/json"}
    body = json.dumps({"patients": [make_patient(crp_mg_l=float("inf"))]})
    detail = service.client.post("/v1/predictions", content=body, headers=headers).json()["detail"]
    assert detail[0]["field"] == "crp_mg_l"
    assert detail[0]["value"] == "inf"


def test_a_nan_literal_is_a_missing_value_as_the_contract_says(service: Service) -> None:
    headers = {**service.headers(Role.CLINICIAN), "Content-Type": "application/json"}
    body = json.dumps({"patients": [make_patient(age_years=float("nan"))]})
    detail = service.client.post("/v1/predictions", content=body, headers=headers).json()["detail"]
    assert (detail[0]["field"], detail[0]["rule"]) == ("age_years", "required field has no value")


def test_unencodable_field_names_are_escaped(service: Service) -> None:
    headers = {**service.headers(Role.CLINICIAN), "Content-Type": "application/json"}
    body = b'{"patients": [{"patient_id": "A", "\\udc80": 1}]}'
    response = service.client.post("/v1/predictions", content=body, headers=headers)
    assert response.status_code == 422
