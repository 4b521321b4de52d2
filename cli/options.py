"""Command-line options shared by several commands.

Every command that reads patients takes the same ``--data`` file options (``--encoding``,
``--sheet``, ``--mapping``) and reads the file through :mod:`features.io`, so each command
accepts and refuses the same files, with the same words.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from ssc_response.features.io import ReadOptions
    from ssc_response.features.validation import ContractError

# Exit code for a bad file or bad usage (Click's own code for bad usage).
EXIT_BAD_INPUT = 2

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the service database "
        "(default: $SSC_DATABASE_URL, else sqlite:///ssc-service.db in the working directory).",
    ),
]

Encoding = Annotated[
    str | None,
    typer.Option(help="Encoding of a CSV file that is not UTF-8, e.g. cp1252 (Excel on "
                      "Windows) or latin-1."),
]
Sheet = Annotated[
    str | None,
    typer.Option(help="Sheet of an .xlsx workbook to read (default: the first)."),
]
MappingFile = Annotated[
    Path | None,
    typer.Option(help="The centre's mapping file (YAML): its column names, codes, units and "
                      "dates onto the data dictionary's.",
                 exists=True, dir_okay=False, readable=True),
]


def read_options(encoding: str | None, sheet: str | None,
                 mapping: Path | None) -> ReadOptions:
    """How to read ``--data``; a mapping file that cannot be used ends the command (exit 2)."""
    from ssc_response.features.io import ReadOptions
    from ssc_response.features.mapping import MappingError, load_mapping

    try:
        loaded = None if mapping is None else load_mapping(mapping)
    except MappingError as error:
        fail(str(error))
    return ReadOptions(encoding=encoding, sheet=sheet, mapping=loaded)


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2; no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=EXIT_BAD_INPUT)


def fail_with_problems(data: Path, error: ContractError, outcome: str) -> NoReturn:
    """Every broken rule on its own stderr line, then a summary saying what was not done."""
    for problem in error.problems:
        typer.echo(str(problem), err=True)
    fail(f"{data}: {len(error.problems)} problem(s); {outcome}")
