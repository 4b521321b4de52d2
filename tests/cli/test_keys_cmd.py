"""``ssc-response keys``: create prints the key once as the last line; list; revoke."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ssc_response.cli import keys_cmd
from ssc_response.serving.database import make_engine
from ssc_response.serving.keys import KeyStore, Role

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    keys_cmd.register(application)
    return application


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ssc-service.db'}"


def test_create_prints_a_working_key_as_the_last_line(app: typer.Typer, url: str) -> None:
    result = runner.invoke(app, ["keys", "create", "--role", "clinician", "--database-url", url])

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    key = KeyStore(make_engine(url)).authenticate(lines[-1])
    assert key is not None and key.role is Role.CLINICIAN
    assert len(lines) > 1 and lines[-1] not in "\n".join(lines[:-1])


def test_database_url_comes_from_the_environment(
    app: typer.Typer, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSC_DATABASE_URL", url)

    result = runner.invoke(app, ["keys", "create", "--role", "auditor", "--label", "Dr A"])

    assert result.exit_code == 0, result.output
    assert KeyStore(make_engine(url)).list()[0].label == "Dr A"


def test_default_database_is_a_file_in_the_working_directory(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSC_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["keys", "create", "--role", "researcher"])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "ssc-service.db").is_file()


def test_bad_role_fails_and_lists_allowed_roles(app: typer.Typer, url: str) -> None:
    result = runner.invoke(app, ["keys", "create", "--role", "admin", "--database-url", url])

    assert result.exit_code != 0
    assert all(role.value in result.output for role in Role)


def test_help_names_every_role(app: typer.Typer) -> None:
    result = runner.invoke(app, ["keys", "create", "--help"])

    assert all(role.value in result.output for role in Role)


def test_list_shows_keys_but_not_secrets(app: typer.Typer, url: str) -> None:
    key_id, plaintext = KeyStore(make_engine(url)).create(Role.AUDITOR, label="ethics board")

    result = runner.invoke(app, ["keys", "list", "--database-url", url])

    assert result.exit_code == 0
    assert key_id in result.stdout and "ethics board" in result.stdout
    assert plaintext.split("_", 2)[2] not in result.stdout


def test_revoke_disables_the_key(app: typer.Typer, url: str) -> None:
    store = KeyStore(make_engine(url))
    key_id, plaintext = store.create(Role.CLINICIAN)

    result = runner.invoke(app, ["keys", "revoke", key_id, "--database-url", url])

    assert result.exit_code == 0 and key_id in result.stdout
    assert store.authenticate(plaintext) is None


def test_revoke_unknown_key_fails(app: typer.Typer, url: str) -> None:
    result = runner.invoke(app, ["keys", "revoke", "ffffffffffffffff", "--database-url", url])

    assert result.exit_code == 1 and "no API key" in result.stderr
