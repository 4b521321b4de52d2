"""The ``ssc-response`` command-line program.

Each sub-command lives in ``cli/<name>_cmd.py`` and exposes ``register(app)``; heavy libraries are
imported inside the command functions so that ``--help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: tuple[str, ...] = (
    "cli.simulate_cmd",
    "cli.features_cmd",
    "cli.train_cmd",
    "cli.keys_cmd",
    "cli.audit_cmd",
)


def build_app() -> typer.Typer:
    """Assemble the Typer application from the command modules."""
    application = typer.Typer(
        name="ssc-response",
        help="Predict skin response to autologous BM-MSC transplantation in diffuse SSc.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(application)
    return application


def app() -> None:
    """Console-script entry point."""
    build_app()()
