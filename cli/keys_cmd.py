"""``ssc-response keys``: create, list and revoke API keys of the prediction service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ssc_response.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from ssc_response.serving.keys import KeyStore



def register(app: typer.Typer) -> None:
    """Add the ``keys`` sub-command group to ``app``."""
    keys_app = typer.Typer(help="Manage API keys of the prediction service.", no_args_is_help=True)
    keys_app.command("create")(create)
    keys_app.command("list")(list_keys)
    keys_app.command("revoke")(revoke)
    app.add_typer(keys_app, name="keys")


def create(
    role: Annotated[
        str, typer.Option(help="Role of the key holder: clinician, auditor or researcher.")
    ],
    label: Annotated[str | None, typer.Option(help="Free-text note, e.g. who holds it.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key and print it once, as the last line (it cannot be shown again)."""
    from ssc_response.serving.keys import parse_role

    try:
        parsed_role = parse_role(role)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--role'") from None
    key_id, plaintext = _store(database_url).create(parsed_role, label=label)
    typer.echo(f"Created {parsed_role.value} key {key_id}" + (f" ({label})" if label else "") + ".")
    typer.echo("Store it now: only a hash is kept, the key cannot be shown again.")
    typer.echo(plaintext)


def list_keys(database_url: DatabaseUrl = None) -> None:
    """List keys (never their secrets)."""
    keys = _store(database_url).list()
    if not keys:
        typer.echo("No API keys.")
    for key in keys:
        status = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        created = key.created_at.isoformat(timespec="seconds")
        typer.echo(f"{key.key_id}  {key.role.value:<10}  {status:<8}  {created}  {key.label or ''}")


def revoke(
    key_id: Annotated[str, typer.Argument(help="key_id as shown by 'keys create' / 'keys list'.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key; running servers refuse it within SSC_KEY_CACHE_SECONDS (default 2 s)."""
    from ssc_response.serving.keys import UnknownKeyError

    try:
        key = _store(database_url).revoke(key_id)
    except UnknownKeyError as error:
        typer.echo(f"Error: {error.args[0]}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"Revoked key {key.key_id} ({key.role.value}); running servers refuse it within "
               "SSC_KEY_CACHE_SECONDS (default 2 s).")


def _store(database_url: str | None) -> KeyStore:
    """A KeyStore on the resolved database (imports SQLAlchemy only when a command runs)."""
    from ssc_response.serving.database import make_engine, resolve_database_url
    from ssc_response.serving.keys import KeyStore

    return KeyStore(make_engine(resolve_database_url(database_url)))
