"""``outcomes import``: follow-up outcomes of served predictions, appended to the audit trail."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from ssc_response.cli.options import (
    DatabaseUrl,
    Encoding,
    MappingFile,
    Sheet,
    fail,
    fail_with_problems,
    read_options,
)

outcomes_app = typer.Typer(help="Record follow-up outcomes of served predictions.",
                           no_args_is_help=True)


@outcomes_app.command("import")
def import_outcomes(
    data: Annotated[Path, typer.Option(help="CSV, Parquet or .xlsx: prediction_id (or "
                                            "patient_id), visit_date and the follow-up fields.",
                                       exists=True, dir_okay=False, readable=True)],
    database_url: DatabaseUrl = None,
    recorded_by: Annotated[str | None, typer.Option(
        help="Who records them (default: cli:<login name>).")] = None,
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Record many outcomes at once: every row is checked, then all are stored or none."""
    from ssc_response.features.file_errors import FileProblem
    from ssc_response.features.io import read_table
    from ssc_response.features.validation import ContractError
    from ssc_response.serving.audit.outcomes import OutcomeStore
    from ssc_response.serving.audit.outcomes_import import outcomes_from_frame
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists

    options = read_options(encoding, sheet, mapping)
    engine = make_engine(resolve_database_url(database_url), create_tables=False)
    try:
        if not schema_exists(engine):
            fail("no service database at this URL: nothing to record outcomes against")
        engine.dispose()
        engine = make_engine(resolve_database_url(database_url))  # adds the outcome table
        outcomes = outcomes_from_frame(read_table(data, options))
        stored = OutcomeStore(engine).record(outcomes, recorded_by or f"cli:{getpass.getuser()}")
    except ContractError as error:
        fail_with_problems(data, error, "no outcome was recorded")
    except FileProblem as error:
        fail(str(error))
    finally:
        engine.dispose()
    typer.echo(f"recorded {len(stored)} outcome(s) from {data.name} in the audit trail")


def register(app: typer.Typer) -> None:
    app.add_typer(outcomes_app, name="outcomes")
