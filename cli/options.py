"""Command-line options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the service database "
        "(default: $SSC_DATABASE_URL, else sqlite:///ssc-service.db in the working directory).",
    ),
]
