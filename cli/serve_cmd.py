"""``serve``: run the prediction service with uvicorn (``serving.app:create_app`` as a factory)."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import uvicorn

    from ssc_response.serving.settings import Settings

APP_FACTORY = "ssc_response.serving.app:create_app"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    model_uri: Annotated[
        str | None,
        typer.Option(help="Model to serve (default: $SSC_MODEL_URI, else the champion)."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Audit/keys database (default: $SSC_DATABASE_URL, else SQLite here)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve predictions over HTTP (API keys: see `keys create`)."""
    import uvicorn
    from pydantic import ValidationError

    from ssc_response.serving.settings import Settings

    # Options travel as environment variables: every worker process builds its own app from them.
    for name, value in (("SSC_MODEL_URI", model_uri), ("SSC_DATABASE_URL", database_url)):
        if value is not None:
            os.environ[name] = value
    if workers > 1:  # one web-page session secret for every worker, unless one is configured
        os.environ.setdefault("SSC_SESSION_SECRET", secrets.token_urlsafe(32))
    try:
        settings = Settings()  # refuse to start on bad configuration, before binding the port
    except ValidationError as error:
        typer.echo(f"error: invalid service configuration\n{error}", err=True)
        raise typer.Exit(code=2) from None
    ensure_signing_key(settings)
    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level,
        timeout_graceful_shutdown=30,  # let in-flight predictions finish on SIGTERM
    )
    if workers > 1:
        _run_workers(config)
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:  # e.g. the model could not be loaded: the lifespan refused to start
        raise typer.Exit(code=3)


def ensure_signing_key(settings: Settings) -> None:
    """Say which key signs the audit checkpoints; on a fresh set-up, create one beside the DB.

    A configured key (``SSC_AUDIT_SIGNING_KEY`` or ``SSC_AUDIT_SIGNING_KEY_FILE``) is used as it
    is. Otherwise the default file beside the database is created once, readable by its owner
    only; production sets its own key (docs/security.md).
    """
    from ssc_response.serving.audit.signing import (
        SigningKeyError,
        create_key_file,
        default_checkpoint_path,
        default_key_path,
        resolve_private_key,
    )

    secret = settings.audit_signing_key
    try:
        key = resolve_private_key(secret.get_secret_value() if secret else None,
                                  settings.audit_signing_key_file, settings.database_url)
    except SigningKeyError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    checkpoints = settings.audit_checkpoint_file or default_checkpoint_path(settings.database_url)
    if key is None:
        path = default_key_path(settings.database_url)
        create_key_file(path)
        typer.echo(f"created the audit signing key {path} (readable by you only; production "
                   "sets SSC_AUDIT_SIGNING_KEY_FILE instead, see docs/security.md)")
    typer.echo(f"audit checkpoints are signed into {checkpoints}; keep copies elsewhere")


def _run_workers(config: uvicorn.Config) -> None:
    """uvicorn's multi-worker supervisor, on a listening socket that keeps TCP_NODELAY.

    uvicorn binds that socket with protocol 0, so asyncio never sets TCP_NODELAY on accepted
    connections and every keep-alive response waits ~40 ms for a delayed ACK
    (https://github.com/Kludex/uvicorn/issues/3149). Binding it with IPPROTO_TCP avoids that.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((config.host, config.port))
        listener.set_inheritable(True)
        Multiprocess(config, sockets=[listener]).run()
