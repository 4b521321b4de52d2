"""Batch scoring on Apache Spark (``ssc-response predict --engine spark``).

The registered model is scored through ``mlflow.pyfunc.spark_udf`` with ``env_manager="local"``:
each Spark Python worker loads the same pyfunc model (:class:`models.pyfunc.SkinResponsePyfunc`,
which calls :func:`models.tabular.score_frame`) and scores Arrow batches of rows, so the numbers
are those of the pandas engine and of the service. The alias is resolved once, on the driver,
and the UDF is built on that exact version: a champion moved mid-job cannot mix two models.

Locally (``local[*]``, the default) the driver binds to 127.0.0.1, the UI is off and nothing is
downloaded; on a cluster (``--spark-master spark://...``, ``yarn``, ``k8s://...``) the executors
need this package installed (``pip install ssc-response[spark]``) and paths they can read. Spark
writes a *directory* of part files (``predictions.parquet/part-*.parquet``), which pandas,
pyarrow and Spark read as one table.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from ssc_response.features import schema
from ssc_response.features.io import table_format
from ssc_response.models.tabular import PREDICTION_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[*]"
_PANDAS_WARNING = "PySpark does not yet fully support pandas"
_ROW = "_ssc_row"  # input order, kept by range partitioning
_TYPES = {"probability_response": "double", "probability_response_lower": "double",
          "probability_response_upper": "double", "predicted_delta_mrss": "double",
          "predicted_delta_mrss_lower": "double", "predicted_delta_mrss_upper": "double"}
# The pyfunc model's output as a Spark struct, in the pandas engine's column order.
RESULT_TYPE = ", ".join(f"{name} {_TYPES.get(name, 'string')}" for name in PREDICTION_COLUMNS)


class SparkOutputExists(FileExistsError):
    """The output path holds something other than an earlier Spark result (never overwritten)."""


def session_config(master: str) -> dict[str, str]:
    """Spark settings: no UI; Arrow transfer; a local master on loopback with this Python."""
    config = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
              "spark.sql.execution.arrow.pyspark.enabled": "true",
              "spark.sql.session.timeZone": "UTC"}
    if master.startswith("local"):
        config |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                   "spark.pyspark.python": sys.executable,
                   "spark.pyspark.driver.python": sys.executable}
    return config


@contextmanager
def spark_session(master: str = DEFAULT_MASTER,
                  app_name: str = "ssc-response") -> Iterator[SparkSession]:
    """The process's Spark session on ``master`` (see :func:`session_config`); stopped at the
    end if this block started it (a session already running, e.g. a notebook's, is kept)."""
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    if running is not None:
        yield running
        return
    if master.startswith("local"):  # workers are started by this process: this interpreter
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # pyspark 4.2 warns on pandas 3 (the locked pandas) in every worker; the Spark engine's
        # output is checked against the pandas engine's (tests/models/test_spark_batch.py).
        os.environ.setdefault("PYTHONWARNINGS", f"ignore:{_PANDAS_WARNING}:FutureWarning")
    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in session_config(master).items():
        builder = builder.config(key, value)
    started = builder.getOrCreate()
    started.sparkContext.setLogLevel("ERROR")
    try:
        yield started
    finally:
        started.stop()


def read_patients(spark: SparkSession, path: str) -> DataFrame:
    """A Parquet file (or folder) as typed; a CSV file with a header, every column as text."""
    if table_format(path) == "parquet":
        return spark.read.parquet(path)
    return spark.read.option("header", True).option("inferSchema", False).csv(path)


def score(spark: SparkSession, patients: DataFrame, model_uri: str,
          model_version: str | None) -> DataFrame:
    """One row of predictions per patient, in input order, with the pandas engine's columns, from
    the pyfunc model at ``model_uri`` (a pinned ``models:/<name>/<version>``).

    A small file is one input partition, which one core would score alone: it is then split
    into as many contiguous row ranges as the default parallelism (a local master's cores), so
    the part files still hold the rows in input order and nothing is sorted after scoring.
    """
    import mlflow.pyfunc
    from pyspark.sql import functions

    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=RESULT_TYPE, env_manager="local")
    inputs = [name for name in patients.columns if name in _model_inputs()]
    parallelism = spark.sparkContext.defaultParallelism
    if patients.rdd.getNumPartitions() < parallelism:
        row = functions.monotonically_increasing_id()
        patients = (patients.select(row.alias(_ROW), *inputs)
                    .repartitionByRange(parallelism, _ROW).sortWithinPartitions(_ROW))
    predicted = patients.select(udf(functions.struct(*inputs)).alias("prediction"))
    columns = [functions.lit(model_version).cast("string").alias(name) if name == "model_version"
               else functions.col(f"prediction.{name}").alias(name) for name in PREDICTION_COLUMNS]
    return predicted.select(*columns)


def write_predictions(predictions: DataFrame, path: str) -> None:
    """Write as Parquet or CSV (by the extension) into a directory of part files; replaces an
    earlier Spark result there, refuses (:class:`SparkOutputExists`) anything else."""
    _check_replaceable(path)
    writer = predictions.write.mode("overwrite")
    if table_format(path) == "parquet":
        writer.parquet(path)
    else:
        writer.option("header", True).option("emptyValue", "").csv(path)


def score_file(spark: SparkSession, source: str, destination: str, model_uri: str,
               model_version: str | None) -> int:
    """Read ``source``, score every patient, write ``destination``; the number of patients."""
    patients = read_patients(spark, source)
    write_predictions(score(spark, patients, model_uri, model_version), destination)
    return int(spark.read.parquet(destination).count() if table_format(destination) == "parquet"
               else patients.count())


def _model_inputs() -> set[str]:
    return {f.name for f in schema.fields().values() if f.role in ("id", "baseline")}


def _check_replaceable(path: str) -> None:
    """A local path may be replaced when it does not exist or is an earlier Spark output."""
    if urlparse(path).scheme not in ("", "file"):
        return  # remote storage: Spark's own overwrite semantics
    local = Path(urlparse(path).path if path.startswith("file:") else path)
    if not local.exists() or (local.is_dir() and (local / "_SUCCESS").exists()):
        return
    raise SparkOutputExists(f"{path} exists and is not an earlier Spark result; "
                            "choose another --output or remove it")


def contract_message(error: BaseException) -> str | None:
    """The data-contract problems inside a failed Spark job's error, if that was the cause."""
    text = str(error)
    marker = text.find("with the patient data:")
    if marker < 0:
        return None
    start = text.rfind("ContractError:", 0, marker)
    lines = text[start if start >= 0 else marker:].splitlines()
    return "\n".join(line for line in lines[:50] if line.strip())


def java_available() -> bool:
    """Whether a Java runtime for Spark is on this machine (JAVA_HOME or ``java`` on PATH)."""
    home = os.environ.get("JAVA_HOME")
    return bool(home and Path(home, "bin", "java").exists()) or shutil.which("java") is not None
