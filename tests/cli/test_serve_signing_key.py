"""``serve`` (and ``demo``, which calls it) creates the audit signing key on a fresh set-up,
owner-readable only, says where, and never replaces one that exists or is configured."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import typer

from ssc_response.cli.serve_cmd import ensure_signing_key
from ssc_response.serving.audit.signing import load_private_key
from ssc_response.serving.settings import Settings


def test_a_fresh_set_up_gets_an_owner_only_key_beside_the_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ssc-service.db'}")

    ensure_signing_key(settings)

    created = tmp_path / "ssc-service.audit-signing-key.pem"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    load_private_key(created.read_bytes(), str(created))  # a usable Ed25519 key
    said = capsys.readouterr().out
    assert f"created the audit signing key {created}" in said
    assert str(tmp_path / "ssc-service.audit-checkpoints.jsonl") in said

    before = created.read_bytes()
    ensure_signing_key(settings)
    assert created.read_bytes() == before and "created" not in capsys.readouterr().out


def test_a_configured_key_is_used_and_a_bad_one_refuses_to_start(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("hello", encoding="utf-8")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        audit_signing_key_file=bad)

    with pytest.raises(typer.Exit) as stopped:
        ensure_signing_key(settings)

    assert stopped.value.exit_code == 2
    assert not list(tmp_path.glob("*.audit-signing-key.pem"))
