"""The auditor's page on the real app: the trail verified at start-up, the latest checkpoint shown,
and truncation or a re-hashed rewrite reported given a checkpoint signed before the change; the
list searched by a pasted prediction id, newest first, sortable."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ssc_response.serving.audit import AuditStore
from ssc_response.serving.audit.checkpoint import read_all
from ssc_response.serving.audit.signing import create_key_file
from ssc_response.serving.audit.watch import AuditWatch
from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import Role
from tests.serving.audit.test_checkpoints import drop_triggers_and_run, rewrite_and_rehash
from tests.serving.pages.support import csrf_of, signed_in_client
from tests.serving.support import Service, make_batch, running_service


@pytest.fixture
def service(trained_store: dict[str, Any], tmp_path: Path) -> Iterator[Service]:
    key_file = tmp_path / "signing-key.pem"
    create_key_file(key_file)
    with running_service(tmp_path, trained_store, audit_signing_key_file=key_file) as started:
        yield started


def watch_of(service: Service) -> AuditWatch:
    watch: AuditWatch = service.client.app_state["audit_watch"]
    return watch


def verified_page(auditor: TestClient) -> str:
    page = auditor.get("/audit")
    response = auditor.post("/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 200, response.text
    return response.text


def predict(service: Service, count: int, prefix: str) -> list[str]:
    """``count`` predictions through the API, patients named ``prefix-0``..; their ids."""
    patients = [dict(p, patient_id=f"{prefix}-{i}") for i, p in enumerate(make_batch(count))]
    response = service.predict(*patients)
    assert response.status_code == 200, response.text
    return [item["prediction_id"] for item in response.json()["predictions"]]


def test_the_trail_is_verified_at_start_up_and_the_checkpoint_shown(service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    deadline = time.monotonic() + 30
    while watch_of(service).last_check is None and time.monotonic() < deadline:
        time.sleep(0.05)
    page = auditor.get("/audit").text
    assert "Last verified" in page and "Verified: all 0 predictions" in page

    predict(service, 2, "CP")
    watch_of(service).checkpoint_now()
    page = verified_page(auditor)
    assert "signature valid" in page and "predictions up to entry 2" in page
    assert 'href="/audit/checkpoints.jsonl"' in page


def test_the_page_reports_removed_last_entries(service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    predict(service, 5, "TR")
    watch_of(service).checkpoint_now()

    drop_triggers_and_run(service.db_path, "DELETE FROM audit_predictions WHERE seq > 3")

    page = verified_page(auditor)
    assert 'data-kind="truncated"' in page and "entries 4 to 5 were removed" in page
    assert "first entry concerned: 4" in page
    api = service.client.get("/v1/audit/verify", headers=service.headers(Role.AUDITOR)).json()
    signed = read_all(watch_of(service).config.checkpoint_path)  # start-up's and this one
    assert api["ok"] is False and api["checked"] == 3 and api["checkpoints"] == len(signed)
    assert [(f["kind"], f["first_entry"]) for f in api["findings"]] == [("truncated", 4)]


def test_the_page_reports_a_rehashed_rewrite(service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    predict(service, 3, "RW")
    watch_of(service).checkpoint_now()
    predict(service, 3, "RW2")
    watch_of(service).checkpoint_now()

    engine = make_engine(service.settings.database_url)
    try:
        rewrite_and_rehash(AuditStore(engine), service.db_path, seq=5)
    finally:
        engine.dispose()

    page = verified_page(auditor)
    assert 'data-kind="rewritten"' in page and "first entry concerned: 4" in page


def test_an_edited_access_is_reported_on_the_page(service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    verified_page(auditor)  # records accesses

    drop_triggers_and_run(service.db_path, "UPDATE audit_access SET action = 'view' WHERE id = 1")

    assert "Recorded accesses broken at entry 1" in verified_page(auditor)


def test_the_list_finds_a_pasted_prediction_id_and_is_newest_first(service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    ids = predict(service, 3, "SR")

    listing = auditor.get("/audit").text
    assert listing.index("SR-2") < listing.index("SR-1") < listing.index("SR-0")
    for pasted in (ids[1].upper(), f" {{{ids[1]}}} ", ids[1].replace("-", "")):
        found = auditor.get("/audit", params={"prediction_id": pasted})
        assert found.status_code == 200 and "1 prediction matches" in found.text, pasted
        assert "SR-1" in found.text and "SR-0" not in found.text
    oldest_first = auditor.get("/audit", params={"sort": "seq", "order": "asc"}).text
    assert oldest_first.index("SR-0") < oldest_first.index("SR-2")
    refused = auditor.get("/audit", params={"prediction_id": "not-an-id"})
    assert refused.status_code == 422 and "32 hexadecimal digits" in refused.text


def test_dates_are_iso_text_with_the_time_zone_named(service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    page = auditor.get("/audit").text
    assert 'type="date"' not in page and "YYYY-MM-DD, UTC" in page
    refused = auditor.get("/audit", params={"from": "12/31/2025"})
    assert refused.status_code == 422 and "YYYY-MM-DD" in refused.text


def test_an_auditors_pasted_copy_finds_what_the_server_file_no_longer_shows(
        service: Service) -> None:
    auditor = signed_in_client(service, Role.AUDITOR)
    predict(service, 4, "CO")
    watch_of(service).checkpoint_now()
    copy = auditor.get("/audit/checkpoints.jsonl").text  # the auditor keeps it elsewhere

    drop_triggers_and_run(service.db_path, "DELETE FROM audit_predictions WHERE seq = 4")
    watch_of(service).config.checkpoint_path.unlink()  # the writer removes the server's file

    assert 'data-kind="truncated"' not in verified_page(auditor)
    token = csrf_of(auditor.get("/audit").text)
    page = auditor.post("/audit/verify-copy", data={"csrf_token": token, "checkpoints": copy})
    assert page.status_code == 200
    assert 'data-kind="truncated"' in page.text and "first entry concerned: 4" in page.text
    garbled = auditor.post("/audit/verify-copy", data={"csrf_token": token,
                                                        "checkpoints": "not a checkpoint"})
    assert garbled.status_code == 422 and "line 1 of the pasted copy" in garbled.text
