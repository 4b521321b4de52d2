"""Outcomes end to end on a real ``ssc-response serve`` (subprocess, HTTP) and the CLI.

300 simulated patients are predicted over HTTP; their follow-ups are imported from a CSV with
``ssc-response outcomes import`` while the server runs; the prospective statistics of the
served version equal ``validate`` (:func:`training.external_validation.run_validation`, which
re-scores the patients' file with the registered model) on the same patients within 1e-9; the
audit trail, outcome chain included, still verifies; bad input is refused naming the field, and
nothing is stored.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from ssc_response.cli.main import build_app
from ssc_response.features.io import read_table, write_table
from ssc_response.features.schema import baseline_fields, outcome_fields
from ssc_response.serving.keys import Role
from tests.serving.live_server import REQUEST_TIMEOUT_S, start_server
from tests.serving.support import champion_uri, create_keys

pytestmark = pytest.mark.slow
N_PATIENTS = 300
TOLERANCE = 1e-9  # the criterion: the same numbers as validate
COMPARED = ("auroc", "auroc_ci_low", "auroc_ci_high", "oe_ratio", "oe_ratio_ci_low",
            "oe_ratio_ci_high", "calibration_in_the_large", "calibration_slope",
            "calibration_slope_ci_low", "calibration_slope_ci_high", "brier", "scaled_brier",
            "ici", "e50", "e90", "emax", "n_patients", "n_events")


def _text_rows(frame: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    present = [n for n in names if n in frame.columns]
    return [{k: v for k, v in row.items() if isinstance(v, str) and v.strip()}
            for row in frame[present].to_dict("records")]


def test_outcomes_meet_their_predictions_over_http(trained_store: dict[str, Any],
                                                   tmp_path: Path) -> None:
    from ssc_response.models.registry import load_served_model
    from ssc_response.serving.audit.outcomes import OutcomeStore
    from ssc_response.serving.audit.outcomes_validation import ResponseRule, prospective
    from ssc_response.serving.database import make_engine
    from ssc_response.training.external_validation import run_validation
    from ssc_response.training.simulation import simulate_cohort

    url = f"sqlite:///{tmp_path / 'service.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": str(trained_store["tracking_uri"]),
           "SSC_DATABASE_URL": url, "SSC_MODEL_URI": champion_uri(trained_store),
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(),
                                                       os.environ.get("PYTHONPATH")]))}
    keys = create_keys(url)
    headers = {role: {"Authorization": f"Bearer {keys[role][1]}"} for role in Role}
    cohort = tmp_path / "centre_b.csv"
    write_table(simulate_cohort(N_PATIENTS, 77), cohort)
    frame = read_table(cohort)
    server = start_server(env, tmp_path, "server")
    try:
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
            records = _text_rows(frame, ["patient_id", *baseline_fields()])
            ids: list[str] = []
            for start in range(0, N_PATIENTS, 50):
                answer = client.post("/v1/predictions", headers=headers[Role.CLINICIAN],
                                     json={"patients": records[start:start + 50]})
                assert answer.status_code == 200, answer.text
                ids += [p["prediction_id"] for p in answer.json()["predictions"]]
            version = client.get("/v1/model", headers=headers[Role.RESEARCHER]).json()
            version = str(version["version"])

            def recorded() -> dict[str, Any]:
                listing = client.get("/v1/outcomes", params={"model_version": version},
                                     headers=headers[Role.AUDITOR])
                assert listing.status_code == 200, listing.text
                return dict(listing.json())

            unknown = client.post("/v1/outcomes", headers=headers[Role.CLINICIAN], json={
                "prediction_id": "00000000-0000-4000-8000-000000000000",
                "visit_date": str(datetime.now(UTC).date()), "mrss_total_followup": 20})
            assert unknown.status_code == 422
            assert unknown.json()["detail"][0]["field"] == "prediction_id"

            followups = pd.DataFrame(_text_rows(frame, outcome_fields()))
            followups.insert(0, "visit_date", str(datetime.now(UTC).date()))
            followups.insert(0, "prediction_id", ids)
            known = followups.loc[followups["mrss_total_followup"].notna()]
            missing = followups.drop(columns="mrss_total_followup")
            write_table(missing, tmp_path / "no_mrss.csv")
            refused = CliRunner().invoke(build_app(), [
                "outcomes", "import", "--data", str(tmp_path / "no_mrss.csv"),
                "--database-url", url])
            assert refused.exit_code == 2
            assert "row 1, field 'mrss_total_followup'" in refused.output
            assert recorded()["outcomes"] == []  # nothing half-stored

            write_table(known, tmp_path / "followups.csv")
            imported = CliRunner().invoke(build_app(), [
                "outcomes", "import", "--data", str(tmp_path / "followups.csv"),
                "--database-url", url, "--recorded-by", "data-manager-1"])
            assert imported.exit_code == 0, imported.output
            listing = recorded()
            assert len(listing["outcomes"]) == len(known)
            assert listing["waiting"] == N_PATIENTS - len(known)
            assert {o["recorded_by"] for o in listing["outcomes"]} == {"data-manager-1"}

            verified = client.get("/v1/audit/verify", headers=headers[Role.AUDITOR])
            assert verified.status_code == 200 and verified.json()["ok"] is True
    finally:
        server.stop()

    external = run_validation(champion_uri(trained_store), cohort, "centre_b").summary.metrics
    loaded = load_served_model(f"models:/{trained_store['summary'].registration.name}/{version}")
    engine = make_engine(url)
    try:
        outcomes, waiting = OutcomeStore(engine).for_version(version)
    finally:
        engine.dispose()
    summary = prospective(version, outcomes, waiting, ResponseRule.of(loaded.model)).summary
    assert summary is not None
    for name in COMPARED:
        assert summary.metrics[name] == pytest.approx(external[name], abs=TOLERANCE), name
