"""Configuration of the prediction service, read from the environment (prefix ``SSC_``).

Where things live comes from the environment; nothing is read at import time. ``get_settings``
builds the object once per process and refuses to start on bad configuration, so a typo in a
deployment fails at start-up with a message naming the variable, not at the first request.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from ssc_response.serving.database import DEFAULT_DATABASE_URL, SUPPORTED_DIALECTS
from ssc_response.serving.key_cache import DEFAULT_TTL_SECONDS

DEFAULT_MODEL_URI = "models:/ssc-skin-response@champion"
# The same embedded store the training side defaults to, so a laptop set-up needs no variables.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
MODEL_URI_PATTERN = re.compile(r"^models:/[^/@]+(@[^/@]+|/\d+)$")
MAX_BATCH_LIMIT = 10_000
MAX_LINGER_MS = 100.0  # beyond this a linger is a latency bug, not batching


class Settings(BaseSettings):
    """Service configuration; every field can be set as ``SSC_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="SSC_", extra="ignore", frozen=True, validate_by_name=True
    )

    model_uri: str = Field(
        default=DEFAULT_MODEL_URI,
        description="Registered model to serve: models:/<name>@<alias> or models:/<name>/<n>.",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the audit/keys database."
    )
    tracking_uri: str = Field(
        default=DEFAULT_TRACKING_URI,
        validation_alias=AliasChoices("SSC_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry URI (also read from MLFLOW_TRACKING_URI).",
    )
    model_poll_seconds: float = Field(
        default=0.0, ge=0, description="Re-resolve the model alias every N seconds (0 = never)."
    )
    max_batch: int = Field(
        default=1000, ge=1, le=MAX_BATCH_LIMIT, description="Most patients in one request."
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted (bytes)."
    )
    # Uploaded patient files (the /patients page). Rows are bounded by max_batch and checked
    # before the data are read; this bounds what a small compressed file may expand to.
    upload_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024 * 1024,
        description="Most bytes an uploaded Parquet or .xlsx file may hold once decompressed.",
    )
    upload_parsers: int = Field(
        default=2, ge=1, le=16,
        description="Uploaded files read at the same time, each in a worker thread off the "
        "event loop; further uploads wait their turn.",
    )
    mapping_folder: Path | None = Field(
        default=None,
        description="Folder of the centres' saved mapping files (*.yaml), offered by name on "
        "the upload page.",
    )
    key_cache_seconds: float = Field(
        default=DEFAULT_TTL_SECONDS, ge=0, le=60,
        description="How long a key that authenticated is trusted without reading the database "
        "again: a revoked key is refused within this many seconds (0 = read on every request).",
    )
    # 4 ms rather than 2: with the audit commit pipelined (serving/coalescing.py), 2 ms often closed
    # a batch just before the last clients answered by the previous one re-sent, and those waited
    # a whole extra batch (bench_serving, 8 connections: p99 ~60 ms at 2 ms, ~30-38 ms at 4 ms).
    batch_linger_ms: float = Field(
        default=4.0, ge=0, le=MAX_LINGER_MS,
        description="How long a prediction batch waits for more requests once it has one "
        "(milliseconds; 0 = take only what is already queued).",
    )

    # The web pages (serving/pages/). Without a secret each process draws its own at start-up,
    # so sessions end when the server restarts; `serve --workers N` shares one among its workers.
    session_secret: SecretStr | None = Field(
        default=None, min_length=32,
        description="Key that signs the web pages' session cookies (at least 32 characters).",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 7, description="How long a web-page sign-in lasts (hours).",
    )
    mlflow_ui_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SSC_MLFLOW_UI_URL", "MLFLOW_UI_URL"),
        pattern=r"^https?://\S+$",
        description="Address of the MLflow UI, for links from the model page (also MLFLOW_UI_URL).",
    )

    # Signed checkpoints of the audit chains (serving/audit/checkpoint.py). The key never goes
    # into the database; without one, `serve` creates a file beside a SQLite database.
    audit_signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 private key (PEM) that signs audit checkpoints.",
    )
    audit_signing_key_file: Path | None = Field(
        default=None, description="File holding that key (PEM), instead of the variable.",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None, description="Append-only file of signed checkpoints (default: beside "
        "a SQLite database, else in the working folder).",
    )
    audit_checkpoint_seconds: float = Field(
        default=300.0, ge=0, description="Sign a checkpoint every N seconds when the chains "
        "grew (0 = only at shutdown).",
    )
    audit_verify_seconds: float = Field(
        default=3600.0, ge=0, description="Verify the whole audit trail every N seconds, and "
        "at start-up (0 = only at start-up and on request).",
    )

    @field_validator("model_uri")
    @classmethod
    def _registry_uri(cls, value: str) -> str:
        if not MODEL_URI_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a registry URI; expected models:/<name>@<alias> "
                "or models:/<name>/<version>"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"{value!r} is not a SQLAlchemy database URL") from None
        if backend not in SUPPORTED_DIALECTS:
            raise ValueError(
                f"unsupported database {backend!r}; expected one of {', '.join(SUPPORTED_DIALECTS)}"
            )
        return value

    @field_validator("mapping_folder")
    @classmethod
    def _existing_folder(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{str(value)!r} is not a folder")
        return value

    @field_validator("tracking_uri")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @property
    def model_name(self) -> str:
        """The registered model name inside ``model_uri``."""
        return re.split(r"[@/]", self.model_uri.removeprefix("models:/"), maxsplit=1)[0]


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once (override with ``app.dependency_overrides``)."""
    return Settings()
