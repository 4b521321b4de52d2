"""The /v1/audit routes: list, filter, page, get, verify, replay, and tamper detection."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ssc_response.serving.keys import Role
from ssc_response.serving.schemas import DETAIL_AUDIT_NOT_FOUND
from tests.factories import make_patient
from tests.serving.support import Service, running_service, tamper


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A service with four recorded predictions: A, B (one batch), A again, C."""
    with running_service(tmp_path_factory.mktemp("audit"), trained_store) as started:
        for batch in ([make_patient(patient_id="A"), make_patient(patient_id="B")],
                      [make_patient(patient_id="A", age_years=50.0)],
                      [make_patient(patient_id="C")]):
            assert started.predict(*batch).status_code == 200
        yield started


def audit_get(service: Service, path: str, **params: Any) -> Any:
    return service.client.get(path, params=params, headers=service.headers(Role.AUDITOR))


def listing(service: Service, **params: Any) -> dict[str, Any]:
    response = audit_get(service, "/v1/audit/predictions", **params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_list_returns_items_in_sequence_with_total(service: Service) -> None:
    page = listing(service)
    assert page["total"] == 4
    assert [item["seq"] for item in page["items"]] == [1, 2, 3, 4]
    assert [item["patient_id"] for item in page["items"]] == ["A", "B", "A", "C"]


def test_list_pages(service: Service) -> None:
    page = listing(service, limit=2, offset=1)
    assert [item["seq"] for item in page["items"]] == [2, 3]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


def test_list_filters_by_patient(service: Service) -> None:
    page = listing(service, patient_id="A")
    assert page["total"] == 2
    assert {item["patient_id"] for item in page["items"]} == {"A"}


def test_list_filters_by_model_version(service: Service) -> None:
    version = listing(service)["items"][0]["model_version"]
    assert listing(service, model_version=version)["total"] == 4
    assert listing(service, model_version="999999")["total"] == 0


def test_list_filters_by_time(service: Service) -> None:
    now = datetime.now(UTC)
    assert listing(service, since=(now - timedelta(hours=1)).isoformat())["total"] == 4
    assert listing(service, since=(now + timedelta(hours=1)).isoformat())["total"] == 0
    assert listing(service, until=(now - timedelta(hours=1)).isoformat())["total"] == 0


def test_list_accepts_offsets_and_naive_times(service: Service) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))
    assert listing(service, until=later.isoformat())["total"] == 4
    assert listing(service, since="2000-01-01T00:00:00")["total"] == 4


BAD_PARAMETERS = {
    "limit 0": {"limit": 0},
    "limit too big": {"limit": 1001},
    "negative offset": {"offset": -1},
    "huge offset": {"offset": 10**30},
    "not a time": {"since": "yesterday"},
    "time overflows UTC": {"since": "0001-01-01T00:00:00+05:00"},
    "patient_id with a space": {"patient_id": "Jane Doe"},
    "patient_id with NUL": {"patient_id": "A\x00"},
    "version not a number": {"model_version": "latest"},
}


@pytest.mark.parametrize("params", BAD_PARAMETERS.values(), ids=BAD_PARAMETERS.keys())
def test_bad_list_parameters_are_422(service: Service, params: dict[str, Any]) -> None:
    response = audit_get(service, "/v1/audit/predictions", **params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == next(iter(params))


def test_get_returns_the_recorded_entry(service: Service) -> None:
    first = listing(service, limit=1)["items"][0]
    entry = audit_get(service, f"/v1/audit/predictions/{first['prediction_id']}").json()
    assert entry == first
    assert entry["input"]["patient_id"] == "A"
    assert entry["output"]["patient_id"] == "A"
    assert entry["explanation"]["contributions"]
    assert entry["key_id"] == service.key_id(Role.CLINICIAN)


def test_get_accepts_any_uuid_spelling(service: Service) -> None:
    prediction_id = listing(service, limit=1)["items"][0]["prediction_id"]
    response = audit_get(service, f"/v1/audit/predictions/{prediction_id.upper()}")
    assert response.status_code == 200


def test_get_unknown_is_404(service: Service) -> None:
    response = audit_get(service, f"/v1/audit/predictions/{uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"detail": DETAIL_AUDIT_NOT_FOUND}


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "%ED%A0%80", "1" * 500])
def test_get_malformed_id_is_422(service: Service, bad_id: str) -> None:
    assert audit_get(service, f"/v1/audit/predictions/{bad_id}").status_code == 422


def test_verify_reports_an_intact_chain(service: Service) -> None:
    result = audit_get(service, "/v1/audit/verify").json()
    assert result["ok"] is True
    assert result["checked"] == 4
    assert result["first_broken_seq"] is None


def test_replay_reproduces_the_recorded_prediction(service: Service) -> None:
    entry = listing(service, limit=1, offset=2)["items"][0]
    response = service.client.post(
        f"/v1/audit/predictions/{entry['prediction_id']}/replay",
        headers=service.headers(Role.AUDITOR),
    )
    assert response.status_code == 200
    result = response.json()
    assert result["match"] is True
    assert result["differences"] == []
    assert 0 <= result["largest_rel_difference"] <= 1e-9
    assert result["largest_abs_difference"] >= 0
    assert result["model"]["version"] == entry["model_version"]


def test_replay_unknown_is_404(service: Service) -> None:
    response = service.client.post(
        f"/v1/audit/predictions/{uuid4()}/replay", headers=service.headers(Role.AUDITOR)
    )
    assert response.status_code == 404


def accesses(service: Service) -> list[tuple[str, str, str | None, str | None]]:
    """Every recorded auditor access: (key id, action, prediction id, detail), oldest first."""
    with closing(sqlite3.connect(service.db_path)) as raw:
        return raw.execute("SELECT key_id, action, prediction_id, detail FROM audit_access "
                           "ORDER BY id").fetchall()


def test_every_read_through_the_api_is_recorded_as_an_auditor_access(service: Service) -> None:
    before = len(accesses(service))
    auditor = service.key_id(Role.AUDITOR)
    entry = listing(service, patient_id="A", limit=1)["items"][0]
    pid = entry["prediction_id"]
    assert audit_get(service, f"/v1/audit/predictions/{pid}").status_code == 200
    assert audit_get(service, "/v1/audit/verify").status_code == 200
    assert service.client.post(f"/v1/audit/predictions/{pid}/replay",
                               headers=service.headers(Role.AUDITOR)).status_code == 200
    assert audit_get(service, f"/v1/audit/predictions/{uuid4()}").status_code == 404

    recorded = accesses(service)[before:]

    assert recorded == [
        (auditor, "export", None, json.dumps({"limit": "1", "offset": "0", "patient_id": "A"},
                                              sort_keys=True)),
        (auditor, "view", pid, None),
        (auditor, "verify", None, None),
        (auditor, "replay", pid, None),
    ]  # the unknown id read nothing, so nothing is recorded for it


# --- tampering: a service of its own, since it breaks the chain ---------------------------------


@pytest.fixture
def tampered(trained_store: dict[str, Any], tmp_path: Path) -> Iterator[tuple[Service, list[str]]]:
    """Two recorded predictions; the first one's stored output then edited in the file."""
    with running_service(tmp_path, trained_store) as started:
        answers = started.predict(make_patient(patient_id="A"), make_patient(patient_id="B"))
        ids = [p["prediction_id"] for p in answers.json()["predictions"]]
        output = json.loads(_stored_output(started.db_path, ids[0]))
        output["probability_response"]["estimate"] = 0.999
        tamper(started.db_path, "UPDATE audit_predictions SET output_json = ? WHERE seq = 1",
               json.dumps(output, sort_keys=True, separators=(",", ":")))
        yield started, ids


def _stored_output(db_path: Path, prediction_id: str) -> str:
    with closing(sqlite3.connect(db_path)) as raw:
        query = "SELECT output_json FROM audit_predictions WHERE prediction_id = ?"
        return str(raw.execute(query, (prediction_id,)).fetchone()[0])


def test_verify_names_the_tampered_entry(tampered: tuple[Service, list[str]]) -> None:
    service, ids = tampered
    result = audit_get(service, "/v1/audit/verify").json()
    assert result["ok"] is False
    assert result["first_broken_seq"] == 1
    assert result["first_broken_prediction_id"] == ids[0]
    assert "entry_hash" in result["reason"]


def test_replay_shows_the_tampered_value(tampered: tuple[Service, list[str]]) -> None:
    service, ids = tampered
    result = service.client.post(
        f"/v1/audit/predictions/{ids[0]}/replay", headers=service.headers(Role.AUDITOR)
    ).json()
    assert result["match"] is False
    paths = {d["path"]: d for d in result["differences"]}
    assert paths["probability_response.estimate"]["recorded"] == 0.999


def test_replay_of_a_vanished_model_version_is_409(tampered: tuple[Service, list[str]]) -> None:
    service, ids = tampered
    tamper(service.db_path, "UPDATE audit_predictions SET model_version = '999' WHERE seq = 2")
    response = service.client.post(
        f"/v1/audit/predictions/{ids[1]}/replay", headers=service.headers(Role.AUDITOR)
    )
    assert response.status_code == 409
    assert "no longer in the registry" in response.json()["detail"]
