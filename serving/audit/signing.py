"""The Ed25519 key that signs checkpoints of the audit chains, and where things live by default.

The private key never goes into the database: it comes from ``SSC_AUDIT_SIGNING_KEY`` (PEM text),
from the file named by ``SSC_AUDIT_SIGNING_KEY_FILE``, or, on a fresh laptop set-up, from a file
beside the SQLite database that ``serve`` and ``demo`` create (owner-only, mode 0600). The
checkpoints go to an append-only file, by default beside the database as well.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import make_url

KEY_ENV = "SSC_AUDIT_SIGNING_KEY"
KEY_FILE_ENV = "SSC_AUDIT_SIGNING_KEY_FILE"
KEY_SUFFIX = ".audit-signing-key.pem"
CHECKPOINT_SUFFIX = ".audit-checkpoints.jsonl"


class SigningKeyError(ValueError):
    """A configured signing key that cannot be used (said in words, never quoting the key)."""


def default_base(database_url: str) -> Path:
    """Where the database's companions go: beside a SQLite file, else in the working folder."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.stem)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{url.host or 'local'}-{url.database or 'db'}")
    return Path.cwd() / f"ssc-audit-{slug}"


def default_key_path(database_url: str) -> Path:
    """The signing key file ``serve`` creates when none is configured."""
    return default_base(database_url).with_name(default_base(database_url).name + KEY_SUFFIX)


def default_checkpoint_path(database_url: str) -> Path:
    """The checkpoint file of a database when none is configured."""
    base = default_base(database_url)
    return base.with_name(base.name + CHECKPOINT_SUFFIX)


def load_private_key(pem: bytes, where: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8); ``where`` names its source in errors."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{where} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{where} is not an Ed25519 key")
    return key


def resolve_private_key(key_text: str | None, key_file: Path | None,
                        database_url: str) -> Ed25519PrivateKey | None:
    """The configured key (text, else file, else the default file if it exists), or ``None``."""
    if key_text:
        return load_private_key(key_text.encode(), KEY_ENV)
    path = key_file or default_key_path(database_url)
    if key_file is None and not path.is_file():
        return None
    try:
        return load_private_key(path.read_bytes(), str(path))
    except OSError as error:
        raise SigningKeyError(f"cannot read the signing key {path}: {error.strerror}") from None


def create_key_file(path: Path) -> Ed25519PrivateKey:
    """A new key written to ``path``, readable by its owner only; refuses to overwrite."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes (what a checkpoint carries)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Inverse of :func:`public_key_text`; also reads a PEM public key."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(stripped.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise SigningKeyError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(stripped, validate=True))
    except (ValueError, TypeError):
        raise SigningKeyError("the public key is neither PEM nor base64 of 32 bytes") from None


def fingerprint(key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(base64.b64decode(public_key_text(key))).hexdigest()[:16]
