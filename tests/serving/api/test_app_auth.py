"""Who may call what: 401 without a valid key, 403 for the wrong role, per route."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from httpx import Response

from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import KeyStore, Role
from ssc_response.serving.schemas import DETAIL_FORBIDDEN, DETAIL_UNAUTHENTICATED
from tests.factories import make_patient
from tests.serving.support import Service, running_service

UNKNOWN_ID = str(uuid4())
# (method, path, JSON body, roles allowed)
ROUTES: list[tuple[str, str, Any, set[Role]]] = [
    ("POST", "/v1/predictions", {"patients": [make_patient()]}, {Role.CLINICIAN}),
    ("GET", "/v1/model", None, {Role.RESEARCHER, Role.CLINICIAN}),
    ("POST", "/v1/model/reload", None, {Role.RESEARCHER}),
    ("GET", "/v1/audit/predictions", None, {Role.AUDITOR}),
    ("GET", f"/v1/audit/predictions/{UNKNOWN_ID}", None, {Role.AUDITOR}),
    ("GET", "/v1/audit/verify", None, {Role.AUDITOR}),
    ("POST", f"/v1/audit/predictions/{UNKNOWN_ID}/replay", None, {Role.AUDITOR}),
    ("POST", "/v1/outcomes", {"prediction_id": UNKNOWN_ID, "visit_date": "2026-01-01",
                              "mrss_total_followup": 10}, {Role.CLINICIAN}),
    ("GET", "/v1/outcomes?model_version=1", None, {Role.AUDITOR}),
]
ROUTE_IDS = [f"{method} {path.replace(UNKNOWN_ID, '{id}')}" for method, path, _, _ in ROUTES]
PUBLIC = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("auth"), trained_store) as started:
        yield started


def call(service: Service, route: tuple[str, str, Any, set[Role]],
         headers: dict[str, Any]) -> Response:
    method, path, body, _ = route
    return service.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_role_matrix(service: Service, route: tuple[str, str, Any, set[Role]], role: Role) -> None:
    response = call(service, route, service.headers(role))
    if role in route[3]:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": DETAIL_FORBIDDEN}


BAD_CREDENTIALS: dict[str, dict[str, Any]] = {
    "no header": {},
    "empty bearer": {"Authorization": "Bearer "},
    "not a key": {"Authorization": "Bearer hello"},
    "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "unknown key": {"Authorization": "Bearer ssc_0123456789abcdef_" + "A" * 43},
    "non-ASCII": {"Authorization": "Bearer ssc_é".encode()},
}


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("headers", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_without_a_valid_key_is_401(
    service: Service, route: tuple[str, str, Any, set[Role]], headers: dict[str, Any]
) -> None:
    response = call(service, route, headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": DETAIL_UNAUTHENTICATED}


def test_wrong_secret_for_a_real_key_id_is_401(service: Service) -> None:
    key_id = service.key_id(Role.CLINICIAN)
    headers = {"Authorization": f"Bearer ssc_{key_id}_{'B' * 43}"}
    assert call(service, ROUTES[0], headers).status_code == 401


def test_revoked_key_is_401_once_the_key_cache_expires(service: Service) -> None:
    engine = make_engine(service.settings.database_url)
    try:
        store = KeyStore(engine)
        key_id, plaintext = store.create(Role.CLINICIAN)
        headers = {"Authorization": f"Bearer {plaintext}"}
        assert call(service, ROUTES[1], headers).status_code == 200
        store.revoke(key_id)
        revoked_at = time.monotonic()
    finally:
        engine.dispose()
    # Within the cache's lifetime the remembered key may still pass; after it, never.
    time.sleep(max(0.0, service.settings.key_cache_seconds - (time.monotonic() - revoked_at)))
    assert call(service, ROUTES[1], headers).status_code == 401


def test_without_the_key_cache_revocation_is_immediate(
    trained_store: dict[str, Any], tmp_path: Path
) -> None:
    with running_service(tmp_path, trained_store, key_cache_seconds=0) as uncached:
        engine = make_engine(uncached.settings.database_url)
        try:
            store = KeyStore(engine)
            key_id, plaintext = store.create(Role.CLINICIAN)
            headers = {"Authorization": f"Bearer {plaintext}"}
            assert call(uncached, ROUTES[1], headers).status_code == 200
            store.revoke(key_id)
        finally:
            engine.dispose()
        assert call(uncached, ROUTES[1], headers).status_code == 401


@pytest.mark.parametrize("path", PUBLIC)
def test_operational_endpoints_need_no_key(service: Service, path: str) -> None:
    assert service.client.get(path).status_code == 200


def test_openapi_declares_bearer_security(service: Service) -> None:
    document = service.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    assert document["paths"]["/v1/predictions"]["post"]["security"]
    assert "security" not in document["paths"]["/healthz"]["get"]
