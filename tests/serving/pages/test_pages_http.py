"""The web pages over HTTP (TestClient, the real app and model): sessions, roles, forms, audit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ssc_response.features.schema import baseline_fields
from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import KeyStore, Role
from ssc_response.serving.pages.labels import is_flag
from ssc_response.serving.pages.session import SESSION_COOKIE
from tests.factories import make_patient
from tests.serving.pages.support import browser, csrf_of, sign_in, signed_in_client, submit_patient
from tests.serving.support import Service


@pytest.fixture(scope="module")
def result_page(clinician: TestClient) -> str:
    response = submit_patient(clinician, make_patient(patient_id="PAGE-0001"))
    assert response.status_code == 200, response.text
    return response.text


def test_root_is_a_sign_in_form(service: Service) -> None:
    page = browser(service).get("/")
    assert page.status_code == 200
    assert 'name="api_key"' in page.text


def test_a_wrong_key_gets_a_plain_message(service: Service) -> None:
    response = sign_in(browser(service), "ssc_0000000000000000_" + "x" * 43)
    assert response.status_code == 401
    assert "That API key was not recognised" in response.text


def test_session_cookie_is_signed_httponly_and_strict(service: Service) -> None:
    response = sign_in(browser(service), service.keys[Role.CLINICIAN][1])
    cookie = next(h for h in response.headers.get_list("set-cookie")
                  if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert service.keys[Role.CLINICIAN][1] not in cookie  # never the key itself
    assert response.headers["location"] == "/patient"


def test_sign_in_needs_the_forms_csrf_token(service: Service) -> None:
    client = browser(service)
    client.get("/")
    response = client.post("/sign-in", data={"api_key": service.keys[Role.CLINICIAN][1],
                                              "csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403


def test_a_post_without_the_session_csrf_token_is_refused(clinician: TestClient) -> None:
    response = clinician.post("/patient", data={**make_patient(), "csrf_token": "forged"})
    assert response.status_code == 403
    assert "Reload the page" in response.text


def test_pages_without_a_session_go_to_sign_in(service: Service) -> None:
    response = browser(service).get("/audit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_forged_session_cookie_is_not_a_session(service: Service) -> None:
    client = browser(service)
    client.cookies.set(SESSION_COOKIE, "e30.deadbeef")
    assert client.get("/patient", follow_redirects=False).status_code == 303


def test_clinician_is_refused_auditor_pages(clinician: TestClient) -> None:
    response = clinician.get("/audit")
    assert response.status_code == 403
    assert "for the auditor role" in response.text


def test_auditor_is_refused_the_patient_form(auditor: TestClient) -> None:
    assert auditor.get("/patient").status_code == 403


def test_form_has_one_input_per_field(clinician: TestClient) -> None:
    page = clinician.get("/patient").text
    for name in ["patient_id", *baseline_fields()]:
        # yes/no fields are three radio buttons (not recorded / yes / no) sharing the name
        assert page.count(f'name="{name}"') == (3 if is_flag(name) else 1), name
        assert page.count(f'id="f-{name}"') == 1, name
    assert "(mg/L)" in page  # units shown


def test_result_page_shows_probability_chart_and_provenance(result_page: str) -> None:
    assert 'id="probability"' in result_page and "%" in result_page
    assert "<svg" in result_page and "mRSS 22 points" in result_page
    assert "log-odds" in result_page or "probability of skin response" in result_page
    assert "Base rate in the training cohort" in result_page
    assert "Research use only" in result_page
    for index in ("EScSG", "Revised EUSTAR", "ACR/EULAR 2013"):
        assert index in result_page


def test_a_bad_value_is_explained_beside_its_field_and_nothing_is_lost(
        clinician: TestClient, service: Service) -> None:
    before = service.audit_total()
    response = submit_patient(clinician, make_patient(age_years=150, crp_mg_l=7.5))
    assert response.status_code == 422
    assert 'id="e-age_years"' in response.text
    assert "must be between 18 and 90 years (you entered 150)" in response.text
    assert 'name="crp_mg_l" type="text" value="7.5"' in response.text
    assert service.audit_total() == before


def test_upload_predicts_every_row(clinician: TestClient) -> None:
    # Complete records: a patient with most model fields blank gets no number (issue 19).
    table = pd.DataFrame([make_patient(patient_id="U-1"),
                          make_patient(patient_id="U-2", sex="M")])
    token = csrf_of(clinician.get("/patients").text)
    response = clinician.post("/patients", data={"csrf_token": token},
                              files={"file": ("patients.csv", table.to_csv(index=False),
                                              "text/csv")})
    assert response.status_code == 200, response.text
    assert "U-1" in response.text and "U-2" in response.text
    assert "data:text/csv;base64," in response.text


def test_a_bad_upload_lists_row_field_and_rule_and_records_nothing(
        clinician: TestClient, service: Service) -> None:
    before = service.audit_total()
    rows = ["patient_id,age_years,sex,disease_duration_months,mrss_total",
            "B-1,50,F,20,25", "B-2,40,X,30,18"]
    token = csrf_of(clinician.get("/patients").text)
    response = clinician.post("/patients", data={"csrf_token": token},
                              files={"file": ("patients.csv", "\n".join(rows), "text/csv")})
    assert response.status_code == 422
    assert "<td>2</td><td>Sex</td>" in response.text
    assert "must be one of: female (F), male (M)" in response.text
    assert service.audit_total() == before


def test_auditor_finds_opens_and_replays_the_prediction(
        auditor: TestClient, result_page: str, service: Service) -> None:
    listing = auditor.get("/audit", params={"patient_id": "PAGE-0001"})
    assert listing.status_code == 200 and "1 prediction match" in listing.text
    prediction_id = csrf_free_id(result_page)
    page = auditor.get(f"/audit/predictions/{prediction_id}")
    assert page.status_code == 200
    assert service.key_id(Role.CLINICIAN) in page.text and "<svg" in page.text
    assert "view by key" in page.text  # the view itself is recorded
    replayed = auditor.post(f"/audit/predictions/{prediction_id}/replay",
                            data={"csrf_token": csrf_of(page.text)})
    assert "Match: version" in replayed.text


def csrf_free_id(result_page: str) -> str:
    start = result_page.index('id="prediction-id">') + len('id="prediction-id">')
    return result_page[start:result_page.index("<", start)]


def test_chain_panel_reports_verification(auditor: TestClient, result_page: str) -> None:
    page = auditor.get("/audit")
    verified = auditor.post("/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert verified.status_code == 200
    assert "Verified: all" in verified.text


def test_export_is_csv_of_the_filtered_list(auditor: TestClient, result_page: str) -> None:
    response = auditor.get("/audit/export.csv", params={"patient_id": "PAGE-0001"})
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert len(lines) == 2 and "PAGE-0001" in lines[1]


def test_invalid_filter_is_explained(auditor: TestClient) -> None:
    response = auditor.get("/audit", params={"key_id": "not-a-key"})
    assert response.status_code == 422
    assert "16 hexadecimal characters" in response.text


def test_model_page_for_researcher(service: Service) -> None:
    researcher = signed_in_client(service, Role.RESEARCHER)
    page = researcher.get("/model")
    assert page.status_code == 200, page.text
    assert "AUROC" in page.text and "Alias history" in page.text
    assert "Model card" in page.text and "<h2>Model details</h2>" in page.text


PLOT_ARTIFACTS = ("plots/roc.png", "plots/calibration.png", "plots/decision_curve.png")


def test_model_page_shows_the_runs_plots_to_researchers(
    service: Service, trained_store: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 24: the ROC, calibration and decision curves logged with the run, on the page."""
    import mlflow

    researcher = signed_in_client(service, Role.RESEARCHER)
    page = researcher.get("/model").text
    sources = re.findall(r'<img src="(/model/plots/[a-z_]+\.png)"', page)
    assert sources == [f"/model/{path}" for path in PLOT_ARTIFACTS]
    run_id = trained_store["summary"].run_id
    for source, path in zip(sources, PLOT_ARTIFACTS, strict=True):
        image = researcher.get(source)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        logged = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=str(tmp_path),
            tracking_uri=trained_store["tracking_uri"])
        assert image.content == Path(logged).read_bytes()
    assert researcher.get("/model/plots/shap_beeswarm.png").status_code == 404  # only these


def test_model_plots_are_for_researchers(clinician: TestClient) -> None:
    page = clinician.get("/model")
    assert page.status_code == 200 and "/model/plots/" not in page.text
    refused = clinician.get("/model/plots/roc.png")
    assert refused.status_code == 403 and "researcher role" in refused.text


def test_sign_out_ends_the_session(service: Service) -> None:
    client = signed_in_client(service, Role.CLINICIAN)
    token = csrf_of(client.get("/patient").text)
    assert client.post("/sign-out", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert client.get("/patient", follow_redirects=False).status_code == 303


def test_docs_load_their_assets_from_the_package(service: Service) -> None:
    client = browser(service)
    for path in ("/docs", "/redoc"):
        page = client.get(path).text
        assert "cdn." not in page and "googleapis" not in page
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/redoc/redoc.standalone.js").status_code == 200


def test_a_revoked_key_ends_its_sessions(service: Service) -> None:
    engine = make_engine(service.settings.database_url)
    try:
        store = KeyStore(engine)
        key_id, plaintext = store.create(Role.CLINICIAN, label="to revoke")
        client = browser(service)
        assert sign_in(client, plaintext).status_code == 303
        assert client.get("/patient").status_code == 200
        store.revoke(key_id)
    finally:
        engine.dispose()
    assert client.get("/patient", follow_redirects=False).status_code == 303


def test_the_api_lists_by_key_id_too(service: Service, result_page: str) -> None:
    response = service.client.get("/v1/audit/predictions", headers=service.headers(Role.AUDITOR),
                                  params={"key_id": service.key_id(Role.CLINICIAN)})
    assert response.status_code == 200 and response.json()["total"] >= 1
    assert {item["key_id"] for item in response.json()["items"]} == {
        service.key_id(Role.CLINICIAN)}
