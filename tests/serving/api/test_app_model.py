"""GET /v1/model, POST /v1/model/reload, and the model holder's atomic swap."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest

from ssc_response.models.registry import ModelNotFoundError, ModelVersionRef, ServedModel
from ssc_response.serving.keys import Role
from ssc_response.serving.model_holder import ModelHolder
from ssc_response.serving.schemas import DETAIL_MODEL_NOT_FOUND
from tests.factories import make_patient
from tests.serving.support import Service, make_batch, running_service

# --- GET /v1/model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(
    trained_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("model"), trained_store) as started:
        yield started


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.CLINICIAN])
def test_model_info_names_the_served_version(
    service: Service, trained_store: dict[str, Any], role: Role
) -> None:
    info = service.client.get("/v1/model", headers=service.headers(role)).json()
    summary = trained_store["summary"]
    assert (info["name"], info["version"]) == (
        summary.registration.name, summary.registration.version
    )
    assert info["run_id"] == summary.run_id
    assert info["family"] == summary.selected_family


def test_model_info_reports_corrected_metrics_with_intervals(
    service: Service, trained_store: dict[str, Any]
) -> None:
    info = service.client.get("/v1/model", headers=service.headers(Role.RESEARCHER)).json()
    metrics = trained_store["summary"].metrics
    assert info["auroc_corrected"] == pytest.approx({
        "estimate": metrics["auroc_corrected"],
        "lower": metrics["auroc_corrected_ci_low"],
        "upper": metrics["auroc_corrected_ci_high"],
    })
    assert info["brier_corrected"]["estimate"] == pytest.approx(metrics["brier_corrected"])
    assert info["calibration_slope_corrected"] == pytest.approx(
        metrics["calibration_slope_corrected"]
    )


def test_model_info_summarises_the_training_data(
    service: Service, trained_store: dict[str, Any]
) -> None:
    info = service.client.get("/v1/model", headers=service.headers(Role.RESEARCHER)).json()
    data = info["training_data"]
    assert data["n_patients"] == trained_store["summary"].n_patients
    # mRSS is one of the quick experiment's core fields; its contract range is 0-51.
    low, high = data["numeric_ranges"]["mrss_total"]
    assert 0 <= low <= high <= 51


# --- POST /v1/model/reload against a registry of its own ----------------------------------------


@pytest.fixture(scope="module")
def two_versions(trained_store: dict[str, Any]) -> str:
    """A fresh registered model with versions 1 and 2 (same artifact), champion -> 1.

    A name of its own, so moving its alias cannot disturb other tests using the session store.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
    client = MlflowClient()
    registration = trained_store["summary"].registration
    source = client.get_model_version(registration.name, registration.version).source
    name = f"reload-test-{uuid4().hex[:8]}"
    for _ in range(2):
        mlflow.register_model(source, name)
    client.set_registered_model_alias(name, "champion", "1")
    return name


@pytest.fixture(scope="module")
def switchable(
    trained_store: dict[str, Any], two_versions: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("reload")
    uri = f"models:/{two_versions}@champion"
    with running_service(directory, trained_store, model_uri=uri) as started:
        yield started


def move_champion(name: str, version: str) -> None:
    from mlflow.tracking import MlflowClient

    MlflowClient().set_registered_model_alias(name, "champion", version)


def reload(service: Service, body: Any = None) -> Any:
    return service.client.post(
        "/v1/model/reload", json=body, headers=service.headers(Role.RESEARCHER)
    )


def served_version(service: Service) -> str:
    info = service.client.get("/v1/model", headers=service.headers(Role.RESEARCHER)).json()
    return str(info["version"])


def test_reload_switches_to_the_moved_champion(switchable: Service, two_versions: str) -> None:
    move_champion(two_versions, "1")
    reload(switchable)
    before = switchable.predict(make_patient()).json()["predictions"][0]
    move_champion(two_versions, "2")
    result = reload(switchable).json()
    assert (result["previous"]["version"], result["current"]["version"]) == ("1", "2")
    assert result["changed"] is True
    assert served_version(switchable) == "2"
    after = switchable.predict(make_patient()).json()["predictions"][0]
    assert (before["model"]["version"], after["model"]["version"]) == ("1", "2")
    metrics = switchable.client.get("/metrics").text.splitlines()
    info = [line for line in metrics if line.startswith("ssc_model_info{")]
    assert len(info) == 1 and 'version="2"' in info[0]


def test_reload_without_a_move_changes_nothing(switchable: Service) -> None:
    reload(switchable)
    result = reload(switchable).json()
    assert result["changed"] is False


def test_reload_to_a_given_version_and_alias(switchable: Service, two_versions: str) -> None:
    move_champion(two_versions, "2")
    pinned = reload(switchable, {"version": "1"}).json()
    assert pinned["current"]["version"] == "1"
    assert pinned["followed_uri"] == f"models:/{two_versions}/1"
    by_alias = reload(switchable, {"alias": "champion"}).json()
    assert by_alias["current"]["version"] == "2"
    info = switchable.client.get("/v1/model", headers=switchable.headers(Role.RESEARCHER)).json()
    assert info["followed_uri"] == f"models:/{two_versions}@champion"


def test_following_the_alias_again_without_a_version_change(
    switchable: Service, two_versions: str
) -> None:
    move_champion(two_versions, "2")
    reload(switchable, {"version": "2"})  # pinned, same version as the champion
    result = reload(switchable).json()
    assert result["changed"] is False
    assert result["followed_uri"] == f"models:/{two_versions}@champion"


@pytest.mark.parametrize("body", [{"version": "99"}, {"alias": "no-such-alias"}])
def test_reload_to_an_unknown_target_is_404(switchable: Service, body: dict[str, str]) -> None:
    response = reload(switchable, body)
    assert response.status_code == 404
    assert response.json() == {"detail": DETAIL_MODEL_NOT_FOUND}


@pytest.mark.parametrize(
    "body", [{"version": "1", "alias": "champion"}, {"version": "one"}, {"model": "x"}, [1]]
)
def test_reload_with_a_bad_body_is_422(switchable: Service, body: Any) -> None:
    assert reload(switchable, body).status_code == 422


def test_replay_uses_the_recorded_version_after_a_switch(
    switchable: Service, two_versions: str
) -> None:
    move_champion(two_versions, "1")
    reload(switchable)
    prediction = switchable.predict(make_patient()).json()["predictions"][0]
    move_champion(two_versions, "2")
    reload(switchable)
    result = switchable.client.post(
        f"/v1/audit/predictions/{prediction['prediction_id']}/replay",
        headers=switchable.headers(Role.AUDITOR),
    ).json()
    assert result["model"]["version"] == "1"
    assert result["match"] is True


def test_switching_champion_drops_no_request(switchable: Service, two_versions: str) -> None:
    stop = threading.Event()

    def keep_predicting(worker: int) -> list[int]:
        statuses: list[int] = []
        while not stop.is_set() and len(statuses) < 200:
            batch = make_batch(2, age_years=40.0 + worker)
            statuses.append(switchable.predict(*batch).status_code)
        return statuses

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(keep_predicting, worker) for worker in range(4)]
        for version in ("2", "1", "2", "1"):
            move_champion(two_versions, version)
            assert reload(switchable).status_code == 200
        stop.set()
        statuses = [status for future in futures for status in future.result()]
    assert len(statuses) >= 8, "too few requests overlapped the reloads to mean anything"
    assert set(statuses) == {200}


# --- ModelHolder with a fake registry (no MLflow) -----------------------------------------------


class FakeRegistry:
    """An alias table and a loader that can be held back to simulate a slow load."""

    def __init__(self) -> None:
        self.champion = "1"
        self.release = threading.Event()
        self.release.set()
        self.loads: list[str] = []

    def resolve(self, uri: str) -> ModelVersionRef:
        if uri.endswith("@missing"):
            raise ModelNotFoundError(uri)
        version = self.champion if "@" in uri else uri.rsplit("/", 1)[1]
        return ModelVersionRef("m", version, f"run-{version}")

    def load(self, uri: str) -> ServedModel:
        self.release.wait(5)
        self.loads.append(uri)
        version = uri.rsplit("/", 1)[1]
        bundle: Any = SimpleNamespace(explainer="warm", warm=lambda: None)
        return ServedModel(bundle, ModelVersionRef("m", version, f"run-{version}"))


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def holder(registry: FakeRegistry) -> Iterator[ModelHolder]:
    held = ModelHolder("models:/m@champion", loader=registry.load, resolver=registry.resolve)
    held.load()
    yield held
    held.stop_polling()


def test_requests_keep_the_old_model_while_the_new_one_loads(
    holder: ModelHolder, registry: FakeRegistry
) -> None:
    in_flight = holder.current
    registry.champion, registry.release = "2", threading.Event()
    reloading = threading.Thread(target=holder.reload)
    reloading.start()
    assert holder.current is in_flight  # still served while version 2 loads
    registry.release.set()
    reloading.join(5)
    assert holder.current.ref.version == "2"
    assert in_flight.ref.version == "1"  # what an in-flight request holds never changes


def test_unchanged_alias_is_not_loaded_again(holder: ModelHolder, registry: FakeRegistry) -> None:
    assert holder.reload().changed is False
    assert registry.loads == ["models:/m/1"]


def test_failed_reload_keeps_serving_the_old_model(holder: ModelHolder) -> None:
    with pytest.raises(ModelNotFoundError):
        holder.reload("models:/m@missing")
    assert holder.current.ref.version == "1"
    assert holder.uri == "models:/m@champion"


def test_poller_follows_the_alias(holder: ModelHolder, registry: FakeRegistry) -> None:
    holder.start_polling(0.02)
    registry.champion = "3"
    for _ in range(250):
        if holder.current.ref.version == "3":
            break
        threading.Event().wait(0.02)
    assert holder.current.ref.version == "3"


def test_poller_survives_registry_errors(holder: ModelHolder, registry: FakeRegistry) -> None:
    def broken(uri: str) -> ModelVersionRef:
        raise ConnectionError("registry down")

    holder._resolver = broken  # the registry goes away after start-up
    holder.start_polling(0.01)
    threading.Event().wait(0.1)
    assert holder.current.ref.version == "1"
    assert holder._poller is not None and holder._poller.is_alive()
