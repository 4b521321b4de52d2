"""The auditor's search by prediction id in Chromium against a real server (issue 24), and the
strict content policy (issue 23) breaking nothing: no page reports a policy violation.

The server and browser fixtures are ``conftest.py``'s (a real ``serve`` process per module).
"""

from __future__ import annotations

from typing import Any

import httpx

from ssc_response.serving.keys import Role
from tests.browser import BROWSER_MARKS
from tests.factories import make_patient
from tests.serving.pages.browser_support import new_page, sign_in

pytestmark = BROWSER_MARKS


def predict_three(server: Any, key: str) -> list[str]:
    """Three predictions through the API: their ids, in order."""
    patients = [make_patient(patient_id=f"FIND-{i}") for i in range(3)]
    response = httpx.post(f"{server.url}/v1/predictions", json={"patients": patients},
                          headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert response.status_code == 200, response.text
    return [item["prediction_id"] for item in response.json()["predictions"]]


def policy_violations(page: Any) -> list[str]:
    """Console messages of the page that report a Content-Security-Policy violation."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    return seen


def test_auditor_searches_by_a_typed_or_pasted_prediction_id(chromium: Any,
                                                              deployment: Any) -> None:
    server, keys = deployment
    ids = predict_three(server, keys[Role.CLINICIAN])
    page = new_page(chromium, server)
    violations = policy_violations(page)
    sign_in(page, keys[Role.AUDITOR])
    page.wait_for_url("**/audit")

    page.get_by_label("Prediction id").fill(ids[1].upper())
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#entries tbody tr")
    assert rows.count() == 1 and "FIND-1" in rows.first.inner_text()

    page.goto("/audit")
    page.locator("h1").click()  # focus outside any text box, as a person pasting would
    with page.expect_navigation():
        page.evaluate("""id => {
            const data = new DataTransfer();
            data.setData("text/plain", "prediction " + id + " (from the clinician)");
            document.body.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data,
                                                                     bubbles: true}));
        }""", ids[2])
    assert page.get_by_label("Prediction id").input_value() == ids[2]
    rows = page.locator("#entries tbody tr")
    assert rows.count() == 1 and "FIND-2" in rows.first.inner_text()
    assert violations == []
