"""Health, readiness, metrics, OpenAPI, settings, and failures that must become 503, not 500."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from ssc_response.features.schema import field_names
from ssc_response.serving.app import create_app
from ssc_response.serving.audit import AuditStore
from ssc_response.serving.keys import Role
from ssc_response.serving.schemas import (
    DETAIL_AUDIT_UNAVAILABLE,
    DETAIL_PREDICTION_UNAVAILABLE,
    DETAIL_SERVICE_UNAVAILABLE,
)
from ssc_response.serving.settings import Settings, get_settings
from tests.factories import make_patient
from tests.serving.support import Service, make_batch, make_settings, running_service

MAX_BATCH = 5
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("operations")
    overrides = {"max_batch": MAX_BATCH, "max_body_bytes": MAX_BODY}
    with running_service(directory, trained_store, **overrides) as started:
        yield started


# --- health and readiness -----------------------------------------------------------------------


def test_healthz(service: Service) -> None:
    response = service.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_reports_model_and_database(service: Service) -> None:
    body = service.client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"] == {"model": True, "database": True}
    assert body["model"]["version"]
    assert body["worker_pid"] == os.getpid()  # the test client runs the app in this process


def test_readyz_is_503_when_the_database_is_down(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionError("down"))

    monkeypatch.setattr("sqlalchemy.engine.Engine.connect", refuse)
    response = service.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


# --- metrics ------------------------------------------------------------------------------------


def metric_lines(service: Service, prefix: str) -> list[str]:
    text = service.client.get("/metrics").text
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_metrics_count_requests_by_route_and_status(service: Service) -> None:
    assert service.predict(make_patient()).status_code == 200
    counts = metric_lines(service, "ssc_http_requests_total{")
    assert any('route="/v1/predictions"' in c and 'status="200"' in c for c in counts)
    assert metric_lines(service, "ssc_http_request_duration_seconds_bucket{")


def test_metrics_count_predictions_and_show_the_model(service: Service) -> None:
    before = _predictions_total(service)
    service.predict(*make_batch(3))
    assert _predictions_total(service) == before + 3
    assert len(metric_lines(service, "ssc_model_info{")) == 1


def _predictions_total(service: Service) -> float:
    lines = metric_lines(service, "ssc_predictions_total{")
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_metrics_label_routes_by_template_never_by_id(service: Service) -> None:
    prediction_id = str(uuid4())
    service.client.get(f"/v1/audit/predictions/{prediction_id}",
                       headers=service.headers(Role.AUDITOR))
    service.client.get(f"/no/such/{prediction_id}")
    text = service.client.get("/metrics").text
    assert prediction_id not in text
    assert 'route="/v1/audit/predictions/{prediction_id}"' in text
    assert 'route="<unmatched>"' in text


def test_each_app_has_its_own_metrics_registry(service: Service) -> None:
    other = create_app(service.settings)  # would raise "Duplicated timeseries" on a shared one
    assert other is not service.app


# --- OpenAPI ------------------------------------------------------------------------------------


def record_schema(service: Service) -> dict[str, Any]:
    document = service.client.get("/openapi.json").json()
    return dict(document["components"]["schemas"]["PatientRecord"])


def test_openapi_documents_units_and_ranges(service: Service) -> None:
    age = record_schema(service)["properties"]["age_years"]
    assert (age["minimum"], age["maximum"]) == (18, 90)
    assert "years" in age["description"]
    sex = record_schema(service)["properties"]["sex"]
    assert sex["enum"] == ["F", "M"]


def test_openapi_refuses_unknown_and_follow_up_fields(service: Service) -> None:
    schema = record_schema(service)
    assert schema["additionalProperties"] is False
    assert not set(field_names("outcome")) & set(schema["properties"])
    assert set(schema["required"]) == {"patient_id", "age_years", "sex", "disease_duration_months"}


def test_openapi_documents_the_batch_limit(service: Service) -> None:
    document = service.client.get("/openapi.json").json()
    patients = document["components"]["schemas"]["PredictionRequest"]["properties"]["patients"]
    assert (patients["minItems"], patients["maxItems"]) == (1, MAX_BATCH)


def test_batch_limit_comes_from_settings(service: Service) -> None:
    response = service.predict(*make_batch(MAX_BATCH + 1))
    assert response.status_code == 422
    assert f"at most {MAX_BATCH}" in response.json()["detail"][0]["rule"]


def test_oversized_body_is_413(service: Service) -> None:
    padding = make_patient(patient_id="x" * (MAX_BODY + 1))
    assert service.predict(padding).status_code == 413


def test_docs_page(service: Service) -> None:
    response = service.client.get("/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()


# --- failures become 503 with stable details, logged without patient data -----------------------


def test_model_failure_is_503_and_logged_without_patient_data(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(*_args: Any) -> Any:
        raise RuntimeError("cannot predict for PRIVATE-7 aged 45")

    monkeypatch.setattr("ssc_response.serving.inference.predict_records", crash)
    before = service.audit_total()
    with caplog.at_level(logging.ERROR):
        response = service.predict(make_patient(patient_id="PRIVATE-7"))
    assert response.status_code == 503
    assert response.json() == {"detail": DETAIL_PREDICTION_UNAVAILABLE}
    assert "RuntimeError" in caplog.text and "PRIVATE-7" not in caplog.text
    assert service.audit_total() == before


def test_audit_failure_is_503_and_nothing_is_returned(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_args: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(AuditStore, "append_many", locked)
    response = service.predict(make_patient())
    assert (response.status_code, response.json()) == (503, {"detail": DETAIL_AUDIT_UNAVAILABLE})
    assert response.headers["Retry-After"] == "1"


def test_any_unexpected_error_is_503_not_500(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("PRIVATE-8")

    monkeypatch.setattr(AuditStore, "list", broken)
    with caplog.at_level(logging.ERROR):
        response = service.client.get("/v1/audit/predictions",
                                      headers=service.headers(Role.AUDITOR))
    assert (response.status_code, response.json()) == (503, {"detail": DETAIL_SERVICE_UNAVAILABLE})
    assert "KeyError" in caplog.text and "PRIVATE-8" not in caplog.text
    statuses = metric_lines(service, "ssc_http_requests_total{")
    assert any('route="/v1/audit/predictions"' in s and 'status="503"' in s for s in statuses)


# --- settings and start-up ----------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("model_uri", "ssc-skin-response"),
    ("model_uri", "models:/name@"),
    ("database_url", "mysql://db/ssc"),
    ("database_url", "not a url"),
    ("max_batch", 0),
    ("model_poll_seconds", -1),
    ("tracking_uri", "  "),
])
def test_bad_settings_fail_fast(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_MODEL_URI", "models:/other/3")
    monkeypatch.setenv("SSC_MAX_BATCH", "7")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    settings = Settings()
    assert (settings.model_uri, settings.model_name, settings.max_batch) == (
        "models:/other/3", "other", 7
    )
    assert settings.tracking_uri == "sqlite:///elsewhere.db"


def test_create_app_fails_fast_on_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_DATABASE_URL", "mysql://db/ssc")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="unsupported database"):
            create_app()
    finally:
        get_settings.cache_clear()


def test_explicit_settings_override_the_dependency(service: Service) -> None:
    assert service.app.dependency_overrides[get_settings]() is service.settings


def test_start_up_refuses_a_missing_model(trained_store: dict[str, Any], tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trained_store, model_uri="models:/no-such-model@champion")
    with pytest.raises(LookupError), TestClient(create_app(settings)):
        pass
