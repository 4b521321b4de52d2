"""Blank and out-of-scope patients in a real browser (issue 19): Chromium against a real
``serve``, each page compared with the JSON API's answer for the same record.

* Not enough information: most of the model's fields blank. No number; the fields to record are
  listed the most informative first (the API's order) and each is marked beside its input.
* Out of scope: limited cutaneous SSc and adipose-derived cells. The page names each field and
  its rule in words beside the input; no number.
* The missing-data range: two fields blank. The result page says which fields were not recorded,
  the API's range in whole percent, and which field to record first.

Screenshots go to a temporary folder, or ``docs/screenshots/`` with ``SSC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ssc_response.features.clinical_labels import label
from ssc_response.features.schema import REQUIRED_FIELDS
from ssc_response.serving.keys import Role
from tests.browser import BROWSER_MARKS
from tests.factories import make_patient
from tests.serving.pages.browser_support import fill_patient, new_page, sign_in
from tests.serving.pages.support import form_values

pytestmark = BROWSER_MARKS
KEPT = {*REQUIRED_FIELDS, "mrss_total"}  # what a minimal record keeps of the model's fields


def api(server: Any, key: str, record: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/predictions", json={"patients": [record]}, timeout=60,
                      headers={"Authorization": f"Bearer {key}"})


def signed_in_form(chromium: Any, deployment: Any) -> Any:
    server, keys = deployment
    page = new_page(chromium, server)
    sign_in(page, keys[Role.CLINICIAN])
    page.wait_for_url("**/patient")
    return page


def model_fields(page: Any) -> list[str]:
    """The inputs the form marks as the model's (its first section)."""
    names = page.locator("#s-model [name]").evaluate_all("els => els.map(e => e.name)")
    return list(dict.fromkeys(str(name) for name in names))


def test_most_fields_blank_gives_no_number_and_the_fields_to_record(
        chromium: Any, deployment: Any, shots: Path) -> None:
    server, keys = deployment
    page = signed_in_form(chromium, deployment)
    blank = [name for name in model_fields(page) if name not in KEPT]
    record = make_patient(patient_id="SPARSE-0001", **dict.fromkeys(blank))
    refused = api(server, keys[Role.CLINICIAN], record)
    assert refused.status_code == 422, refused.text
    to_record = [item["field"] for item in refused.json()["detail"]]
    assert set(to_record) <= set(blank) and len(to_record) >= len(blank) // 2

    fill_patient(page, form_values(record))
    page.get_by_role("button", name="Predict").click()
    summary = page.locator("#error-summary")
    assert summary.locator("h2").inner_text().startswith("Not enough information")
    assert page.locator("#probability").count() == 0  # no number
    links = summary.locator("li a").evaluate_all("els => els.map(e => e.hash.slice(3))")
    assert links == to_record  # most informative first, as the API ranks them
    for name in to_record:  # and beside each field, in words
        message = page.locator(f"#e-{name}")
        assert message.is_visible()
        assert message.inner_text().strip() == f"{label(name)}: needed for a prediction."
    page.set_viewport_size({"width": 1200, "height": 1300})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=shots / "clinician-not-enough-information.png", full_page=False)


def test_an_out_of_scope_patient_is_refused_naming_the_field_and_the_rule(
        chromium: Any, deployment: Any, shots: Path) -> None:
    server, keys = deployment
    record = make_patient(patient_id="SCOPE-0001", cutaneous_subset="limited",
                          cell_product="ad_svf")
    refused = api(server, keys[Role.CLINICIAN], record)
    assert refused.status_code == 422, refused.text
    assert {item["field"] for item in refused.json()["detail"]} == {"cutaneous_subset",
                                                                   "cell_product"}
    page = signed_in_form(chromium, deployment)
    fill_patient(page, form_values(record))
    page.get_by_role("button", name="Predict").click()
    assert page.locator("#probability").count() == 0
    subset = page.locator("#e-cutaneous_subset").inner_text()
    assert subset.startswith(label("cutaneous_subset") + ":")
    assert "this model is for diffuse SSc; you entered limited SSc" in subset
    product = page.locator("#e-cell_product").inner_text()
    assert product.startswith(label("cell_product") + ":")
    assert "autologous bone-marrow MSC" in product
    assert "you entered adipose stromal vascular fraction" in product
    assert "ad_svf" not in page.locator("#error-summary").inner_text()  # words, not codes
    assert page.locator('[name="cell_product"]').input_value() == "ad_svf"  # nothing is lost
    page.locator("#error-summary").scroll_into_view_if_needed()
    page.screenshot(path=shots / "clinician-out-of-scope.png", full_page=False)


def test_the_result_page_shows_the_missing_data_range_the_api_gives(
        chromium: Any, deployment: Any, shots: Path) -> None:
    server, keys = deployment
    record = make_patient(patient_id="RANGE-0001", esr_mm_h=None, anti_topo1=None)
    answer = api(server, keys[Role.CLINICIAN], record)
    assert answer.status_code == 200, answer.text
    missing = answer.json()["predictions"][0]["missing_data"]
    ranked = [item["field"] for item in missing["fields_to_record"]]

    page = signed_in_form(chromium, deployment)
    fill_patient(page, form_values(record))
    page.get_by_role("button", name="Predict").click()
    page.wait_for_url("**/patient")
    sentence = page.locator("#missing-sentence").inner_text()
    low, high = round(100 * missing["lower"]), round(100 * missing["upper"])
    assert sentence == (f"Because {label(ranked[0])} and {label(ranked[1])} were not recorded, "
                        f"the probability could be {low}–{high} %.")
    assert page.locator("#record-first").inner_text().startswith(
        f"Record {label(ranked[0])} first")
    items = page.locator("#fields-to-record li")
    assert [items.nth(i).get_attribute("data-field") for i in range(items.count())] == ranked
    assert page.locator("#missing-range").is_visible()
    page.screenshot(path=shots / "clinician-result-missing-range.png", full_page=False)
