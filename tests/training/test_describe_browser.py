"""The describe report in a real browser: Debian's Chromium opens report.html from disk.

The page must show its caution, its three tables and every plot (each image loaded). A
screenshot goes to a temporary folder, or to ``docs/screenshots/describe-report.png`` when
``SSC_UPDATE_SCREENSHOTS=1``. Skipped, saying why, only when ``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

from ssc_response.training.describe_report import write_report
from ssc_response.training.describe_run import describe_cohort
from ssc_response.training.simulation import simulate_cohort
from tests.browser import BROWSER_MARKS, CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
pytestmark = BROWSER_MARKS


def screenshot_path(tmp_path: Path) -> Path:
    if os.environ.get("SSC_UPDATE_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots" / "describe-report.png"
    return tmp_path / "describe-report.png"


def test_report_opens_with_tables_and_plots(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from ssc_response.features.validation import validate_frame

    cohort = validate_frame(simulate_cohort(40, seed=3))
    paths = write_report(describe_cohort(cohort), cohort, tmp_path / "report",
                         "Before and after transplantation: simulated cohort (40 patients)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(paths[0].as_uri())
            headings = page.locator("h2").all_inner_texts()
            assert headings == ["Responder rates", "Before and after",
                                "Table 1: baseline characteristics"]
            assert "regression to the mean" in page.locator(".caution").inner_text()
            assert page.locator("table").count() == 3
            images = page.locator("img")
            assert images.count() == 9
            widths = images.evaluate_all("(all) => all.map(i => i.naturalWidth)")
            assert all(width > 0 for width in widths)  # every PNG was found and decoded
            page.screenshot(path=str(screenshot_path(tmp_path)), full_page=False)
        finally:
            browser.close()
