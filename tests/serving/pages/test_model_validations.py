"""The researcher's model page lists the shown version's external validations (read from MLflow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssc_response.features.io import write_table
from ssc_response.serving.keys import Role
from ssc_response.training.external_validation import ExternalValidation, run_validation
from ssc_response.training.simulation import simulate_cohort
from tests.serving.pages.support import signed_in_client
from tests.serving.support import Service, champion_uri, running_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validated(trained_store: dict[str, Any],
              tmp_path_factory: pytest.TempPathFactory) -> ExternalValidation:
    import mlflow

    mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
    data = tmp_path_factory.mktemp("centre") / "centre_c.csv"
    write_table(simulate_cohort(200, 17, "early_trial"), data)
    return run_validation(champion_uri(trained_store), data, centre="Centre C")


@pytest.fixture(scope="module")
def service(trained_store: dict[str, Any], validated: ExternalValidation,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(Path(tmp_path_factory.mktemp("pages")), trained_store) as started:
        yield started


def test_the_model_page_lists_the_validation_with_its_figures_and_plots(
        service: Service, validated: ExternalValidation) -> None:
    page = signed_in_client(service, Role.RESEARCHER).get("/model")
    assert page.status_code == 200, page.text
    html = page.text
    assert "External validations of this version" in html
    assert "Centre C" in html and "centre_c.csv" in html
    m = validated.summary.metrics
    assert f"{m['auroc']:.3f} ({m['auroc_ci_low']:.3f} to {m['auroc_ci_high']:.3f})" in html
    assert f"{m['calibration_slope']:.2f}" in html and f"{m['oe_ratio']:.2f}" in html
    # Two plots for every validation listed (other tests of the session may validate it too).
    assert html.count('<tr class="plots">') >= 1
    assert html.count('src="data:image/png;base64,') == 2 * html.count('<tr class="plots">')
    assert 'alt="calibration of the validation on Centre C"' in html
