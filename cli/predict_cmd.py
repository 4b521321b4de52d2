"""``predict``: score a patient file with a registered model, in chunks (pandas) or on Spark."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_MODEL_URI = "models:/ssc-skin-response@champion"


class Engine(StrEnum):
    pandas = "pandas"
    spark = "spark"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def predict(
    data: Annotated[Path, typer.Option(help="Patients CSV or Parquet (baseline columns).",
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
) -> None:
    """Predict skin response for every patient in a file with a registered model.

    A patient outside the model's population (e.g. limited SSc, adipose-derived cells) or with
    too much left blank gets no number: the output's ``refused`` column names each field and
    its rule; the other patients are predicted.
    """
    from ssc_response.models.registry import ModelNotFoundError
    from ssc_response.training.tracking import configure_tracking

    configure_tracking()
    try:
        if engine is Engine.spark:
            count, uri = _predict_spark(data, output, model, spark_master)
        else:
            count, uri = _predict_pandas(data, output, model, chunk_rows)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    typer.echo(f"wrote {count} predictions from {uri} to {output}")


def _predict_pandas(data: Path, output: Path, model: str, chunk_rows: int) -> tuple[int, str]:
    from ssc_response.features.io import table_format
    from ssc_response.features.validation import ContractError
    from ssc_response.models.chunked_scoring import score_file
    from ssc_response.models.registry import load_served_model

    table_format(output)  # an unsupported output type fails before the model is loaded
    served = load_served_model(model)
    try:
        count = score_file(served.model, data, output, served.ref.version, chunk_rows)
    except ContractError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{data}: {len(error.problems)} problem(s); no predictions written")
    return count, served.ref.uri


def _predict_spark(data: Path, output: Path, model: str, master: str) -> tuple[int, str]:
    from ssc_response.models import spark_batch
    from ssc_response.models.registry import resolve

    if not spark_batch.java_available():
        _fail("the spark engine needs a Java runtime (17 or later): install one "
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
            _fail(f"{data}: the data contract is broken (rows numbered within a Spark batch; "
                  "--engine pandas lists every problem by file row); no predictions written")
    return count, ref.uri


def register(app: typer.Typer) -> None:
    app.command()(predict)
