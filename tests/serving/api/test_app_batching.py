"""Concurrent POST /v1/predictions coalesced into shared model calls and audit transactions.

The real app and model. The model call is wrapped by a gate that holds the first batch until
the other requests are queued, so which requests share a batch is known, not left to timing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from ssc_response.serving import inference
from ssc_response.serving.app import create_app
from ssc_response.serving.audit import AuditStore
from ssc_response.serving.audit.replay import compare_outputs
from ssc_response.serving.coalescing import BatcherClosed, PredictionBatcher
from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import KeyStore, Role
from ssc_response.serving.schemas import DETAIL_AUDIT_UNAVAILABLE, DETAIL_PREDICTION_UNAVAILABLE
from ssc_response.serving.settings import Settings
from tests.factories import make_patient
from tests.serving.support import (
    Service,
    create_keys,
    make_batch,
    make_settings,
    running_service,
)

WAIT_S = 30.0
Body = list[dict[str, Any]]


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("batching"), trained_store) as started:
        yield started


class GatedModel:
    """``inference.predict_records`` that records each call's patient count; the first call
    waits for a release."""

    def __init__(self, model_call: Callable[..., Any] = inference.predict_records) -> None:
        self.model_call = model_call
        self.calls: list[int] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, served: Any, records: Any) -> Any:
        self.calls.append(len(records))
        if len(self.calls) == 1:
            self.entered.set()
            self.release.wait(WAIT_S)
        return self.model_call(served, records)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> GatedModel:
    gated = GatedModel()
    monkeypatch.setattr("ssc_response.serving.inference.predict_records", gated)
    return gated


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of entries of each audit transaction."""
    sizes: list[int] = []
    append_many = AuditStore.append_many

    def counting(store: AuditStore, entries: Sequence[Any]) -> Any:
        sizes.append(len(entries))
        return append_many(store, entries)

    monkeypatch.setattr(AuditStore, "append_many", counting)
    return sizes


def batcher_of(service: Service) -> PredictionBatcher:
    batcher: PredictionBatcher = service.client.app_state["services"].predictions.batcher
    return batcher


def post(service: Service, headers: dict[str, str], patients: Body) -> Response:
    return service.client.post("/v1/predictions", json={"patients": patients}, headers=headers)


def coalesced(service: Service, gate: GatedModel,
              requests: list[tuple[dict[str, str], Body]]) -> list[Response]:
    """Send requests[0], hold its model call, queue all the others behind it, then release."""
    batcher = batcher_of(service)
    with ThreadPoolExecutor(len(requests)) as pool:
        first = pool.submit(post, service, *requests[0])
        assert gate.entered.wait(WAIT_S)
        rest = [pool.submit(post, service, *request) for request in requests[1:]]
        deadline = time.monotonic() + WAIT_S
        while batcher.queued < len(rest) and time.monotonic() < deadline:
            time.sleep(0.005)
        gate.release.set()
        return [first.result(WAIT_S), *(future.result(WAIT_S) for future in rest)]


def clinician(service: Service) -> dict[str, str]:
    return service.headers(Role.CLINICIAN)


def extra_clinicians(service: Service, count: int) -> list[tuple[str, dict[str, str]]]:
    """(key_id, headers) of ``count`` more clinician keys."""
    engine = make_engine(service.settings.database_url)
    try:
        store = KeyStore(engine)
        keys = [store.create(Role.CLINICIAN, label=f"batching {i}") for i in range(count)]
    finally:
        engine.dispose()
    return [(key_id, {"Authorization": f"Bearer {secret}"}) for key_id, secret in keys]


def audit_entry(service: Service, prediction_id: str) -> dict[str, Any]:
    response = service.client.get(f"/v1/audit/predictions/{prediction_id}",
                                  headers=service.headers(Role.AUDITOR))
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids_of(response: Response) -> list[str]:
    return [p["prediction_id"] for p in response.json()["predictions"]]


# --- coalescing ----------------------------------------------------------------------------------


def test_concurrent_requests_share_model_calls_and_audit_transactions(
    service: Service, gate: GatedModel, commits: list[int]
) -> None:
    requests = [(clinician(service), [make_patient(patient_id=f"C-{i}")]) for i in range(8)]
    responses = coalesced(service, gate, requests)
    assert [r.status_code for r in responses] == [200] * 8
    assert gate.calls == [1, 7]  # 8 requests, 2 model calls
    assert commits == [1, 7]  # and 2 audit transactions


def test_each_response_holds_exactly_its_own_recorded_predictions(
    service: Service, gate: GatedModel
) -> None:
    callers = extra_clinicians(service, 3)
    requests = [(headers, make_batch(1 + i % 3, age_years=40.0 + i))
                for i, (_, headers) in enumerate(callers * 2)]
    before = service.audit_total()
    responses = coalesced(service, gate, requests)
    assert [r.status_code for r in responses] == [200] * len(requests)
    for (key_id, _), (_, patients), response in zip(callers * 2, requests, responses, strict=True):
        entries = [audit_entry(service, pid) for pid in ids_of(response)]
        assert {e["key_id"] for e in entries} == {key_id}
        assert [e["patient_id"] for e in entries] == [p["patient_id"] for p in patients]
        assert [e["input"]["age_years"] for e in entries] == [p["age_years"] for p in patients]
    all_ids = [pid for response in responses for pid in ids_of(response)]
    assert len(set(all_ids)) == len(all_ids) == service.audit_total() - before


def test_batched_answers_equal_answers_alone_and_replay(
    service: Service, gate: GatedModel
) -> None:
    sparse = make_patient(patient_id="SPARSE-B", crp_mg_l=None)
    del sparse["mrss_total"]
    bodies = [[make_patient(patient_id="B-1", age_years=62.0)], [sparse],
              make_batch(2, sex="M")]
    together = coalesced(service, gate, [(clinician(service), body) for body in bodies])
    for body, response in zip(bodies, together, strict=True):
        alone = post(service, clinician(service), body).json()["predictions"]
        for batched, single in zip(response.json()["predictions"], alone, strict=True):
            # Equal to the replay's tolerance (a batch may change the last bit of a float).
            assert compare_outputs(batched, batched["explanation"], single)[0] == []
            same = ("patient_id", "model", "indices", "warnings")
            assert [batched[k] for k in same] == [single[k] for k in same]
    replayed = service.client.post(f"/v1/audit/predictions/{ids_of(together[1])[0]}/replay",
                                   headers=service.headers(Role.AUDITOR))
    assert replayed.json()["match"] is True


# --- one request's bad input, or a failure of the batch ------------------------------------------


def test_a_bad_request_in_a_batch_gets_its_own_422_and_the_others_succeed(
    service: Service, gate: GatedModel
) -> None:
    bad = [make_patient(patient_id="BAD-1"), make_patient(patient_id="BAD-2", mrss_total=30)]
    expected = post(service, clinician(service), bad)
    gate.calls.clear()
    before = service.audit_total()
    requests = [(clinician(service), [make_patient(patient_id=f"OK-{i}")]) for i in range(2)]
    responses = coalesced(service, gate, [requests[0], (clinician(service), bad), requests[1]])
    assert [r.status_code for r in responses] == [200, 422, 200]
    assert responses[1].json() == expected.json()
    assert expected.json()["detail"][0]["row"] == 2  # numbered within its own request
    assert gate.calls == [1, 1]  # the bad request never reached the model
    assert service.audit_total() == before + 2


def test_a_model_failure_in_a_batch_is_503_for_all_of_it_and_records_nothing(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(served: Any, records: Any) -> Any:
        raise RuntimeError("model down")

    gate = GatedModel(crash)
    monkeypatch.setattr("ssc_response.serving.inference.predict_records", gate)
    before = service.audit_total()
    requests = [(clinician(service), [make_patient(patient_id=f"F-{i}")]) for i in range(4)]
    responses = coalesced(service, gate, requests)
    assert [r.status_code for r in responses] == [503] * 4
    assert all(r.json() == {"detail": DETAIL_PREDICTION_UNAVAILABLE} for r in responses)
    assert gate.calls == [1, 3]
    assert service.audit_total() == before


def test_an_audit_failure_in_a_batch_is_503_for_all_of_it(
    service: Service, gate: GatedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_args: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(AuditStore, "append_many", locked)
    requests = [(clinician(service), [make_patient(patient_id=f"L-{i}")]) for i in range(3)]
    responses = coalesced(service, gate, requests)
    assert [r.status_code for r in responses] == [503] * 3
    assert all(r.json() == {"detail": DETAIL_AUDIT_UNAVAILABLE} for r in responses)


def test_a_stopped_queue_is_503(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    def closed(*_args: Any) -> Any:
        raise BatcherClosed("the prediction queue is not running")

    monkeypatch.setattr(batcher_of(service), "submit", closed)
    response = service.predict(make_patient())
    assert (response.status_code, response.json()) == (
        503, {"detail": DETAIL_PREDICTION_UNAVAILABLE}
    )
    assert response.headers["Retry-After"] == "1"


# --- metrics and shutdown ------------------------------------------------------------------------


def test_metrics_show_batch_sizes_and_queue_waits(service: Service) -> None:
    assert service.predict(make_patient()).status_code == 200
    text = service.client.get("/metrics").text
    for name in ("ssc_batch_requests", "ssc_batch_patients", "ssc_batch_queue_wait_seconds",
                 "ssc_batch_duration_seconds"):
        assert f"{name}_count" in text and f"{name}_bucket" in text


def test_shutdown_finishes_the_queued_predictions_then_refuses(
    trained_store: dict[str, Any], tmp_path: Path, gate: GatedModel
) -> None:
    settings = make_settings(tmp_path, trained_store)
    key_id = create_keys(settings.database_url)[Role.CLINICIAN][0]
    with TestClient(create_app(settings)) as client:
        services = client.app_state["services"]
        batcher: PredictionBatcher = services.predictions.batcher
        key, model = services.keys.store.get(key_id), services.models.current
        queued = [batcher.submit([make_patient(patient_id=f"S-{i}")], key, model)
                  for i in range(3)]
        assert gate.entered.wait(WAIT_S)
        threading.Timer(0.2, gate.release.set).start()  # released while shutting down
    answers = [future.result(0) for future in queued]  # the shutdown waited for all of them
    engine = make_engine(settings.database_url)
    try:
        store = AuditStore(engine)
        ids = [json.loads(a.body)["predictions"][0]["prediction_id"] for a in answers]
        assert all(store.get(prediction_id) is not None for prediction_id in ids)
    finally:
        engine.dispose()
    with pytest.raises(BatcherClosed):
        batcher.submit([make_patient()], key, model)


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 101])
def test_the_linger_is_bounded(value: float) -> None:
    with pytest.raises(ValidationError, match="batch_linger_ms"):
        Settings(batch_linger_ms=value)


def test_the_linger_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_BATCH_LINGER_MS", "0")
    assert Settings().batch_linger_ms == 0


# --- pipelining: a batch's audit commit overlaps the next batch's model call -------------------


def test_the_next_batch_is_predicted_while_the_previous_one_commits_and_answers_wait(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    committing, release = threading.Event(), threading.Event()
    predicted: list[int] = []
    append_many = AuditStore.append_many

    def held(store: AuditStore, entries: Sequence[Any]) -> Any:
        if not committing.is_set():  # the first commit waits until released
            committing.set()
            assert release.wait(WAIT_S)
        return append_many(store, entries)

    real_predict = inference.predict_records

    def counted(served: Any, records: Any) -> Any:
        predicted.append(len(records))
        return real_predict(served, records)

    monkeypatch.setattr(AuditStore, "append_many", held)
    monkeypatch.setattr("ssc_response.serving.inference.predict_records", counted)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, service, clinician(service), make_batch(1))
        assert committing.wait(WAIT_S)
        second = pool.submit(post, service, clinician(service), make_batch(1))
        deadline = time.monotonic() + WAIT_S
        while len(predicted) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert predicted == [1, 1]  # the second model call ran during the first commit
        time.sleep(0.05)
        assert not first.done() and not second.done()  # neither answered before its commit
        release.set()
        responses = [first.result(WAIT_S), second.result(WAIT_S)]
    assert [r.status_code for r in responses] == [200, 200]
    first_id, second_id = ids_of(responses[0])[0], ids_of(responses[1])[0]
    assert audit_entry(service, first_id)["seq"] < audit_entry(service, second_id)["seq"]
