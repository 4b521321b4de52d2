"""POST /v1/predictions with the real trained model: response shape, additivity, audit."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from ssc_response.serving.keys import Role
from tests.factories import make_patient
from tests.serving.support import Service, make_batch, running_service

INDEX_NAMES = {
    "mrss_total", "escsg_activity_index", "escsg_active", "eustar_activity_index",
    "eustar_active", "acr_eular_2013_score", "hypocomplementemia",
}


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("predictions"), trained_store) as started:
        yield started


@pytest.fixture(scope="module")
def answer(service: Service) -> dict[str, Any]:
    """One prediction for the factory patient."""
    response = service.predict(make_patient())
    assert response.status_code == 200, response.text
    return dict(response.json()["predictions"][0])


def test_answer_has_the_documented_fields(answer: dict[str, Any]) -> None:
    assert set(answer) == {
        "prediction_id", "patient_id", "model", "probability_response", "predicted_delta_mrss",
        "indices", "explanation", "warnings", "missing_data",
    }
    assert answer["patient_id"] == "SSC-0001"
    assert set(answer["model"]) == {"name", "version", "run_id"}
    assert set(answer["indices"]) == INDEX_NAMES
    assert answer["predicted_delta_mrss"]["unit"] == "points"


def test_probability_interval_contains_the_estimate(answer: dict[str, Any]) -> None:
    p = answer["probability_response"]
    assert 0 <= p["lower"] <= p["estimate"] <= p["upper"] <= 1
    assert 0 < p["level"] < 1


def test_delta_interval_contains_the_estimate(answer: dict[str, Any]) -> None:
    d = answer["predicted_delta_mrss"]
    assert d["lower"] <= d["estimate"] <= d["upper"]


def test_explanation_is_additive(answer: dict[str, Any]) -> None:
    explanation = answer["explanation"]
    total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])
    assert total == pytest.approx(explanation["output_value"], abs=1e-6)


def test_explanation_output_matches_the_probability(answer: dict[str, Any]) -> None:
    explanation, p = answer["explanation"], answer["probability_response"]["estimate"]
    output = explanation["output_value"]
    if explanation["output_space"] == "logit":
        output = 1 / (1 + math.exp(-output))
    if explanation["output_space"] in ("logit", "probability"):
        assert output == pytest.approx(p, abs=1e-6)


def test_contributions_name_fields_with_values_and_units(answer: dict[str, Any]) -> None:
    contributions = answer["explanation"]["contributions"]
    assert contributions
    assert all(set(c) == {"feature", "value", "unit", "contribution", "imputed", "note"}
               for c in contributions)
    by_field = {c["feature"]: c for c in contributions}
    # The quick experiment's core fields include disease duration (24 months in make_patient).
    assert by_field["disease_duration_months"]["value"] == 24.0
    assert by_field["disease_duration_months"]["unit"] == "months"


def test_indices_are_derived_from_the_record(answer: dict[str, Any]) -> None:
    assert answer["indices"]["mrss_total"] == 22.0
    assert answer["indices"]["hypocomplementemia"] is False


def test_answer_is_in_the_audit_trail_with_the_callers_key(
    service: Service, answer: dict[str, Any]
) -> None:
    response = service.client.get(
        f"/v1/audit/predictions/{answer['prediction_id']}", headers=service.headers(Role.AUDITOR)
    )
    assert response.status_code == 200
    entry = response.json()
    assert entry["key_id"] == service.key_id(Role.CLINICIAN)
    assert entry["patient_id"] == "SSC-0001"
    assert entry["model_version"] == answer["model"]["version"]
    assert entry["output"]["probability_response"] == answer["probability_response"]
    assert entry["explanation"] == answer["explanation"]
    assert entry["input"]["mrss_total"] == 22


def test_audit_input_holds_only_the_fields_sent(service: Service) -> None:
    record = make_patient(patient_id="SPARSE-1")
    # Fields the model does not read: leaving out ESR, CRP and the fibrosis grade together can
    # leave too wide a range for a number (then nothing is recorded; tested below).
    for optional in ("lvef_pct", "fvc_pct_pred", "c3_g_l"):
        del record[optional]
    response = service.predict(record)
    assert response.status_code == 200, response.text
    prediction_id = response.json()["predictions"][0]["prediction_id"]
    entry = service.client.get(
        f"/v1/audit/predictions/{prediction_id}", headers=service.headers(Role.AUDITOR)
    ).json()
    assert set(entry["input"]) == set(record)


def test_missing_optional_fields_give_imputation_warnings(service: Service) -> None:
    response = service.predict(make_patient(crp_mg_l=None))
    assert response.status_code == 200
    assert any("crp_mg_l" in w for w in response.json()["predictions"][0]["warnings"])


def test_mrss_total_may_be_omitted_when_all_sites_are_given(service: Service) -> None:
    record = make_patient()
    del record["mrss_total"]
    response = service.predict(record)
    assert response.status_code == 200
    assert response.json()["predictions"][0]["indices"]["mrss_total"] == 22.0


def test_batch_of_50_answers_each_patient_in_order(service: Service) -> None:
    before = service.audit_total()
    batch = make_batch(50)
    response = service.predict(*batch)
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["patient_id"] for p in predictions] == [p["patient_id"] for p in batch]
    assert len({p["prediction_id"] for p in predictions}) == 50
    assert service.audit_total() == before + 50


def test_batch_answers_equal_single_answers(service: Service) -> None:
    batch = make_batch(3, age_years=60.0)
    together = service.predict(*batch).json()["predictions"]
    alone = service.predict(batch[1]).json()["predictions"][0]
    assert together[1]["probability_response"] == pytest.approx(alone["probability_response"])
    assert together[1]["explanation"]["output_value"] == pytest.approx(
        alone["explanation"]["output_value"]
    )


# --- refusals: out of scope, not enough information (issue 19) ----------------------------------


def _refusals(service: Service, reason: str) -> float:
    for line in service.client.get("/metrics").text.splitlines():
        if line.startswith(f'ssc_prediction_refusals_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize(("field", "value", "words"), [
    ("cutaneous_subset", "limited", "this model is for diffuse SSc; you entered limited SSc"),
    ("cell_product", "ad_svf", "you entered adipose stromal vascular fraction"),
])
def test_an_out_of_scope_patient_is_refused_naming_the_field_and_nothing_is_recorded(
    service: Service, field: str, value: str, words: str,
) -> None:
    recorded, refused = service.audit_total(), _refusals(service, "out_of_scope")

    response = service.predict(make_patient(**{field: value}))

    assert response.status_code == 422, response.text
    [item] = response.json()["detail"]
    assert item["field"] == field and words in item["rule"]
    assert service.audit_total() == recorded
    assert _refusals(service, "out_of_scope") == refused + 1


def test_most_fields_blank_is_refused_with_the_fields_to_record(service: Service) -> None:
    full = make_patient()
    minimal = {k: full[k] for k in ("patient_id", "age_years", "sex", "disease_duration_months",
                                    "mrss_total")}
    recorded = service.audit_total()

    response = service.predict(minimal)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and all(item["rule"] == "needed for a prediction" for item in detail)
    assert len({item["field"] for item in detail}) == len(detail)
    assert service.audit_total() == recorded
    assert _refusals(service, "not_enough_information") >= 1


def test_a_blank_field_gives_its_range_and_is_shown_at_its_imputed_value(
    service: Service,
) -> None:
    response = service.predict(make_patient(esr_mm_h=None))

    assert response.status_code == 200, response.text
    [answer] = response.json()["predictions"]
    spread = answer["missing_data"]
    assert spread["lower"] <= spread["upper"]
    assert [f["field"] for f in spread["fields_to_record"]] == ["esr_mm_h"]
    assert "esr_mm_h" in spread["text"]
    [esr] = [c for c in answer["explanation"]["contributions"] if c["feature"] == "esr_mm_h"]
    assert esr["imputed"] is True and esr["value"] is not None
