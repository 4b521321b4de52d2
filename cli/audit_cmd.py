"""``ssc-response audit``: check the tamper-evident audit trail of served predictions."""

from __future__ import annotations

from typing import Annotated

import typer

from ssc_response.cli.options import DatabaseUrl

EXIT_OK, EXIT_BROKEN, EXIT_UNUSABLE = 0, 1, 2


def register(app: typer.Typer) -> None:
    """Add the ``audit`` sub-command group (``verify``, ``replay``) to ``app``."""
    audit_app = typer.Typer(
        help="Inspect the audit trail of served predictions.", no_args_is_help=True
    )
    audit_app.command("verify")(verify)
    audit_app.command("replay")(replay)
    app.add_typer(audit_app, name="audit")


def verify(database_url: DatabaseUrl = None) -> None:
    """Recompute the hash chain; exit 0 if intact, 1 at the first broken entry, 2 if no trail."""
    from ssc_response.serving.audit import AuditStore
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists

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


def replay(
    prediction_id: Annotated[str, typer.Argument(help="The prediction to recompute.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Recompute a stored prediction with its logged model version; exit 1 if it differs."""
    from ssc_response.models.registry import load_served_model
    from ssc_response.serving.audit import AuditStore
    from ssc_response.serving.audit.replay import ReplayError, replay_prediction
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists
    from ssc_response.training.tracking import configure_tracking

    engine = make_engine(resolve_database_url(database_url), create_tables=False)
    record = AuditStore(engine).get(prediction_id) if schema_exists(engine) else None
    if record is None:
        typer.echo(f"Error: no audit entry with prediction_id {prediction_id}.", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE)
    configure_tracking()
    try:
        result = replay_prediction(
            record, lambda name, version: load_served_model(f"models:/{name}/{version}")
        )
    except ReplayError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE) from None
    model = f"{result.model_name} version {result.model_version}"
    if result.match:
        typer.echo(f"MATCH: prediction {prediction_id} recomputed with {model} "
                   f"({result.distance}).")
        return
    typer.echo(f"DIFFERS: prediction {prediction_id} recomputed with {model} "
               f"({result.distance}):")
    for difference in result.differences:
        typer.echo(f"  {difference.path}: recorded {difference.recorded!r}, "
                   f"replayed {difference.replayed!r}")
    raise typer.Exit(code=EXIT_BROKEN)
