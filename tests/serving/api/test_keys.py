"""API keys: creation, authentication, revocation, and what is (not) stored."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import ApiKey, KeyStore, Role, UnknownKeyError, parse_role


@pytest.fixture
def keys(db_path: Path) -> Iterator[KeyStore]:
    engine = make_engine(f"sqlite:///{db_path}")
    yield KeyStore(engine)
    engine.dispose()


def test_created_key_has_the_documented_format(keys: KeyStore) -> None:
    key_id, plaintext = keys.create(Role.CLINICIAN)

    assert re.fullmatch(rf"ssc_{key_id}_[A-Za-z0-9_-]{{43}}", plaintext)
    assert re.fullmatch(r"[0-9a-f]{16}", key_id)


def test_created_key_authenticates_with_its_role_and_label(keys: KeyStore) -> None:
    key_id, plaintext = keys.create("auditor", label="Dr Example")

    key = keys.authenticate(plaintext)

    assert key is not None
    assert (key.key_id, key.role, key.label, key.revoked) == (
        key_id,
        Role.AUDITOR,
        "Dr Example",
        False,
    )
    assert key.created_at.tzinfo is not None


def test_wrong_secret_is_refused(keys: KeyStore) -> None:
    key_id, plaintext = keys.create(Role.RESEARCHER)
    _, other = keys.create(Role.RESEARCHER)
    other_secret = other.split("_", 2)[2]

    assert keys.authenticate(f"ssc_{key_id}_{other_secret}") is None


@pytest.mark.parametrize(
    "candidate",
    ["", "ssc_", "Bearer xyz", f"ssc_{'0' * 16}_{'A' * 43}", f"ssc_{'0' * 16}_{'A' * 44}"],
    ids=["empty", "prefix only", "garbage", "unknown key_id", "overlong secret"],
)
def test_malformed_or_unknown_keys_are_refused(keys: KeyStore, candidate: str) -> None:
    keys.create(Role.CLINICIAN)

    assert keys.authenticate(candidate) is None


def test_revoked_key_is_refused(keys: KeyStore) -> None:
    key_id, plaintext = keys.create(Role.CLINICIAN)

    revoked = keys.revoke(key_id)

    assert revoked.revoked and revoked.revoked_at is not None
    assert keys.authenticate(plaintext) is None


def test_revoking_twice_keeps_the_first_time(keys: KeyStore) -> None:
    key_id, _ = keys.create(Role.CLINICIAN)

    first = keys.revoke(key_id)

    assert keys.revoke(key_id).revoked_at == first.revoked_at


def test_revoking_an_unknown_key_raises(keys: KeyStore) -> None:
    with pytest.raises(UnknownKeyError, match="no API key"):
        keys.revoke("ffffffffffffffff")


def test_list_shows_all_keys_oldest_first(keys: KeyStore) -> None:
    first, _ = keys.create(Role.CLINICIAN)
    second, _ = keys.create(Role.AUDITOR)
    keys.revoke(first)

    listed = keys.list()

    assert [(k.key_id, k.revoked) for k in listed] == [(first, True), (second, False)]


def test_only_a_hash_of_the_secret_is_stored(keys: KeyStore, db_path: Path) -> None:
    _, plaintext = keys.create(Role.CLINICIAN, label="ward 3")
    secret = plaintext.split("_", 2)[2]

    with closing(sqlite3.connect(db_path)) as raw:
        stored = " ".join(
            str(value) for row in raw.execute("SELECT * FROM api_keys") for value in row
        )

    assert secret not in stored and plaintext not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_roles_are_exactly_the_three_documented() -> None:
    assert {role.value for role in Role} == {"clinician", "auditor", "researcher"}


def test_unknown_role_error_lists_the_allowed_roles(keys: KeyStore) -> None:
    with pytest.raises(ValueError, match="allowed roles: clinician, auditor, researcher"):
        keys.create("admin")

    assert parse_role("clinician") is Role.CLINICIAN


def test_serialised_key_shows_revocation_status() -> None:
    key = ApiKey.model_validate(
        {
            "key_id": "k",
            "role": "auditor",
            "label": None,
            "created_at": "2025-01-01T00:00:00Z",
            "revoked_at": None,
        }
    )

    assert key.model_dump()["revoked"] is False
