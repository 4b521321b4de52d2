"""The model page's external validations in a real browser (Chromium, a real ``serve`` server).

A validation run is logged against the session's champion, then a researcher opens the model
page: the validation's row and both plots are visible (the images decoded by the browser). The
screenshot goes to a temporary folder, or ``docs/screenshots/`` with ``SSC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssc_response.features.io import write_table
from ssc_response.serving.keys import Role
from ssc_response.training.external_validation import run_validation
from ssc_response.training.simulation import simulate_cohort
from tests.browser import BROWSER_MARKS
from tests.serving.pages.browser_support import new_page, sign_in
from tests.serving.support import champion_uri

pytestmark = BROWSER_MARKS


def test_researcher_sees_the_validations_with_their_plots(
        chromium: Any, deployment: Any, shots: Path, trained_store: dict[str, Any],
        tmp_path: Path) -> None:
    import mlflow

    mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
    data = tmp_path / "centre_d.csv"
    write_table(simulate_cohort(200, 23, "early_trial"), data)
    run_validation(champion_uri(trained_store), data, centre="Centre D")
    server, keys = deployment
    page = new_page(chromium, server)
    sign_in(page, keys[Role.RESEARCHER])
    page.goto("/model")
    table = page.locator("#validations")
    assert "Centre D" in table.inner_text()
    plots = page.get_by_alt_text("of the validation on Centre D")
    assert plots.count() == 2
    for index in range(2):
        assert plots.nth(index).evaluate("image => image.naturalWidth") > 0  # decoded
    table.scroll_into_view_if_needed()
    page.screenshot(path=shots / "researcher-model-validations.png", full_page=False)
