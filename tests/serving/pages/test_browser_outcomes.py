"""The follow-up form and the model page's prospective block in a real browser (Chromium, a
real ``serve`` server). Screenshots go to a temporary folder, or ``docs/screenshots/`` with
``SSC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ssc_response.serving.keys import Role
from tests.browser import BROWSER_MARKS
from tests.factories import make_patient
from tests.serving.pages.browser_support import new_page, sign_in

pytestmark = BROWSER_MARKS


def test_clinician_records_a_follow_up_from_the_prediction(
        chromium: Any, deployment: Any, shots: Path) -> None:
    server, keys = deployment
    answer = httpx.post(f"{server.url}/v1/predictions", timeout=30,
                        json={"patients": [make_patient(patient_id="FU-0001")]},
                        headers={"Authorization": f"Bearer {keys[Role.CLINICIAN]}"})
    assert answer.status_code == 200, answer.text
    prediction_id = answer.json()["predictions"][0]["prediction_id"]

    page = new_page(chromium, server)
    sign_in(page, keys[Role.CLINICIAN])
    page.goto(f"/patient/predictions/{prediction_id}")
    page.get_by_role("link", name="Record the follow-up").click()
    page.locator('[name="visit_date"]').fill(str(datetime.now(UTC).date()))
    page.locator('[name="mrss_total_followup"]').fill("99")
    page.get_by_role("button", name="Record the follow-up").click()
    message = page.locator("#e-mrss_total_followup")
    assert message.is_visible() and "51" in message.inner_text()  # the rule, beside its field
    page.screenshot(path=shots / "clinician-follow-up-refused.png", full_page=False)

    page.locator('[name="mrss_total_followup"]').fill("14")
    page.get_by_role("button", name="Record the follow-up").click()
    recorded = page.locator("#recorded")
    assert recorded.is_visible()
    assert "mrss_total_followup" in page.locator("table").inner_text()
    page.screenshot(path=shots / "clinician-follow-up-recorded.png", full_page=False)

    researcher = new_page(chromium, server)
    sign_in(researcher, keys[Role.RESEARCHER])
    researcher.goto("/model")
    counts = researcher.locator("#prospective-counts").inner_text()
    assert "1 served prediction(s)" in counts and "still waiting" in counts
    researcher.locator("#prospective-counts").scroll_into_view_if_needed()
    researcher.screenshot(path=shots / "researcher-model-prospective.png", full_page=False)
