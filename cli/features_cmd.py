"""``features``: validate a cohort file and write it with its derived clinical columns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from ssc_response.features.validation import ContractError

# Exit code for input that breaks the data contract (Click's own code for bad usage).
EXIT_BAD_INPUT = 2


def register(app: typer.Typer) -> None:
    """Add the ``features`` command to the program."""
    app.command("features")(features)


def features(
    data: Annotated[
        Path,
        typer.Option(
            help="Cohort CSV or Parquet file (columns of the data dictionary).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(help="Where to write the cohort plus derived columns (.csv or .parquet)."),
    ],
) -> None:
    """Validate a cohort and write it with clinical indices and follow-up outcomes added.

    Nothing is written when the input breaks the data contract: every problem is listed on
    stderr and the exit code is 2.
    """
    from ssc_response.features.derived_columns import add_derived_columns
    from ssc_response.features.io import read_cohort, table_format, write_table
    from ssc_response.features.validation import ContractError

    try:
        table_format(output)  # refuse a bad output name before the (possibly long) work
        cohort = read_cohort(data)
    except ContractError as error:
        _fail_with_problems(data, error)
    except ValueError as error:  # unreadable or unsupported file
        _fail(str(error))
    derived = add_derived_columns(cohort)
    write_table(derived, output)
    added = len(derived.columns) - len(cohort.columns)
    typer.echo(f"wrote {len(derived)} patients with {added} added columns to {output}")


def _fail_with_problems(data: Path, error: ContractError) -> NoReturn:
    """Every problem on its own stderr line, then a summary; no traceback."""
    for problem in error.problems:
        typer.echo(str(problem), err=True)
    _fail(f"{data}: {len(error.problems)} problem(s) with the data contract; nothing was written")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=EXIT_BAD_INPUT)
