"""Plain helpers for the page tests: sign in through the form, fill the one-patient form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from ssc_response.serving.keys import Role
from tests.serving.support import Service

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(page)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, key: str) -> Response:
    """Open the sign-in page and submit ``key`` through its form (redirects not followed)."""
    page = client.get("/")
    return client.post("/sign-in", data={"api_key": key, "csrf_token": csrf_of(page.text)},
                       follow_redirects=False)


def browser(service: Service) -> TestClient:
    """A client with its own cookies (a browser) on the service's already started app.

    It shares the lifespan state of the service's client (its ``Services``) rather than starting
    the app, and its model, a second time.
    """
    client = TestClient(service.app)
    client.app_state.update(service.client.app_state)  # the dict its transport already holds
    return client


def signed_in_client(service: Service, role: Role) -> TestClient:
    """A new browser on the service's app, signed in with the role's key."""
    client = browser(service)
    assert sign_in(client, service.keys[role][1]).status_code == 303
    return client


def form_values(record: dict[str, Any]) -> dict[str, str]:
    """A record as a browser submits the form: text, booleans as yes/no."""
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None else str(value)

    return {name: text(value) for name, value in record.items()}


def submit_patient(client: TestClient, record: dict[str, Any]) -> Response:
    """Fill the one-patient form with ``record`` and submit it."""
    token = csrf_of(client.get("/patient").text)
    return client.post("/patient", data={**form_values(record), "csrf_token": token})
