"""Access to the MLflow model registry: resolve ``models:/`` URIs, load bundles, move aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ssc_response.models.bundle import ResponseModel
from ssc_response.models.parity import check_probes
from ssc_response.models.serialization import load_bundle

DEFAULT_MODEL_NAME = "ssc-skin-response"
DEFAULT_ALIAS = "champion"
BUNDLE_ARTIFACT = "bundle"

_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)$")
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")


class ModelNotFoundError(LookupError):
    """No registered model version answers to the URI."""


@dataclass(frozen=True)
class ModelVersionRef:
    """A resolved registered model version."""

    name: str
    version: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass
class ServedModel:
    """A loaded model plus what clients and auditors need to know about it."""

    model: ResponseModel
    ref: ModelVersionRef
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    trained_at: datetime | None = None  # when the training run started
    experiment_id: str | None = None


@dataclass(frozen=True)
class VersionRecord:
    """One registered version as the registry remembers it: when, and the promotion decision."""

    version: str
    run_id: str
    registered_at: datetime
    promotion: str | None  # "passed", "failed", or None (registered outside ``train``)
    failures: str | None
    aliases: tuple[str, ...]


def resolve(uri: str) -> ModelVersionRef:
    """``models:/name@alias`` or ``models:/name/version`` -> the registered version."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        if match := _ALIAS_URI.match(uri):
            found = client.get_model_version_by_alias(match["name"], match["alias"])
        elif match := _VERSION_URI.match(uri):
            found = client.get_model_version(match["name"], match["version"])
        else:
            raise ModelNotFoundError(
                f"{uri!r} is not a registry URI (models:/<name>@<alias> or models:/<name>/<n>)"
            )
    except MlflowException as error:
        raise ModelNotFoundError(f"no registered model answers to {uri!r}: {error}") from None
    return ModelVersionRef(found.name, str(found.version), str(found.run_id))


def load_served_model(uri: str) -> ServedModel:
    """Resolve the URI, download that version's bundle and load it (trusted types only).

    Raises :class:`models.parity.ParityError` when the model no longer gives its parity probes
    the outputs it gave them when it was validated (e.g. after a library upgrade).
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    ref = resolve(uri)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref.uri))
    model = load_bundle(local / "artifacts" / BUNDLE_ARTIFACT)
    check_probes(model)
    run = MlflowClient().get_run(ref.run_id)
    return ServedModel(model, ref, dict(run.data.metrics), dict(run.data.tags),
                       _from_millis(run.info.start_time), run.info.experiment_id)


def _from_millis(millis: int | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def version_history(name: str) -> list[VersionRecord]:
    """Every registered version of ``name``, oldest first, with its promotion tags and aliases."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    found = client.search_model_versions(f"name = '{name}'")
    aliases: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    records = [VersionRecord(str(v.version), str(v.run_id),
                             _from_millis(v.creation_timestamp) or datetime.now(UTC),
                             v.tags.get("promotion"), v.tags.get("promotion_failures"),
                             tuple(sorted(aliases.get(str(v.version), ()))))
               for v in found]
    return sorted(records, key=lambda record: int(record.version))


def run_text(run_id: str, artifact_path: str) -> str | None:
    """A text artifact of a run (e.g. ``model_card.md``), or ``None`` when it was not logged."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact_path}"))
    except (MlflowException, OSError):
        return None
