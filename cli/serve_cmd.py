"""``serve``: run the prediction service with uvicorn (``serving.app:create_app`` as a factory)."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import uvicorn

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
        Settings()  # refuse to start on bad configuration, before binding the port
    except ValidationError as error:
        typer.echo(f"error: invalid service configuration\n{error}", err=True)
        raise typer.Exit(code=2) from None
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
