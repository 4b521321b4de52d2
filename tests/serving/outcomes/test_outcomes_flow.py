"""Outcomes of served predictions: recorded through the API and the CLI, refused naming the
field with nothing stored, kept on the audit trail's chain, and validated prospectively.

Real components: the session's trained MLflow store, the real app on a temporary SQLite
database. The prospective statistics are checked against ``validate`` (the external-validation
path of :mod:`training.external_validation`) run on the same patients' file: two independent
routes from the same data (stored served outputs vs. the model re-scoring the file).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ssc_response.cli.main import build_app
from ssc_response.features.io import read_table, write_table
from ssc_response.features.schema import baseline_fields, outcome_fields
from ssc_response.serving.audit.outcomes import OutcomeStore
from ssc_response.serving.audit.outcomes_validation import REPORTED_THRESHOLDS, ResponseRule
from ssc_response.serving.audit.trail import verify_trail
from ssc_response.serving.database import make_engine
from ssc_response.serving.database_tables import audit_outcomes
from ssc_response.serving.keys import Role
from tests.serving.support import Service, champion_uri, running_service

pytestmark = pytest.mark.slow
N_PATIENTS = 300
TOLERANCE = 1e-9
COMPARED = ("auroc", "auroc_ci_low", "auroc_ci_high", "oe_ratio", "calibration_in_the_large",
            "calibration_slope", "calibration_slope_ci_low", "calibration_slope_ci_high",
            "brier", "scaled_brier", "ici", "n_patients", "n_events")


def _cohort_file(directory: Path, seed: int) -> Path:
    from ssc_response.training.simulation import simulate_cohort

    path = directory / "centre.csv"
    write_table(simulate_cohort(N_PATIENTS, seed), path)
    return path


def _records(frame: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    """Rows as the file gives them (text), blank cells left out."""
    present = [n for n in names if n in frame.columns]
    return [{k: v for k, v in row.items() if isinstance(v, str) and v.strip()}
            for row in frame[present].to_dict("records")]


def _serve(service: Service, frame: pd.DataFrame) -> list[str]:
    records = _records(frame, ["patient_id", *baseline_fields()])
    ids = []
    for start in range(0, len(records), 50):
        response = service.predict(*records[start:start + 50])
        assert response.status_code == 200, response.text
        ids += [p["prediction_id"] for p in response.json()["predictions"]]
    return ids


def _outcome_count(service: Service) -> int:
    engine = make_engine(service.settings.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_outcomes)).scalar_one())
    finally:
        engine.dispose()


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args))


@pytest.fixture(scope="module")
def served(trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("outcomes")
    cohort = _cohort_file(directory, seed=2021)
    frame = read_table(cohort)
    with running_service(directory, trained_store) as service:
        ids = _serve(service, frame)
        yield service, frame, ids, cohort


def test_api_records_an_outcome_and_refuses_what_does_not_fit(served: Any) -> None:
    service, frame, ids, _ = served
    today = datetime.now(UTC).date()
    post = service.client.post
    clinician = service.headers(Role.CLINICIAN)
    before = _outcome_count(service)

    unknown = post("/v1/outcomes", headers=clinician, json={
        "prediction_id": "00000000-0000-4000-8000-000000000000", "visit_date": str(today),
        "mrss_total_followup": 10})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["field"] == "prediction_id"

    early = post("/v1/outcomes", headers=clinician, json={
        "prediction_id": ids[0], "visit_date": str(today - timedelta(days=1)),
        "mrss_total_followup": 10})
    assert early.status_code == 422 and early.json()["detail"][0]["field"] == "visit_date"

    missing = post("/v1/outcomes", headers=clinician, json={
        "prediction_id": ids[0], "visit_date": str(today), "haq_di_followup": 1.0})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "mrss_total_followup"

    out_of_range = post("/v1/outcomes", headers=clinician, json={
        "prediction_id": ids[0], "visit_date": str(today), "mrss_total_followup": 60})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["detail"][0]["field"] == "mrss_total_followup"

    forbidden = post("/v1/outcomes", headers=service.headers(Role.AUDITOR), json={
        "prediction_id": ids[0], "visit_date": str(today), "mrss_total_followup": 10})
    assert forbidden.status_code == 403
    assert _outcome_count(service) == before  # nothing stored by any refusal

    patient = frame["patient_id"].iloc[1]
    by_patient = post("/v1/outcomes", headers=clinician, json={
        "patient_id": patient, "visit_date": str(today), "mrss_total_followup": 12,
        "followup_months": 12})
    assert by_patient.status_code == 201, by_patient.text
    body = by_patient.json()
    assert body["prediction_id"] == ids[1]
    assert body["recorded_by"] == service.key_id(Role.CLINICIAN)
    assert body["values"] == {"followup_months": 12.0, "mrss_total_followup": 12}

    again = post("/v1/outcomes", headers=clinician, json={
        "prediction_id": ids[1], "visit_date": str(today), "mrss_total_followup": 14})
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "prediction_id"
    assert _outcome_count(service) == before + 1


def test_import_is_all_or_nothing_then_matches_validate(served: Any, tmp_path: Path,
                                                        trained_store: dict[str, Any]) -> None:
    from ssc_response.models.registry import load_served_model
    from ssc_response.serving.audit.outcomes_validation import prospective
    from ssc_response.training.comparison import REPORTED_THRESHOLDS as TRAINING_THRESHOLDS
    from ssc_response.training.external_validation import run_validation

    assert REPORTED_THRESHOLDS == TRAINING_THRESHOLDS
    service, frame, ids, cohort = served
    url = service.settings.database_url
    today = str(datetime.now(UTC).date())
    followups = pd.DataFrame(_records(frame, outcome_fields()))
    followups.insert(0, "visit_date", today)
    followups.insert(0, "prediction_id", ids)
    rows = followups.iloc[2:]  # the first two are the API test's
    lost = int(rows["mrss_total_followup"].isna().sum())  # lost to follow-up: still waiting
    rows = rows.loc[rows["mrss_total_followup"].notna()]
    before = _outcome_count(service)

    bad = rows.copy()
    bad.iloc[5, bad.columns.get_loc("visit_date")] = "2001-01-01"
    bad.iloc[7, bad.columns.get_loc("prediction_id")] = "11111111-1111-4111-8111-111111111111"
    bad_path = tmp_path / "bad.csv"
    write_table(bad, bad_path)
    refused = _invoke("outcomes", "import", "--data", str(bad_path), "--database-url", url)
    assert refused.exit_code == 2
    assert "row 6, field 'visit_date'" in refused.output
    assert "row 8, field 'prediction_id'" in refused.output
    assert _outcome_count(service) == before  # all or nothing

    good_path = tmp_path / "followups.csv"
    write_table(rows, good_path)
    result = _invoke("outcomes", "import", "--data", str(good_path), "--database-url", url)
    assert result.exit_code == 0, result.output
    assert _outcome_count(service) == before + len(rows)

    # validate on the same patients (baseline and follow-up from the file), as a centre would.
    same = read_table(cohort).iloc[2:]
    same_path = tmp_path / "same_patients.csv"
    write_table(same, same_path)
    external = run_validation(champion_uri(trained_store), same_path, "same").summary.metrics

    loaded = load_served_model(champion_uri(trained_store))
    engine = make_engine(url)
    try:
        outcomes, waiting = OutcomeStore(engine).for_version(loaded.ref.version)
        report = verify_trail(engine, [], None)
    finally:
        engine.dispose()
    assert len(outcomes) == _outcome_count(service) and waiting == N_PATIENTS - len(outcomes)
    assert waiting >= lost  # those lost to follow-up wait, whatever the other tests recorded
    mine = [o for o in outcomes if o.prediction_id in set(ids[2:])]
    summary = prospective(loaded.ref.version, mine, 0, ResponseRule.of(loaded.model)).summary
    assert summary is not None
    for name in COMPARED:
        assert summary.metrics[name] == pytest.approx(external[name], abs=TOLERANCE), name
    assert report.ok and report.outcomes is not None and report.outcomes.checked == len(outcomes)

    shown = _invoke("validate", "--served", "--model", champion_uri(trained_store),
                    "--database-url", url)
    assert shown.exit_code == 0, shown.output
    assert f"{len(outcomes)} served prediction(s) with an outcome" in shown.output
    assert f"{waiting} still waiting" in shown.output
    run_id = shown.output.split("logged as run ")[1].split()[0]
    import mlflow

    logged = mlflow.get_run(run_id).data
    assert logged.tags["validation.kind"] == "prospective"
    assert logged.metrics["n_with_outcome"] == len(outcomes)
    assert len(logged.tags["data.sha256"]) == 64  # the outcome chain's head: the exact data
    # The served version as its own candidate: the replay reproduces every stored probability.
    itself = f"models:/{loaded.ref.name}/{loaded.ref.version}"
    beside = _invoke("validate", "--served", "--model", champion_uri(trained_store),
                     "--candidate", itself, "--database-url", url)
    assert beside.exit_code == 0, beside.output
    assert (f"replayed on the {N_PATIENTS} stored input(s) of version {loaded.ref.version}: "
            "0 probability(ies) would move") in beside.output
    assert "ΔAUROC (candidate - served) +0.000" in beside.output

    engine = make_engine(url)
    try:  # the read of outcomes was itself recorded
        assert any(a.action == "export" for a in _accesses(engine))
    finally:
        engine.dispose()

    from tests.serving.pages.support import signed_in_client

    researcher = signed_in_client(service, Role.RESEARCHER)
    page = researcher.get("/model")
    assert page.status_code == 200
    assert f"{len(outcomes)} served prediction(s) of version" in page.text
    assert 'id="prospective"' in page.text and 'id="oe-over-time"' in page.text
    everyone = prospective(loaded.ref.version, outcomes, waiting, ResponseRule.of(loaded.model))
    assert everyone.summary is not None
    assert f"<td>{everyone.summary.metrics['auroc']:.3f}</td>" in page.text
    assert logged.metrics["auroc"] == pytest.approx(everyone.summary.metrics["auroc"],
                                                    abs=TOLERANCE)
    metrics = service.client.get("/metrics").text
    assert f'ssc_prospective_outcomes{{model_version="{loaded.ref.version}"}} {len(outcomes)}' \
        in metrics
    assert "ssc_prospective_calibration_drift" in metrics


def test_pages_follow_up_form_and_prospective_block(served: Any) -> None:
    from tests.serving.pages.support import csrf_of, signed_in_client

    service, _, ids, _ = served
    clinician = signed_in_client(service, Role.CLINICIAN)
    result = clinician.get(f"/patient/predictions/{ids[0]}")
    assert f"/patient/predictions/{ids[0]}/outcome" in result.text  # reached from the result
    form = clinician.get(f"/patient/predictions/{ids[0]}/outcome")
    assert form.status_code == 200 and "Record the follow-up" in form.text
    today = str(datetime.now(UTC).date())
    refused = clinician.post(f"/patient/predictions/{ids[0]}/outcome", data={
        "csrf_token": csrf_of(form.text), "visit_date": today, "mrss_total_followup": "99"})
    assert refused.status_code == 422
    assert 'id="e-mrss_total_followup"' in refused.text  # the message beside its field
    recorded = clinician.post(f"/patient/predictions/{ids[0]}/outcome", data={
        "csrf_token": csrf_of(form.text), "visit_date": today, "mrss_total_followup": "11"})
    assert recorded.status_code == 200, recorded.text
    assert service.key_id(Role.CLINICIAN) in recorded.text and "Outcome recorded" in recorded.text



def _accesses(engine: Any) -> list[Any]:
    from ssc_response.serving.database_tables import audit_access

    with engine.connect() as conn:
        return list(conn.execute(select(audit_access)))



def test_openapi_documents_the_outcome_fields_and_refuses_others(served: Any) -> None:
    service = served[0]
    schemas = service.client.get("/openapi.json").json()["components"]["schemas"]
    outcome = schemas["OutcomeIn"]
    assert outcome["additionalProperties"] is False
    assert set(outcome_fields()) <= set(outcome["properties"])
    assert not set(baseline_fields()) & set(outcome["properties"])
    assert "points" in outcome["properties"]["mrss_total_followup"]["description"]
    unknown = service.client.post("/v1/outcomes", headers=service.headers(Role.CLINICIAN), json={
        "prediction_id": served[2][0], "visit_date": "2026-01-01", "age_years": 40})
    assert unknown.status_code == 422 and "age_years" in unknown.text
