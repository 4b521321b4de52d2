"""API keys: creation, authentication and revocation.

A key reads ``ssc_<key_id>_<secret>``: ``key_id`` (16 hex characters) is a public identifier used
to find the row; ``secret`` is ``secrets.token_urlsafe(32)`` (256 random bits). Only the SHA-256
of the secret is stored, so the plaintext key is shown once, at creation, and never again.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import Engine, Row, insert, select, update

from ssc_response.serving.database import utc_now_iso
from ssc_response.serving.database_tables import api_keys

KEY_PREFIX = "ssc"
_KEY_PATTERN = re.compile(r"ssc_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
# Compared against when the key_id is unknown, so that both paths do the same work.
_DUMMY_DIGEST = "0" * 64


class Role(StrEnum):
    """What a key may do; enforced by the HTTP layer."""

    CLINICIAN = "clinician"
    AUDITOR = "auditor"
    RESEARCHER = "researcher"


class UnknownKeyError(LookupError):
    """No API key has the given key_id."""


class ApiKey(BaseModel):
    """An API key as stored (never its secret)."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    role: Role
    label: str | None
    created_at: datetime
    revoked_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_at is not None


def parse_role(value: str) -> Role:
    """``value`` as a :class:`Role`; ``ValueError`` naming the allowed roles otherwise."""
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise ValueError(f"unknown role {value!r}; allowed roles: {allowed}") from None


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a key secret.

    Plain SHA-256 (no salt, no slow KDF) is sufficient here: the secret is 256 random bits, so
    guessing and precomputed tables are infeasible. Slow hashes such as scrypt protect
    low-entropy human passwords and would add tens of milliseconds to every request.
    """
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class KeyStore:
    """API keys in the ``api_keys`` table.

    Every lookup reads the database: there is no cache that could keep a revoked key alive.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, role: Role | str, label: str | None = None) -> tuple[str, str]:
        """Create a key; return ``(key_id, plaintext_key)``. The plaintext is not stored."""
        role = parse_role(role)
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        row = {
            "key_id": key_id,
            "secret_sha256": hash_secret(secret),
            "role": role.value,
            "label": label,
            "created_at": utc_now_iso(),
        }
        with self._engine.begin() as conn:
            conn.execute(insert(api_keys), row)
        return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The active key for ``plaintext``; ``None`` if malformed, unknown, wrong or revoked."""
        match = _KEY_PATTERN.fullmatch(plaintext.strip())
        if match is None:
            return None
        row = self._row(match["key_id"])
        stored = _DUMMY_DIGEST if row is None else row.secret_sha256
        matches = hmac.compare_digest(stored, hash_secret(match["secret"]))
        if row is None or not matches:
            return None
        key = _to_api_key(row)
        return None if key.revoked else key

    def get(self, key_id: str) -> ApiKey | None:
        """The key with ``key_id`` (revoked or not), or ``None``."""
        row = self._row(key_id)
        return None if row is None else _to_api_key(row)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke ``key_id`` (idempotent: the first revocation time is kept).

        Raises :class:`UnknownKeyError` if there is no such key.
        """
        stmt = (
            update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=utc_now_iso())
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)
        key = self.get(key_id)
        if key is None:
            raise UnknownKeyError(f"no API key with key_id {key_id!r}")
        return key

    def list(self) -> builtins.list[ApiKey]:
        """All keys, oldest first."""
        stmt = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        with self._engine.connect() as conn:
            return [_to_api_key(row) for row in conn.execute(stmt)]

    def _row(self, key_id: str) -> Row[Any] | None:
        with self._engine.connect() as conn:
            return conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()


def _to_api_key(row: Row[Any]) -> ApiKey:
    """Convert a table row to an :class:`ApiKey` (drops the secret hash)."""
    return ApiKey(
        key_id=row.key_id,
        role=Role(row.role),
        label=row.label,
        created_at=datetime.fromisoformat(row.created_at),
        revoked_at=None if row.revoked_at is None else datetime.fromisoformat(row.revoked_at),
    )
