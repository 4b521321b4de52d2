"""Shared fixtures, kept few: test data come from the plain functions in ``tests/factories.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
GUARDS = ("code", "contract", "model")  # what a test guards (pyproject's markers)


# A test that uses one of these fixtures (directly or through another) needs that engine.
ENGINE_FIXTURES = {"postgres_server": "postgres", "spark": "spark"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that says neither ``contract`` nor ``model`` guards the ``code``; a test that
    starts PostgreSQL or Spark says so (``make test-fast`` leaves those out)."""
    for item in items:
        if not any(item.get_closest_marker(guard) for guard in GUARDS):
            item.add_marker(pytest.mark.code)
        for fixture, marker in ENGINE_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture
def tmp_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway MLflow store: SQLite tracking and registry database, artifacts in tmp_path.

    Yields the tracking URI. Opt-in (not autouse): most tests never touch MLflow.
    """
    import mlflow  # heavy: imported only by the tests that ask for this fixture

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root (./mlruns) is relative to cwd
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # a URI set by an earlier test would otherwise win over the env
    yield uri
    mlflow.end_run()  # a failing test may leave a run open
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # back to "read the environment"


TRAINED_PATIENTS = 150
TRAINED_SEED = 11


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A real model trained once per session: simulated cohort -> quick experiment -> registry.

    Sets ``MLFLOW_TRACKING_URI`` for the whole session (tests that need another store use
    ``tmp_mlflow``, which overrides it). Yields the store's paths, the run summary and the
    cohort file.
    """
    import mlflow

    from ssc_response.features.io import write_table
    from ssc_response.training.run import run_experiment
    from ssc_response.training.simulation import simulate_cohort

    root = tmp_path_factory.mktemp("trained_store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cohort_path = root / "cohort.csv"
    write_table(simulate_cohort(TRAINED_PATIENTS, TRAINED_SEED), cohort_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        summary = run_experiment(EXPERIMENTS / "quick.yaml", cohort_path)
        yield {"tracking_uri": uri, "root": root, "summary": summary, "cohort": cohort_path}
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def trained_model_uri(trained_store: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> str:
    """``models:/ssc-skin-response@champion`` in the session's trained store (env set)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(trained_store["tracking_uri"]))
    mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
    return "models:/ssc-skin-response@champion"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole run: two cores, loopback only, no UI, no downloads.

    Skipped (with the reason) where no Java runtime is installed (`.ci/run` installs one).
    """
    from ssc_response.models import spark_batch

    if not spark_batch.java_available():
        pytest.skip("Spark needs a Java runtime: no JAVA_HOME and no `java` on PATH")
    with spark_batch.spark_session("local[2]", app_name="ssc-response tests") as session:
        yield session
