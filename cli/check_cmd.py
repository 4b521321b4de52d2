"""``check``: read a centre's file through its mapping and list every problem; writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssc_response.cli.options import (
    Encoding,
    MappingFile,
    Sheet,
    fail,
    fail_with_problems,
    read_options,
)


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to the program."""
    app.command("check")(check)


def check(
    data: Annotated[Path, typer.Option(
        help="The centre's file: CSV, Excel (.xlsx) or Parquet.",
        exists=True, dir_okay=False, readable=True)],
    mapping: MappingFile = None,
    encoding: Encoding = None,
    sheet: Sheet = None,
) -> None:
    """Check a patient file against the data contract, through the centre's mapping file.

    Prints the mapping it applied, every column it could not map, and every broken rule by
    row, field and rule. Writes nothing. Exit code 0 when the file holds, 2 when it does not.
    """
    from ssc_response.features.io import ReadOptions, read_cohort, read_table
    from ssc_response.features.mapping_report import applied_lines, unmapped_lines
    from ssc_response.features.validation import ContractError

    options = read_options(encoding, sheet, mapping)
    try:
        if options.mapping is not None:  # the file's own column names, before the mapping
            columns = list(read_table(data, ReadOptions(encoding=encoding, sheet=sheet)).columns)
            _print_mapping(mapping, applied_lines(options.mapping, columns),
                           unmapped_lines(options.mapping, columns))
        cohort = read_cohort(data, options)
    except ContractError as error:
        fail_with_problems(data, error, "nothing was written")
    except ValueError as error:  # an unreadable or unsupported file (FileProblem), in words
        fail(f"{data.name}: {error}")
    typer.echo(f"{data.name}: {len(cohort)} patients, {len(cohort.columns)} fields; every rule "
               "of the data contract holds")


def _print_mapping(path: Path | None, applied: list[str], unmapped: list[str]) -> None:
    typer.echo(f"mapping {path}:")
    for line in applied or ["(no rule of the mapping met a column of the file)"]:
        typer.echo(f"  {line}")
    if unmapped:
        typer.echo("not mapped:")
        for line in unmapped:
            typer.echo(f"  {line}")
