"""``ssc-response audit replay``: recompute a stored prediction offline with its model version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ssc_response.cli.main import build_app
from ssc_response.models.registry import load_served_model
from ssc_response.serving import inference
from ssc_response.serving.audit import AuditEntryIn, AuditStore
from ssc_response.serving.database import make_engine
from tests.factories import make_patient

RUNNER = CliRunner()


def _store_prediction(database: Path, model_uri: str) -> str:
    """Predict one patient with the registered model and append it as the service does."""
    served = load_served_model(model_uri)
    record = make_patient(patient_id="PT-REPLAY-1")
    output = inference.predict(served, [inference.validate_patients([record])])[0][0]
    answer = {k: output[k] for k in ("patient_id", "probability_response",
                                     "predicted_delta_mrss", "indices", "warnings")}
    entry = AuditEntryIn(
        key_id="k-test", patient_id="PT-REPLAY-1", model_name=served.ref.name,
        model_version=served.ref.version, model_run_id=served.ref.run_id,
        input=record, output=answer, explanation=output["explanation"],
    )
    stored = AuditStore(make_engine(f"sqlite:///{database}")).append(entry)
    return str(stored.prediction_id)


def _replay(database: Path, prediction_id: str):  # noqa: ANN202
    return RUNNER.invoke(build_app(), ["audit", "replay", prediction_id,
                                       "--database-url", f"sqlite:///{database}"])


def test_replay_of_an_untouched_prediction_matches(trained_model_uri: str,
                                                   tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    prediction_id = _store_prediction(database, trained_model_uri)
    result = _replay(database, prediction_id)
    assert result.exit_code == 0, result.output
    assert "MATCH" in result.output and "version 1" in result.output


def test_replay_reports_an_altered_output(trained_model_uri: str, tmp_path: Path) -> None:
    """An attacker who edits the stored probability (dropping the guard trigger) is caught."""
    database = tmp_path / "service.db"
    prediction_id = _store_prediction(database, trained_model_uri)
    with sqlite3.connect(database) as raw:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            raw.execute(f"DROP TRIGGER {name}")
        raw.execute(
            "UPDATE audit_predictions SET output_json = replace(output_json, "
            "'\"estimate\":0.', '\"estimate\":0.9') WHERE prediction_id = ?", (prediction_id,),
        )
    result = _replay(database, prediction_id)
    assert result.exit_code == 1, result.output
    assert "DIFFERS" in result.output and "probability_response.estimate" in result.output


@pytest.mark.parametrize("prediction_id", ["00000000-0000-0000-0000-000000000000"])
def test_replay_of_an_unknown_prediction_is_a_clear_error(tmp_path: Path,
                                                          prediction_id: str) -> None:
    database = tmp_path / "service.db"
    make_engine(f"sqlite:///{database}")
    result = _replay(database, prediction_id)
    assert result.exit_code == 2
    assert "no audit entry" in result.output
