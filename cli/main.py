"""The ``ssc-response`` command-line program.

Each sub-command lives in ``cli/<name>_cmd.py`` and exposes ``register(app)``; heavy libraries are
imported inside the command functions so that ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import os
import warnings

import typer

COMMAND_MODULES: tuple[str, ...] = (
    "ssc_response.cli.simulate_cmd",
    "ssc_response.cli.features_cmd",
    "ssc_response.cli.check_cmd",
    "ssc_response.cli.train_cmd",
    "ssc_response.cli.predict_cmd",
    "ssc_response.cli.serve_cmd",
    "ssc_response.cli.keys_cmd",
    "ssc_response.cli.audit_cmd",
    "ssc_response.cli.demo_cmd",
    "ssc_response.cli.stack_cmd",
    "ssc_response.cli.study_cmd",
    "ssc_response.cli.redcap_cmd",
    "ssc_response.cli.describe_cmd",
    "ssc_response.cli.validate_cmd",
    "ssc_response.cli.update_cmd",
    "ssc_response.cli.outcomes_cmd",
)


def build_app() -> typer.Typer:
    """Assemble the Typer application from the command modules."""
    application = typer.Typer(
        name="ssc-response",
        help="Predict skin response to autologous BM-MSC transplantation in diffuse SSc.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    application.callback()(configure_output)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(application)
    return application


def configure_output(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show library log messages."),
) -> None:
    """Predict skin response to autologous BM-MSC transplantation in diffuse SSc."""
    # Runs when a command is invoked (not at import): MLflow's INFO chatter and download
    # progress bars drown the few lines a researcher needs; --verbose brings them back.
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(level)
    if not verbose:
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow resets its logger
        # MLflow's hints about dataset sources and integer columns do not apply: our schema
        # and validation are the data dictionary's, not MLflow's inference.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")


def app() -> None:
    """Console-script entry point."""
    build_app()()
