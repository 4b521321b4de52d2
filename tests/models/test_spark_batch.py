"""Batch scoring: the Spark engine (``mlflow.pyfunc.spark_udf``, ``local[2]``) against the chunked
pandas engine on a few hundred simulated patients, and the pandas engine's own guarantees.

Tolerance: the two engines run the same pyfunc code on the same rows, so every number must agree
within :mod:`models.tolerance` (relative 1e-9), text columns exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ssc_response.features.io import write_table
from ssc_response.features.schema import baseline_fields
from ssc_response.models import spark_batch
from ssc_response.models.chunked_scoring import score_file
from ssc_response.models.registry import load_served_model
from ssc_response.training.simulation import simulate_cohort
from tests.assertions import assert_same_table

PATIENTS = 300


def cohort_file(directory: Path, name: str, n: int = PATIENTS) -> Path:
    cohort = simulate_cohort(n, 5)
    path = directory / name
    write_table(cohort[["patient_id", *[c for c in baseline_fields() if c in cohort]]], path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", ["patients.parquet", "patients.csv"])
def test_spark_and_pandas_engines_give_the_same_predictions(
    trained_model_uri: str, spark: Any, tmp_path: Path, name: str
) -> None:
    source = cohort_file(tmp_path, name)
    served = load_served_model(trained_model_uri)
    expected_path = tmp_path / "pandas.parquet"
    score_file(served.model, source, expected_path, served.ref.version, chunk_rows=128)

    count = spark_batch.score_file(spark, str(source), str(tmp_path / "spark.parquet"),
                                   served.ref.uri, served.ref.version)

    got = pd.read_parquet(tmp_path / "spark.parquet")
    assert count == PATIENTS
    assert_same_table(pd.read_parquet(expected_path), got)


def test_the_pandas_engine_never_holds_more_than_a_chunk(
    trained_model_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssc_response.models.chunked_scoring as batch

    source = cohort_file(tmp_path, "patients.parquet", n=25)
    served = load_served_model(trained_model_uri)
    sizes: list[int] = []
    scored = batch.score_frame

    def spy(model: Any, raw: pd.DataFrame, version: str | None = None) -> pd.DataFrame:
        sizes.append(len(raw))
        return scored(model, raw, version)

    monkeypatch.setattr(batch, "score_frame", spy)
    assert score_file(served.model, source, tmp_path / "out.csv", "1", chunk_rows=10) == 25
    assert sizes == [10, 10, 5]


def test_spark_never_overwrites_what_it_did_not_write(tmp_path: Path) -> None:
    precious = tmp_path / "notes.parquet"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me", encoding="utf-8")

    with pytest.raises(spark_batch.SparkOutputExists, match="not an earlier Spark result"):
        spark_batch._check_replaceable(str(precious))
    (precious / "_SUCCESS").touch()
    spark_batch._check_replaceable(str(precious))  # an earlier result may be replaced


def test_a_broken_contract_is_found_in_sparks_error_text() -> None:
    error = RuntimeError("Py4JJavaError ... features._rules.ContractError: 1 problem with the "
                         "patient data:\n  row 3, field 'age_years', value '200': at most 100\n"
                         "\tat org.apache.spark...")

    message = spark_batch.contract_message(error)

    assert message is not None and "row 3, field 'age_years'" in message
    assert spark_batch.contract_message(RuntimeError("executor lost")) is None
