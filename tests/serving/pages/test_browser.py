"""The pages in a real browser: Debian's Chromium driven by Playwright against a real server.

Each role does what a person would: sign in, fill the form from one simulated patient, read the
probability and the chart, see a bad value explained beside its field, upload a file; as
auditor, find the prediction, open it, replay it and see the chain verified; as clinician, be
refused an auditor page. The tests take a screenshot of each page (into a temporary folder, or
into ``docs/screenshots/`` when ``SSC_UPDATE_SCREENSHOTS=1``).

Skipped, saying why, only when ``/usr/bin/chromium`` is absent (``.ci/run`` installs it). The
server, browser and patient fixtures are in ``conftest.py``, the helpers in ``browser_support``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from ssc_response.features.schema import MRSS_SITE_FIELDS, baseline_fields
from ssc_response.serving.keys import Role
from tests.browser import BROWSER_MARKS
from tests.serving.pages.browser_support import fill_patient, new_page, sign_in

pytestmark = BROWSER_MARKS


def test_clinician_predicts_one_patient(chromium: Any, deployment: Any, patient: dict[str, str],
                                        shots: Path) -> None:
    server, keys = deployment
    page = new_page(chromium, server)
    sign_in(page, keys[Role.CLINICIAN])
    page.wait_for_url("**/patient")
    fill_patient(page, patient)
    sites = [int(patient[name]) for name in MRSS_SITE_FIELDS if patient[name]]
    if len(sites) == len(MRSS_SITE_FIELDS):  # the running total, computed as they type
        assert page.locator("#mrss-sum").inner_text().startswith(str(sum(sites)))
    page.evaluate("window.scrollTo(0, 0)")  # the model's fields, first and marked
    page.screenshot(path=shots / "clinician-form.png", full_page=False)
    page.get_by_role("button", name="Predict").click()
    page.wait_for_url("**/patient")
    probability = page.locator("#probability").inner_text()
    assert re.fullmatch(r"\d{1,3} %", probability), probability
    assert page.locator("#waterfall svg").is_visible()
    assert "average patient" in page.locator("#waterfall").inner_text()
    assert "Research use only" in page.content()
    page.screenshot(path=shots / "clinician-result.png", full_page=True)


def test_a_bad_value_is_shown_beside_its_field(chromium: Any, deployment: Any,
                                               patient: dict[str, str], shots: Path) -> None:
    server, keys = deployment
    page = new_page(chromium, server)
    sign_in(page, keys[Role.CLINICIAN])
    fill_patient(page, {**patient, "age_years": "150"})
    page.get_by_role("button", name="Predict").click()
    message = page.locator("#e-age_years")
    assert "must be between 18 and 90 years (you entered 150)" in message.inner_text()
    assert page.locator('[name="age_years"]').input_value() == "150"  # nothing is lost
    assert page.locator('[name="sex"]').input_value() == patient["sex"]
    page.screenshot(path=shots / "clinician-form-error.png", full_page=False)


def uploaded(chromium: Any, server: Any, key: str, cohort: Any, folder: Path) -> Any:
    """A clinician's page after uploading ``cohort`` as a CSV file on the several-patients page."""
    upload = folder / "patients.csv"
    cohort.to_csv(upload, index=False)
    page = new_page(chromium, server)
    sign_in(page, key)
    page.goto("/patients")
    page.get_by_label("Patient file").set_input_files(upload)
    page.get_by_role("button", name="Predict for every patient").click()
    return page


def test_clinician_uploads_a_file(chromium: Any, deployment: Any, shots: Path,
                                  tmp_path: Path) -> None:
    from ssc_response.training.simulation import simulate_cohort

    server, keys = deployment
    cohort = simulate_cohort(5, seed=7)[["patient_id", *baseline_fields()]]
    page = uploaded(chromium, server, keys[Role.CLINICIAN], cohort, tmp_path)
    assert page.locator("#predictions tbody tr").count() == 5
    with page.expect_download() as download:
        page.locator("#download").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["patient_id"] for row in rows] == list(cohort["patient_id"])
    page.screenshot(path=shots / "clinician-upload.png", full_page=True)


# Every EScSG item blank but mRSS: 1 point recorded, up to 10 possible (§2.1 weights).
ESCSG_BLANKS = ("scleredema", "delta_skin", "digital_ulcers_active", "delta_vascular",
                "arthritis", "dlco_pct_pred", "delta_cardiopulmonary", "esr_mm_h",
                "hypocomplementemia", "c3_g_l", "c4_g_l")


def labels_inside_the_chart(page: Any) -> bool:
    """Whether every text of the waterfall lies inside its SVG's box (nothing clipped)."""
    return bool(page.evaluate("""() => {
        const svg = document.querySelector('#waterfall svg');
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].every(t => {
            const r = t.getBoundingClientRect();
            return r.width > 0 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
        });
    }"""))


def test_an_index_the_blanks_could_flip_reads_not_assessable(
        chromium: Any, deployment: Any, patient: dict[str, str], shots: Path) -> None:
    server, keys = deployment
    page = new_page(chromium, server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, keys[Role.CLINICIAN])
    page.wait_for_url("**/patient")
    assert page.locator("#s-model > legend").inner_text().startswith("Fields this model reads")
    mrss = {"mrss_total": "22", **dict.fromkeys(MRSS_SITE_FIELDS, "")}
    fill_patient(page, {**patient, **mrss, "patient_id": "SIM-SPARSE",
                        **dict.fromkeys(ESCSG_BLANKS, "")})
    page.get_by_role("button", name="Predict").click()
    page.wait_for_url("**/patient")
    row = page.locator("table.indices tr", has_text="EScSG activity index")
    assert "not assessable: 9 items missing" in row.inner_text()
    assert "1 to 10" in row.inner_text()
    assert "Model uncertainty" in page.locator("#probability-interval").inner_text()
    assert labels_inside_the_chart(page)
    page.get_by_role("button", name="Copy id").click()
    page.locator("#copy-status", has_text="Copied").wait_for()  # the clipboard answers later
    assert page.locator("#copy-status").inner_text() == "Copied"
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.locator("#prediction-id").inner_text()
    page.screenshot(path=shots / "clinician-result-not-assessable.png", full_page=True)
    page.emulate_media(media="print")
    assert labels_inside_the_chart(page)  # and in print, where the page is narrower
    page.set_viewport_size({"width": 640, "height": 900})
    assert labels_inside_the_chart(page)


def test_batch_warnings_are_read_in_words_and_each_row_opens_its_prediction(
        chromium: Any, deployment: Any, shots: Path, tmp_path: Path) -> None:
    from ssc_response.training.simulation import simulate_cohort

    server, keys = deployment
    cohort = simulate_cohort(3, seed=11)[["patient_id", *baseline_fields()]]
    for name in ESCSG_BLANKS:  # one patient whose EScSG cannot be decided
        cohort[name] = cohort[name].astype(object)
        cohort.loc[cohort.index[1], name] = None
    page = uploaded(chromium, server, keys[Role.CLINICIAN], cohort, tmp_path)
    second = page.locator("#predictions tbody tr").nth(1)
    warnings = second.locator("ul.warnings-in-cell").inner_text()
    assert "EScSG activity index not assessable" in warnings
    assert not re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", warnings), warnings  # no raw codes
    page.screenshot(path=shots / "clinician-upload-warnings.png", full_page=True)
    second.locator("a.prediction-link").click()
    page.wait_for_url("**/patient/predictions/*")
    assert cohort["patient_id"].iloc[1] in page.locator("h1").inner_text()
    assert "not assessable" in page.locator("table.indices").inner_text()


def test_auditor_finds_replays_and_verifies(chromium: Any, deployment: Any, shots: Path,
                                            patient: dict[str, str]) -> None:
    server, keys = deployment
    clinician = new_page(chromium, server)  # a prediction to find, whatever ran before
    sign_in(clinician, keys[Role.CLINICIAN])
    fill_patient(clinician, patient)
    clinician.get_by_role("button", name="Predict").click()
    prediction_id = clinician.locator("#prediction-id").inner_text()

    page = new_page(chromium, server)
    sign_in(page, keys[Role.AUDITOR])
    page.wait_for_url("**/audit")
    page.get_by_label("Patient id").fill(patient["patient_id"])
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name="Verify the chain now").click()
    assert page.locator("#chain-result").inner_text().startswith("Verified: all")
    page.screenshot(path=shots / "auditor-list.png", full_page=True)
    page.locator(f'a[href="/audit/predictions/{prediction_id}"]').click()
    assert prediction_id in page.content()
    page.get_by_role("button", name="Replay").click()
    assert page.locator("#replay-result").inner_text().startswith("Match")
    assert page.locator("#waterfall svg").is_visible()
    page.screenshot(path=shots / "auditor-prediction.png", full_page=True)


def test_clinician_is_refused_an_auditor_page(chromium: Any, deployment: Any) -> None:
    server, keys = deployment
    page = new_page(chromium, server)
    sign_in(page, keys[Role.CLINICIAN])
    response = page.goto("/audit")
    assert response.status == 403
    assert "This page is for the auditor role" in page.locator("main").inner_text()


def test_wrong_key_and_researcher_model_page(chromium: Any, deployment: Any,
                                             shots: Path) -> None:
    server, keys = deployment
    page = new_page(chromium, server)
    sign_in(page, "ssc_0123456789abcdef_not-a-real-key")
    assert "not recognised" in page.get_by_role("alert").inner_text()
    page.screenshot(path=shots / "sign-in.png", full_page=False)
    sign_in(page, keys[Role.RESEARCHER])
    page.wait_for_url("**/model")
    assert "AUROC" in page.locator("#metrics").inner_text()
    assert page.locator("#model-card h2").count() > 3
    page.screenshot(path=shots / "researcher-model.png", full_page=False)


def test_api_docs_work_offline(chromium: Any, deployment: Any, shots: Path) -> None:
    server, _keys = deployment
    page = new_page(chromium, server)
    outside: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "ssc-response prediction service" in page.locator(".swagger-ui .info").inner_text()
    page.screenshot(path=shots / "api-docs.png", full_page=False)
    page.goto("/redoc")
    page.get_by_text("Predicts whether a patient").first.wait_for()
    # ReDoc's "API docs by Redocly" footer asks for its logo; a missing ornament, nothing else.
    assert [url for url in outside if not url.endswith("/redoc/logo-mini.svg")] == []
