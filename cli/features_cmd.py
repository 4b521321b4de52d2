"""``features``: validate a cohort file and write it with its derived clinical columns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssc_response.cli.options import (
    EXIT_BAD_INPUT,
    Encoding,
    MappingFile,
    Sheet,
    fail,
    fail_with_problems,
    read_options,
)

__all__ = ["EXIT_BAD_INPUT", "features", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``features`` command to the program."""
    app.command("features")(features)


def features(
    data: Annotated[
        Path,
        typer.Option(
            help="Cohort file: CSV, Excel (.xlsx) or Parquet (columns of the data dictionary, "
            "or the centre's with --mapping).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(help="Where to write the cohort plus derived columns (.csv or .parquet)."),
    ],
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Validate a cohort and write it with clinical indices and follow-up outcomes added.

    Nothing is written when the input breaks the data contract: every problem is listed on
    stderr and the exit code is 2.
    """
    from ssc_response.features.derived_columns import add_derived_columns
    from ssc_response.features.io import read_cohort, table_format, write_table
    from ssc_response.features.validation import ContractError

    options = read_options(encoding, sheet, mapping)
    try:
        table_format(output, writing=True)  # refuse a bad output name before the work
        cohort = read_cohort(data, options)
    except ContractError as error:
        fail_with_problems(data, error, "nothing was written")
    except ValueError as error:  # unreadable or unsupported file (FileProblem), in words
        fail(f"{data.name}: {error}")
    derived = add_derived_columns(cohort)
    write_table(derived, output)
    added = len(derived.columns) - len(cohort.columns)
    typer.echo(f"wrote {len(derived)} patients with {added} added columns to {output}")
