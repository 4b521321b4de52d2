"""``predict``: score a patient file with a registered model, in chunks (pandas) or on Spark."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ssc_response.cli.options import (
    Encoding,
    MappingFile,
    Sheet,
    fail,
    fail_with_problems,
    read_options,
)

if TYPE_CHECKING:
    from ssc_response.features.io import ReadOptions

DEFAULT_MODEL_URI = "models:/ssc-skin-response@champion"


class Engine(StrEnum):
    pandas = "pandas"
    spark = "spark"


def predict(
    data: Annotated[Path, typer.Option(help="Patients: CSV, Excel (.xlsx) or Parquet (baseline "
                                            "columns; follow-up columns are not used).",
                                       exists=True, dir_okay=False, readable=True)],
    output: Annotated[Path, typer.Option(
        help="Predictions CSV or Parquet (with --engine spark: a folder of part files).")],
    model: Annotated[str, typer.Option(help="Registry URI of the model.")] = DEFAULT_MODEL_URI,
    engine: Annotated[Engine, typer.Option(
        help="pandas: one process, the file read and written in chunks; spark: "
             "mlflow.pyfunc.spark_udf on a Spark master.")] = Engine.pandas,
    chunk_rows: Annotated[int, typer.Option(
        min=1, help="Patients per chunk (pandas engine).")] = 10_000,
    spark_master: Annotated[str, typer.Option(
        help="Spark master URL (spark engine), e.g. spark://host:7077.")] = "local[*]",
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Predict skin response for every patient in a file with a registered model.

    A patient outside the model's population (e.g. limited SSc, adipose-derived cells) or with
    too much left blank gets no number: the output's ``refused`` column names each field and
    its rule; the other patients are predicted.
    """
    from ssc_response.models.registry import ModelNotFoundError
    from ssc_response.training.tracking import configure_tracking

    reading = read_options(encoding, sheet, mapping)
    if engine is Engine.spark and (encoding or sheet or mapping):
        fail("--encoding, --sheet and --mapping need the pandas engine; the spark engine reads "
             "CSV and Parquet files in the data dictionary's own format")
    configure_tracking()
    try:
        if engine is Engine.spark:
            count, uri = _predict_spark(data, output, model, spark_master)
        else:
            count, uri = _predict_pandas(data, output, model, chunk_rows, reading)
    except (ModelNotFoundError, FileNotFoundError) as error:
        fail(str(error))
    except ValueError as error:  # an unreadable or unsupported file (FileProblem), in words
        fail(f"{data.name}: {error}")
    typer.echo(f"wrote {count} predictions from {uri} to {output}")


def _predict_pandas(data: Path, output: Path, model: str, chunk_rows: int,
                    reading: ReadOptions) -> tuple[int, str]:
    from ssc_response.features.io import table_format
    from ssc_response.features.validation import ContractError
    from ssc_response.models.chunked_scoring import score_file
    from ssc_response.models.registry import load_served_model

    table_format(data)  # an unsupported file fails before the model is loaded
    table_format(output, writing=True)
    served = load_served_model(model)
    try:
        count = score_file(served.model, data, output, served.ref.version, chunk_rows, reading)
    except ContractError as error:
        fail_with_problems(data, error, "no predictions written")
    return count, served.ref.uri


def _predict_spark(data: Path, output: Path, model: str, master: str) -> tuple[int, str]:
    from ssc_response.models import spark_batch
    from ssc_response.models.registry import resolve

    if not spark_batch.java_available():
        fail("the spark engine needs a Java runtime (17 or later): install one "
              "(e.g. openjdk-17-jre-headless) or set JAVA_HOME")
    ref = resolve(model)  # once, on the driver: every executor scores this exact version
    with spark_batch.spark_session(master, app_name="ssc-response predict") as spark:
        try:
            count = spark_batch.score_file(spark, str(data), str(output), ref.uri, ref.version)
        except Exception as error:  # Spark wraps the worker's error in its own types
            problems = spark_batch.contract_message(error)
            if problems is None:
                raise
            typer.echo(problems, err=True)
            fail(f"{data}: the data contract is broken (rows numbered within a Spark batch; "
                  "--engine pandas lists every problem by file row); no predictions written")
    return count, ref.uri


def register(app: typer.Typer) -> None:
    app.command()(predict)
