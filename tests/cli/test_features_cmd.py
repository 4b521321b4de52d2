"""``ssc-response features``: validate, derive, write; bad input exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from ssc_response.cli import features_cmd
from ssc_response.features.derived_columns import OUTCOME_DERIVED_COLUMNS
from ssc_response.features.index_columns import BASELINE_DERIVED_COLUMNS
from ssc_response.features.io import read_table
from tests.factories import make_followup, make_patient

runner = CliRunner()


def features_app() -> typer.Typer:
    """Only this command (other command modules may not exist yet); the callback keeps it a
    sub-command, as in the real program."""
    app = typer.Typer()
    app.callback()(lambda: None)
    features_cmd.register(app)
    return app


def run(*args: str | Path) -> Result:
    return runner.invoke(features_app(), ["features", *map(str, args)])


def write_cohort(path: Path, *records: dict[str, object]) -> Path:
    pd.DataFrame(list(records)).to_csv(path, index=False)
    return path


def good_cohort(tmp_path: Path) -> Path:
    records = [{**make_patient(patient_id=f"P{i}"), **make_followup()} for i in range(3)]
    return write_cohort(tmp_path / "cohort.csv", *records)


def bad_cohort(tmp_path: Path) -> Path:
    return write_cohort(
        tmp_path / "cohort.csv",
        make_patient(patient_id="A", age_years="12"),
        make_patient(patient_id="A", sex="X"),
    )


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_writes_input_plus_derived_columns(tmp_path: Path, name: str) -> None:
    result = run("--data", good_cohort(tmp_path), "--output", tmp_path / name)
    assert result.exit_code == 0, result.output
    written = read_table(tmp_path / name)
    derived = set(BASELINE_DERIVED_COLUMNS) | set(OUTCOME_DERIVED_COLUMNS)
    assert derived <= set(written.columns)
    assert set(read_table(tmp_path / "cohort.csv").columns) <= set(written.columns)
    assert len(written) == 3 and f"to {tmp_path / name}" in result.stdout


def test_contract_error_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    result = run("--data", bad_cohort(tmp_path), "--output", output)
    assert result.exit_code == 2
    assert "row 1, field 'age_years', value '12': must be between 18 and 90 years" in result.stderr
    assert "row 2, field 'sex', value 'X': must be one of: F, M" in result.stderr
    assert "row 2, field 'patient_id', value 'A': must be unique in the file" in result.stderr
    assert "4 problem(s)" in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)
    assert not output.exists()


def test_contract_error_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    output.write_text("earlier results")
    result = run("--data", bad_cohort(tmp_path), "--output", output)
    assert result.exit_code == 2
    assert output.read_text() == "earlier results"


def test_unsupported_output_type_is_refused_before_any_work(tmp_path: Path) -> None:
    result = run("--data", good_cohort(tmp_path), "--output", tmp_path / "out.xlsx")
    assert result.exit_code == 2
    assert "unsupported file type '.xlsx'" in result.stderr
    assert not (tmp_path / "out.xlsx").exists()


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("--data", tmp_path / "absent.csv", "--output", tmp_path / "out.csv")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_the_program_registers_the_command() -> None:
    from ssc_response.cli.main import build_app

    result = runner.invoke(build_app(), ["features", "--help"])
    assert result.exit_code == 0 and "--data" in result.stdout and "--output" in result.stdout
