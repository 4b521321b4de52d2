"""``ssc-response simulate``: writes a valid cohort file and/or reports it against targets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ssc_response.cli import simulate_cmd
from ssc_response.features.io import read_cohort
from ssc_response.features.schema import field_names

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    application.callback()(lambda: None)  # keep "simulate" a sub-command, as in the real app
    simulate_cmd.register(application)
    return application


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_writes_a_valid_cohort(app: typer.Typer, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cohort{suffix}"

    result = runner.invoke(app, ["simulate", "--n", "40", "--seed", "3", "--output", str(path)])

    assert result.exit_code == 0, result.output
    assert "Wrote 40 simulated patients" in result.stdout
    cohort = read_cohort(path)
    assert len(cohort) == 40
    assert list(cohort.columns) == field_names()


def test_same_seed_writes_the_same_file(app: typer.Typer, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        runner.invoke(app, ["simulate", "--n", "30", "--seed", "9", "--output", str(path)])

    assert first.read_bytes() == second.read_bytes()


def test_report_prints_summary_beside_targets(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--n", "300", "--report", "--scenario", "early_trial"])

    assert result.exit_code == 0, result.output
    for word in ("simulated", "target", "low", "high", "source", "responder_pct", "[S17]"):
        assert word in result.stdout
    assert list(tmp_path.iterdir()) == []  # report only: nothing written


def test_report_and_output_together(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"

    result = runner.invoke(app, ["simulate", "--n", "50", "--output", str(path), "--report"])

    assert result.exit_code == 0, result.output
    assert path.exists() and "responder_pct" in result.stdout


def test_unknown_scenario_fails_with_the_choices(app: typer.Typer) -> None:
    result = runner.invoke(app, ["simulate", "--scenario", "nowhere", "--report"])

    assert result.exit_code != 0
    assert "unknown scenario 'nowhere'" in result.output
    assert "founding_centre" in result.output


def test_unsupported_output_type_fails(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--output", str(tmp_path / "cohort.xlsx")])

    assert result.exit_code != 0
    assert "unsupported file type" in result.output
    assert list(tmp_path.iterdir()) == []


def test_nothing_to_do_is_a_usage_error(app: typer.Typer) -> None:
    result = runner.invoke(app, ["simulate"])

    assert result.exit_code == 2
    assert "--output" in result.output


def test_help_names_the_scenarios(app: typer.Typer) -> None:
    result = runner.invoke(app, ["simulate", "--help"])

    assert result.exit_code == 0
    assert "founding_centre" in result.stdout and "early_trial" in result.stdout


def test_importing_the_command_loads_no_heavy_library() -> None:
    # --help must stay fast: numpy/pandas/scipy load only when the command runs.
    code = "import sys, cli.simulate_cmd; print(sorted({'pandas', 'scipy'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
