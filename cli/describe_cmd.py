"""``describe``: the seed paper's before-and-after analysis of a cohort, as a report and a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ssc_response.cli.options import Encoding, MappingFile, Sheet, read_options

EXIT_BAD_INPUT = 2


def register(app: typer.Typer) -> None:
    """Add the ``describe`` command to the program."""
    app.command("describe")(describe)


def describe(
    data: Annotated[Path, typer.Option(
        help="Cohort CSV or Parquet (data-dictionary columns), or a REDCap export of the "
             "project made by 'ssc-response redcap-dictionary'.",
        exists=True, dir_okay=False, readable=True)],
    output: Annotated[Path, typer.Option(
        help="Folder for report.html, table1.csv, before_after.csv, responders.csv and the "
             "plots (created if needed; files of the same names are replaced).",
        file_okay=False)],
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Table 1, before-and-after changes and responder rates, beside the untreated course.

    The report is also logged to MLflow as a run of the experiment 'ssc-response-describe'
    (tracking URI from MLFLOW_TRACKING_URI, as for 'train'). Bad input exits 2 and writes
    nothing.
    """
    from ssc_response.features.file_errors import FileProblem
    from ssc_response.features.redcap import RedcapExportError
    from ssc_response.features.validation import ContractError
    from ssc_response.training.describe_run import run_describe

    try:
        summary = run_describe(data, output, read_options(encoding, sheet, mapping))
    except ContractError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{data}: {len(error.problems)} problem(s) with the data contract; nothing was "
              "written")
    except FileProblem as error:
        _fail(f"{data}: {error}; nothing was written")
    except (RedcapExportError, ValueError) as error:
        _fail(f"{data}: {error}; nothing was written")
    source = "REDCap export" if summary.from_redcap else "cohort"
    typer.echo(f"described {summary.n_patients} patients ({source}); report: {summary.report}")
    typer.echo(f"MLflow run {summary.run_id} (experiment ssc-response-describe)")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=EXIT_BAD_INPUT)
