"""Issue 23 over HTTP on the real app: security headers everywhere, sign-out that ends copies of
the cookie, CSV cells that cannot run as formulas, and the 413 path's single log line."""

from __future__ import annotations

import base64
import csv
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ssc_response.serving.audit.signing import create_key_file
from ssc_response.serving.keys import Role
from ssc_response.serving.pages.session import SESSION_COOKIE
from tests.factories import make_patient
from tests.serving.pages.support import browser, csrf_of, signed_in_client, submit_patient
from tests.serving.support import Service, running_service

BODY_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def service(trained_store: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("security")
    key_file = directory / "signing-key.pem"
    create_key_file(key_file)
    with running_service(directory, trained_store, max_body_bytes=BODY_LIMIT,
                         audit_signing_key_file=key_file) as started:
        yield started


@pytest.fixture(scope="module")
def prediction_id(clinician: TestClient) -> str:
    """A prediction for a patient whose id a spreadsheet would read as a formula."""
    page = submit_patient(clinician, make_patient(patient_id="-A1"))
    assert page.status_code == 200, page.text
    found = re.search(r"Recorded in the audit trail as <code>([0-9a-f-]{36})</code>", page.text)
    assert found is not None
    return found.group(1)


def pages_and_downloads(service: Service, clinician: TestClient, auditor: TestClient,
                        prediction_id: str) -> dict[str, Any]:
    """Every page and download, by name: each one's response."""
    researcher = signed_in_client(service, Role.RESEARCHER)
    auditor.get("/audit")  # at least one access recorded, so the checkpoint has something new
    watch = service.client.app_state["audit_watch"]
    watch.checkpoint_now()
    upload = ("u.csv", patient_file("U-1"), "text/csv")
    return {
        "sign-in": browser(service).get("/"),
        "patient form": clinician.get("/patient"),
        "result": submit_patient(clinician, make_patient(patient_id="HDR-1")),
        "upload form": clinician.get("/patients"),
        "batch result": clinician.post("/patients", files={"file": upload},
                                       data={"csrf_token": csrf_of(clinician.get("/patients")
                                                                   .text)}),
        "audit list": auditor.get("/audit"),
        "audit entry": auditor.get(f"/audit/predictions/{prediction_id}"),
        "audit export": auditor.get("/audit/export.csv"),
        "checkpoints": auditor.get("/audit/checkpoints.jsonl"),
        "model": researcher.get("/model"),
        "error page": auditor.get("/patient"),
        "docs": browser(service).get("/docs"),
        "redoc": browser(service).get("/redoc"),
        "api prediction": service.predict(make_patient(patient_id="HDR-2")),
        "api audit": service.client.get("/v1/audit/predictions",
                                        headers=service.headers(Role.AUDITOR)),
    }


def test_every_page_and_download_carries_the_security_headers(
        service: Service, clinician: TestClient, auditor: TestClient,
        prediction_id: str) -> None:
    responses = pages_and_downloads(service, clinician, auditor, prediction_id)
    for name, response in responses.items():
        assert response.status_code in (200, 403), (name, response.status_code)
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, name
        assert headers.get("x-content-type-options") == "nosniff", name
        assert headers.get("referrer-policy") == "no-referrer", name
        assert headers.get("cache-control") == "no-store", name
        if name not in ("docs", "redoc"):  # Swagger UI and ReDoc start from inline scripts
            assert "'unsafe-inline'" not in policy and "script-src 'self'" in policy, name


def test_static_assets_stay_cacheable_but_not_sniffable(service: Service) -> None:
    response = browser(service).get("/static/pages.css")
    assert response.headers.get("cache-control") != "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_copied_cookie_stops_working_after_sign_out(service: Service) -> None:
    original = signed_in_client(service, Role.AUDITOR)
    thief = browser(service)
    thief.cookies.set(SESSION_COOKIE, original.cookies[SESSION_COOKIE])
    assert thief.get("/audit", follow_redirects=False).status_code == 200

    token = csrf_of(original.get("/audit").text)
    assert original.post("/sign-out", data={"csrf_token": token},
                         follow_redirects=False).status_code == 303

    refused = thief.get("/audit", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/"
    assert signed_in_client(service, Role.AUDITOR).get("/audit").status_code == 200


def test_the_auditors_export_neutralises_a_leading_minus(
        auditor: TestClient, prediction_id: str) -> None:
    response = auditor.get("/audit/export.csv", params={"prediction_id": prediction_id})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["patient_id"] for row in rows] == ["'-A1"]
    float(rows[0]["predicted_delta_mrss"])  # numbers stay numbers, negative ones too


def patient_file(patient_id: str) -> str:
    """A CSV of one complete patient (a patient with most fields blank gets no number)."""
    return pd.DataFrame([make_patient(patient_id=patient_id)]).to_csv(index=False)


def test_the_batch_download_neutralises_a_leading_minus(clinician: TestClient) -> None:
    upload = ("p.csv", patient_file("-B2"), "text/csv")
    page = clinician.post("/patients", files={"file": upload},
                          data={"csrf_token": csrf_of(clinician.get("/patients").text)})
    assert page.status_code == 200, page.text
    encoded = re.search(r"data:text/csv;base64,([A-Za-z0-9+/=]+)", page.text)
    assert encoded is not None
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(encoded.group(1)).decode())))
    assert [row["patient_id"] for row in rows] == ["'-B2"]
    float(rows[0]["predicted_delta_mrss"])  # a number, not quoted text


def test_a_body_over_the_limit_logs_one_line_and_no_traceback(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"patients": [' + b" " * (BODY_LIMIT + 1) + b"]}"
    with caplog.at_level(logging.INFO):
        response = service.client.post("/v1/predictions", content=body,
                                       headers={**service.headers(Role.CLINICIAN),
                                                "content-type": "application/json"})
    assert response.status_code == 413
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    refusals = [r for r in caplog.records
                if r.name.startswith("ssc_response") and "413" in r.getMessage()]
    assert errors == [] and len(refusals) == 1
    assert "\n" not in refusals[0].getMessage()
