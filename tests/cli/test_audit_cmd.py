"""``ssc-response audit verify``: exit 0 when intact, 1 when broken, 2 when there is no trail."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ssc_response.cli import audit_cmd
from ssc_response.serving.audit import AuditStore
from ssc_response.serving.database import make_engine
from tests.serving.audit.support import fill, tamper

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    audit_cmd.register(application)
    return application


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ssc-service.db"


def test_intact_trail_exits_zero(app: typer.Typer, db_path: Path) -> None:
    fill(AuditStore(make_engine(f"sqlite:///{db_path}")), 5)

    result = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{db_path}"])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 5 entries verified")


def test_empty_trail_exits_zero(app: typer.Typer, db_path: Path) -> None:
    make_engine(f"sqlite:///{db_path}")

    result = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{db_path}"])

    assert result.exit_code == 0 and "OK: 0 entries" in result.stdout


def test_broken_trail_exits_one_and_names_the_entry(app: typer.Typer, db_path: Path) -> None:
    records = fill(AuditStore(make_engine(f"sqlite:///{db_path}")), 5)
    tamper(db_path, "UPDATE audit_predictions SET output_json = '{}' WHERE seq = 3")

    result = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{db_path}"])

    assert result.exit_code == 1
    assert "BROKEN at seq 3" in result.stdout and records[2].prediction_id in result.stdout


def test_missing_database_exits_two_without_creating_it(
    app: typer.Typer, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSC_DATABASE_URL", f"sqlite:///{db_path}")

    result = runner.invoke(app, ["audit", "verify"])

    assert result.exit_code == 2 and "no audit trail" in result.stderr
    assert not db_path.exists()
