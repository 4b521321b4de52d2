"""``ssc-response predict``: the pandas engine (chunked) and the Spark engine give one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from ssc_response.cli import predict_cmd
from ssc_response.features.io import write_table
from ssc_response.features.schema import baseline_fields
from ssc_response.models.tabular import PREDICTION_COLUMNS
from ssc_response.training.simulation import simulate_cohort
from tests.assertions import assert_same_table

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    application.callback()(lambda: None)  # keep the commands sub-commands, as in the real app
    predict_cmd.register(application)
    return application


def patients_file(directory: Path, n: int = 4, name: str = "patients.csv",
                  **overrides: Any) -> Path:
    """Baseline columns of simulated patients (no outcomes), as a user would send them."""
    cohort = simulate_cohort(n, 77)
    baseline = cohort[["patient_id", *[c for c in baseline_fields() if c in cohort]]]
    path = directory / name
    write_table(baseline.assign(**overrides), path)
    return path


def predict(app: typer.Typer, data: Path, output: Path, model: str, *extra: str) -> Any:
    return runner.invoke(app, ["predict", "--data", str(data), "--output", str(output),
                               "--model", model, *extra])


def test_predict_writes_one_row_per_patient(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path
) -> None:
    data, output = patients_file(tmp_path), tmp_path / "predictions.csv"

    result = predict(app, data, output, trained_model_uri)

    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    assert list(table.columns) == list(PREDICTION_COLUMNS)
    assert list(table["patient_id"]) == list(pd.read_csv(data)["patient_id"])
    assert (table["model_version"] == 1).all()
    assert table["probability_response"].between(0, 1).all()
    assert (table["predicted_delta_mrss_lower"] <= table["predicted_delta_mrss"]).all()
    assert table["top_features"].str.contains(r"\(\+|\(-", regex=True).all()
    assert f"wrote 4 predictions from models:/ssc-skin-response/1 to {output}" in result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_give_the_table_of_one_pass(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path, suffix: str
) -> None:
    data = patients_file(tmp_path, n=23, name=f"patients{suffix}")
    whole, chunked = tmp_path / f"whole{suffix}", tmp_path / f"chunked{suffix}"

    assert predict(app, data, whole, trained_model_uri, "--chunk-rows", "100").exit_code == 0
    assert predict(app, data, chunked, trained_model_uri, "--chunk-rows", "5").exit_code == 0

    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    assert_same_table(read(whole), read(chunked))
    assert len(read(chunked)) == 23


def test_predict_rejects_bad_data_and_writes_nothing(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path
) -> None:
    data = patients_file(tmp_path, age_years=200.0)
    output = tmp_path / "predictions.csv"

    result = predict(app, data, output, trained_model_uri)

    assert result.exit_code == 2
    assert "age_years" in result.stderr and "200" in result.stderr
    assert "4 problem(s); no predictions written" in result.stderr
    assert not output.exists()


def test_problems_in_later_chunks_are_numbered_over_the_file(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path
) -> None:
    data = patients_file(tmp_path, n=12)
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    frame.loc[9, "age_years"] = "200"  # row 10, in the fourth chunk of 3
    frame.loc[10, "patient_id"] = frame.loc[1, "patient_id"]  # row 11 repeats row 2's id
    frame.to_csv(data, index=False)
    output = tmp_path / "predictions.parquet"

    result = predict(app, data, output, trained_model_uri, "--chunk-rows", "3")

    assert result.exit_code == 2
    assert "row 10, field 'age_years', value '200'" in result.stderr
    assert "row 11, field 'patient_id'" in result.stderr
    assert "2 problem(s); no predictions written" in result.stderr
    assert not output.exists() and list(tmp_path.glob(".predictions*")) == []


def test_a_missing_data_file_is_a_usage_error_that_names_it(
    app: typer.Typer, tmp_path: Path
) -> None:
    output = tmp_path / "predictions.csv"

    result = predict(app, tmp_path / "absent.csv", output, "models:/ssc-skin-response@champion")

    assert result.exit_code == 2
    assert "'--data'" in result.stderr and "absent.csv" in result.stderr
    assert "does not exist" in result.stderr
    assert not output.exists()


@pytest.mark.parametrize("uri", ["models:/no-such-model@champion", "not-a-registry-uri"])
def test_predict_with_unknown_model_fails_clearly(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path, uri: str
) -> None:
    output = tmp_path / "predictions.csv"

    result = predict(app, patients_file(tmp_path), output, uri)

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert repr(uri) in result.stderr
    assert not output.exists()


@pytest.mark.slow
def test_the_spark_engine_writes_the_pandas_engines_table(
    app: typer.Typer, trained_model_uri: str, spark: Any, tmp_path: Path
) -> None:
    data = patients_file(tmp_path, n=40, name="patients.parquet")
    pandas_out, spark_out = tmp_path / "pandas.parquet", tmp_path / "spark.parquet"

    assert predict(app, data, pandas_out, trained_model_uri).exit_code == 0
    result = predict(app, data, spark_out, trained_model_uri, "--engine", "spark")

    assert result.exit_code == 0, result.output
    assert f"wrote 40 predictions from models:/ssc-skin-response/1 to {spark_out}" in result.stdout
    assert_same_table(pd.read_parquet(pandas_out), pd.read_parquet(spark_out))


def test_a_cohort_with_follow_up_columns_is_predicted_from_its_baseline(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path
) -> None:
    """As the upload page does (tests/serving/api/test_uploads.py): the same file, accepted."""
    cohort = simulate_cohort(4, 77)
    data, output = tmp_path / "cohort.csv", tmp_path / "predictions.csv"
    write_table(cohort, data)
    baseline = patients_file(tmp_path, name="baseline.csv")
    result = predict(app, data, output, trained_model_uri)
    assert result.exit_code == 0, result.output
    alone = tmp_path / "alone.csv"
    assert predict(app, baseline, alone, trained_model_uri).exit_code == 0
    assert_same_table(pd.read_csv(alone), pd.read_csv(output))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "patients.csv: the file is empty"),
    (b"patient_id,age_years\n", "patients.csv: the file has a header row but no patients"),
    (b"patient_id,sex,sex\nA,F,F\n", "patients.csv: the header row names the same column"),
])
def test_a_bad_file_is_one_line_exit_2_and_no_output(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path, content: bytes, message: str
) -> None:
    data, output = tmp_path / "patients.csv", tmp_path / "predictions.csv"
    data.write_bytes(content)
    result = predict(app, data, output, trained_model_uri)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {message}")
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["patients.csv"]


def test_predict_reads_a_centre_workbook_through_its_mapping(
    app: typer.Typer, trained_model_uri: str, tmp_path: Path
) -> None:
    from tests.features.test_mapping import centre_workbook, write_mapping

    workbook, output = centre_workbook(tmp_path / "centre.xlsx"), tmp_path / "predictions.csv"
    result = predict(app, workbook, output, trained_model_uri, "--mapping",
                     str(write_mapping(tmp_path)), "--chunk-rows", "1")
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(output)["patient_id"]) == ["A", "B"]
