"""``ssc-response audit``: check the tamper-evident audit trail of served predictions."""

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

EXIT_OK, EXIT_BROKEN, EXIT_UNUSABLE = 0, 1, 2


def register(app: typer.Typer) -> None:
    """Add the ``audit`` sub-command group to ``app`` (``replay`` is to be added beside verify)."""
    audit_app = typer.Typer(
        help="Inspect the audit trail of served predictions.", no_args_is_help=True
    )
    audit_app.command("verify")(verify)
    app.add_typer(audit_app, name="audit")


def verify(database_url: DatabaseUrl = None) -> None:
    """Recompute the hash chain; exit 0 if intact, 1 at the first broken entry, 2 if no trail."""
    from serving.audit import AuditStore
    from serving.database import make_engine, resolve_database_url, schema_exists

    url = resolve_database_url(database_url)
    # Read-only: never create a database here, or a mistyped path would "verify" an empty trail.
    engine = make_engine(url, create_tables=False)
    if not schema_exists(engine):
        typer.echo(
            f"Error: no audit trail found in {engine.url.render_as_string(hide_password=True)}.",
            err=True,
        )
        raise typer.Exit(code=EXIT_UNUSABLE)
    result = AuditStore(engine).verify()
    if result.ok:
        head = f"; head seq {result.head_seq} hash {result.head_hash}" if result.checked else ""
        typer.echo(f"OK: {result.checked} entries verified{head}.")
        return
    typer.echo(
        f"BROKEN at seq {result.first_broken_seq} "
        f"(prediction_id {result.first_broken_prediction_id or 'unknown'}): {result.reason}. "
        f"{result.checked} entries verified before it."
    )
    raise typer.Exit(code=EXIT_BROKEN)
